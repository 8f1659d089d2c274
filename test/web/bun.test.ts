/** The scenarios on Bun 1.x (npm package `bun`), with Bun's own WebSocket. */
import { binBinary } from './harness.js';
import { runtimeSuite } from './runtime-suite.js';

runtimeSuite({
  label: 'Bun 1.x',
  binary: await binBinary('bun', 1),
  argv: (bun, file) => [bun, file],
  userAgent: /^Bun\/1\./,
  // Field notes: Bun drops data that arrives after close() (as the standard says).
  profile: { deliversAfterClose: false, bufferedAmountTracksPeer: true },
});
