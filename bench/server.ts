import { WebSocketServer } from 'ws';

/**
 * The echo peer, in its own process so the client process is measured alone. Prints `{"port":N}` once
 * listening; exits when its parent closes stdin (so it never outlives the harness).
 */
const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, backlog: 1024 });
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', () => {});
});
wss.on('listening', () => {
  const address = wss.address();
  if (address === null || typeof address === 'string') throw new Error(`unexpected address ${address}`);
  process.stdout.write(`${JSON.stringify({ port: address.port })}\n`);
});
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
