/**
 * The types of `ws-lifecycle/web` as a browser project sees them: a fresh strict project with the DOM
 * library (which this project compiles without) type-checks a file that passes the DOM's own
 * `WebSocket` as the option; lines marked @ts-expect-error must fail, so the types are precise.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { ROOT, tempDir } from './harness.js';

const tmp = tempDir('ws-lifecycle-web-types-');
afterAll(() => tmp.remove());

it('takes the DOM WebSocket constructor, and refuses what the standard API cannot honour', () => {
  const web = join(ROOT, 'src/web.js');
  writeFileSync(
    join(tmp.dir, 'check.ts'),
    `import { createConnection, type Connection, type WebSocketConstructor } from ${JSON.stringify(web)};
const ctor: WebSocketConstructor = WebSocket;
const a: Connection = createConnection('wss://example.com', { WebSocket });
createConnection(new URL('wss://example.com'), { WebSocket: ctor, keepalive: false, protocols: ['v1'] });
createConnection('wss://example.com', {
  keepalive: { interval: 1000, message: () => 'ping', isPong: (data) => data === 'pong' },
});
// @ts-expect-error ws options are for the Node ws client
createConnection('wss://example.com', { ws: {} });
// @ts-expect-error no headers on the standard WebSocket
createConnection('wss://example.com', { headers: { a: 'b' } });
// @ts-expect-error a WebSocket constructor, not a socket
createConnection('wss://example.com', { WebSocket: new WebSocket('wss://example.com') });
void a.close(1000, 'bye');
`,
  );
  writeFileSync(
    join(tmp.dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        noEmit: true,
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        target: 'ES2022',
        lib: ['ES2024', 'DOM'],
        types: [],
        skipLibCheck: true,
      },
      files: ['check.ts'],
    }),
  );
  const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', tmp.dir], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  expect(tsc.stdout + tsc.stderr).toBe('');
  expect(tsc.status).toBe(0);
}, 70_000);
