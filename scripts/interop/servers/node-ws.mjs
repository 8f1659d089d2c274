// Echo server on ws (Node), its defaults (no compression): the reference, and nginx's backend.
// Listens on 127.0.0.1 twice, plain and TLS (--cert/--key), prints {"ws": <port>, "wss": <port>} once
// both accept, exits on SIGTERM or SIGINT. `--plain-only` skips TLS (as nginx's backend).
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { parseArgs } from 'node:util';
import { WebSocketServer } from 'ws';

const { values } = parseArgs({
  options: { cert: { type: 'string' }, key: { type: 'string' }, 'plain-only': { type: 'boolean' } },
});

function serve(server) {
  const wss = new WebSocketServer({ server });
  wss.on('connection', (socket) => {
    socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
  });
  server.listen(0, '127.0.0.1');
  return once(server, 'listening').then(() => server.address().port);
}

const ports = { ws: await serve(createHttpServer()) };
if (!values['plain-only']) {
  ports.wss = await serve(
    createHttpsServer({ cert: readFileSync(values.cert, 'utf8'), key: readFileSync(values.key, 'utf8') }),
  );
}
process.stdout.write(`${JSON.stringify(ports)}\n`);
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0));
