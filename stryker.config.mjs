// Mutation testing of the lifecycle: `npm run mutation` (docs/testing.md). Not part of CI.
// @ts-check
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  // Only the tests that exercise the mutated files (vitest.stryker.config.ts); `related: false` because
  // the model tests import the machine inside a hook, where vitest's related-file search does not look.
  vitest: { configFile: 'vitest.stryker.config.ts', related: false },
  coverageAnalysis: 'perTest',
  // Every file of the pure machines, every transport, and the runtime-neutral core (docs/testing.md).
  // machines/index.ts and machines/types.ts hold re-exports and constants only; they are mutated too.
  mutate: ['machines/*.ts', 'src/transports/*.ts', 'src/core/*.ts'],
  // TypeScript 7 has no compiler API: Stryker's tsconfig rewriting would crash, and skips a missing file.
  tsconfigFile: 'stryker.tsconfig.does-not-exist.json',
  // No typescript-checker either (it needs the compiler API): type-invalid mutants run and are counted.
  checkers: [],
  disableTypeChecks: false,
  concurrency: 2,
  // The machines' definitions are static (evaluated when the module loads): each such mutant runs the
  // whole selection until a test fails. `ignoreStatic` would drop them from the count, so they run.
  warnings: { slow: false },
  timeoutMS: 5000,
  ignorePatterns: ['dist', 'coverage', 'reports', 'bench/results', '*.tgz', '*.cpuprofile', '*.heapsnapshot'],
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  clearTextReporter: { allowColor: false, logTests: false, reportTests: false, reportMutants: true },
  thresholds: { high: 90, low: 80, break: null },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
