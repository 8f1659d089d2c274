/**
 * The tests Stryker runs against each mutant of machines/*.ts, src/transports/*.ts and src/core/*.ts
 * (stryker.config.mjs, docs/testing.md): every test that exercises them, and nothing else (CLI, audit
 * and docs tests would only slow each run; the web tests that bundle for other runtimes cannot see
 * Stryker's mutant switch). Otherwise the usual config.
 */

import { defineConfig } from 'vitest/config';
import type { TestSpecification } from 'vitest/node';
import { BaseSequencer } from 'vitest/node';
import base from './vitest.config.js';

/**
 * The load check first: with bail at 1, a file that fails to load ends the run before any other test, so
 * it must be one whose tests fail (test/transports/load.test.ts). Then cheapest first: a mutant that a pure
 * test kills (most of them) costs no socket test.
 */
const ORDER = [
  'test/transports/load.test.ts',
  'test/machines/transitions.test.ts',
  'test/machines/connection-machine.test.ts',
  'test/machines/',
  'test/transports/',
  'test/ws-internals',
  'test/connection/',
  'test/web/',
  'test/server/',
  'test/managed/',
  'test/model/',
];

class CheapestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (spec: TestSpecification) => {
      const index = ORDER.findIndex((prefix) => spec.moduleId.includes(`/${prefix}`));
      return index === -1 ? ORDER.length : index;
    };
    return [...files].sort((a, b) => rank(a) - rank(b) || a.moduleId.localeCompare(b.moduleId));
  }
}

export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: [
      'test/machines/**/*.test.ts',
      'test/transports/**/*.test.ts',
      'test/ws-internals.test.ts',
      'test/connection/**/*.test.ts',
      'test/model/**/*.test.ts',
      'test/managed/**/*.test.ts',
      'test/server/**/*.test.ts',
      'test/web/node.test.ts',
      'test/web/types.test.ts',
    ],
    // It reads the source text, which Stryker has instrumented; no mutant adds an import or a clock.
    exclude: [...(base.test?.exclude ?? []), 'test/machines/purity.test.ts'],
    sequence: { ...base.test?.sequence, sequencer: CheapestFirst },
  },
});
