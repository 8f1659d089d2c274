// The peer at the far end of a dead link (see dead-link.ts), run inside its network namespace with
// `ip netns exec <ns> node dead-link-peer.mjs <absolute path of ws> <address>`.
//
// It listens on <address> only (the namespace's end of the veth pair) with two servers:
// - a WebSocket echo server (ws, no permessage-deflate), which answers Pings as ws does by default;
// - a raw TCP echo server, for probes below WebSocket.
// Everything it sees goes to stdout as one JSON object a line ({"event": …}); the first is
// {"event":"ready","wsPort":…,"tcpPort":…}. Commands come on stdin, one JSON object a line, each
// acknowledged by {"event":"ack","seq":…}. When stdin ends (the test process went away, even by SIGKILL)
// it exits, so it never outlives the process that started it.

import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';

const [wsPath, host] = process.argv.slice(2);
if (!wsPath || !host) {
  process.stderr.write('usage: dead-link-peer.mjs <absolute path of ws> <address>\n');
  process.exit(2);
}
const ws = (await import(pathToFileURL(wsPath).href)).default;

const report = (event, fields = {}) =>
  process.stdout.write(`${JSON.stringify({ event, ...fields, time: Date.now() })}\n`);

const tcpSockets = new Map();
const wsSockets = new Map();
let nextTcp = 1;
let nextWs = 1;

const tcpServer = createServer({ allowHalfOpen: true }, (socket) => {
  const id = nextTcp++;
  tcpSockets.set(id, socket);
  report('tcp-open', { id, remotePort: socket.remotePort });
  socket.on('data', (chunk) => {
    report('tcp-data', {
      id,
      bytes: chunk.length,
      text: chunk.toString('utf8', 0, Math.min(chunk.length, 200)),
    });
    if (socket.writable) socket.write(chunk);
  });
  socket.on('end', () => report('tcp-end', { id }));
  socket.on('error', (err) => report('tcp-error', { id, code: err.code ?? err.message }));
  socket.on('close', () => {
    tcpSockets.delete(id);
    report('tcp-close', { id });
  });
});

const wsServer = new ws.WebSocketServer({ host, port: 0, perMessageDeflate: false });
wsServer.on('connection', (socket, request) => {
  const id = nextWs++;
  wsSockets.set(id, socket);
  report('ws-open', { id, remotePort: request.socket.remotePort });
  socket.on('message', (data, isBinary) => {
    report('ws-message', { id, bytes: data.length, binary: isBinary });
    socket.send(data, { binary: isBinary });
  });
  socket.on('ping', (data) => report('ws-ping', { id, bytes: data.length }));
  socket.on('pong', (data) => report('ws-pong', { id, bytes: data.length }));
  socket.on('error', (err) => report('ws-error', { id, code: err.code ?? err.message }));
  socket.on('close', (code) => {
    wsSockets.delete(id);
    report('ws-close', { id, code });
  });
});

const listening = (server, listen) =>
  new Promise((resolve, reject) => {
    server.once('error', reject);
    server.once('listening', () => resolve(server.address().port));
    listen();
  });

const [tcpPort, wsPort] = await Promise.all([
  listening(tcpServer, () => tcpServer.listen(0, host)),
  listening(wsServer, () => {}),
]);

const commands = {
  'tcp-write': (c) => tcpSockets.get(c.id)?.write(String(c.data ?? '')),
  'tcp-end': (c) => tcpSockets.get(c.id)?.end(),
  'tcp-reset': (c) => tcpSockets.get(c.id)?.resetAndDestroy(),
  'ws-send': (c) => wsSockets.get(c.id)?.send(String(c.data ?? '')),
  'ws-ping': (c) => wsSockets.get(c.id)?.ping(),
  'ws-close': (c) => wsSockets.get(c.id)?.close(c.code ?? 1000, c.reason ?? ''),
  'ws-terminate': (c) => wsSockets.get(c.id)?.terminate(),
};

createInterface({ input: process.stdin })
  .on('line', (line) => {
    let command;
    try {
      command = JSON.parse(line);
      const run = commands[command.cmd];
      if (!run) throw new Error(`unknown command ${command.cmd}`);
      run(command);
      report('ack', { seq: command.seq });
    } catch (err) {
      report('ack', { seq: command?.seq, error: String(err?.message ?? err) });
    }
  })
  .on('close', () => process.exit(0));

report('ready', { wsPort, tcpPort, pid: process.pid });
