/**
 * One runtime's suite, for Node ≥ 22, Deno and Bun: bundle the runner, start the servers, run the
 * runner with the runtime's binary, then one test per scenario (expectations.ts). Skipped, with the
 * reason in its name, only when the binary truly cannot run here.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RuntimeProfile, scenarioTests } from './expectations.js';
import {
  type Binary,
  bundle,
  type RunnerOutput,
  runRunner,
  type ScenarioServers,
  startScenarioServers,
  tempDir,
} from './harness.js';

/** How long a runner may take: a few seconds of scenarios, plus the runtime's start. */
export const RUNNER_DEADLINE_MS = 30_000;

export interface RuntimeSuite {
  /** e.g. 'Deno 2.x'. */
  label: string;
  binary: Binary;
  /** The command line that runs the bundled runner `file`. */
  argv: (binary: string, file: string) => string[];
  /** What the runtime calls itself (`navigator.userAgent`). */
  userAgent: RegExp;
  profile: RuntimeProfile;
}

export function runtimeSuite(suite: RuntimeSuite): void {
  const { binary } = suite;
  const skip = 'skip' in binary ? binary.skip : null;
  describe.skipIf(skip !== null)(skip ? `${suite.label} (skipped: ${skip})` : suite.label, () => {
    let servers: ScenarioServers | undefined;
    let output: RunnerOutput | undefined;
    let tmp: ReturnType<typeof tempDir> | undefined;

    beforeAll(async () => {
      if (!('path' in binary)) return;
      tmp = tempDir('ws-lifecycle-web-');
      const file = join(tmp.dir, 'runner.mjs');
      await bundle('runtime-main.ts', file);
      servers = await startScenarioServers();
      output = await runRunner(suite.argv(binary.path, file), servers.config, RUNNER_DEADLINE_MS);
    }, RUNNER_DEADLINE_MS + 15_000);

    afterAll(async () => {
      await servers?.close();
      tmp?.remove();
    });

    it(`runs on ${suite.label}, with the runtime's own WebSocket`, () => {
      expect(output?.runtime).toMatch(suite.userAgent);
    });

    scenarioTests(
      () => output as RunnerOutput,
      () => servers as ScenarioServers,
      suite.profile,
    );
  });
}
