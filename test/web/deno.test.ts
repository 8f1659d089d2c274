/** The scenarios on Deno 2.x (npm package `deno`), with Deno's own WebSocket. */
import { binBinary } from './harness.js';
import { runtimeSuite } from './runtime-suite.js';

runtimeSuite({
  label: 'Deno 2.x',
  binary: await binBinary('deno', 2),
  argv: (deno, file) => [deno, 'run', '--allow-net=127.0.0.1', `--allow-read=${file}`, file],
  userAgent: /^Deno\/2\./,
  // Field notes: Deno delivers data that arrives after close(); its bufferedAmount drops to 0 once its
  // own writer has the bytes, whatever the peer reads (docs/web.md).
  profile: { deliversAfterClose: true, bufferedAmountTracksPeer: false },
});
