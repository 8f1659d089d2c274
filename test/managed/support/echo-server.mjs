// A ws echo server in its own process, for tests that stop and restart a real server. Listens on
// 127.0.0.1 at the port given as argv[2] (0: any), prints {"port":N} once listening, counts nothing;
// the test ends it by PID (SIGKILL: it goes away as a crashed server would, no Close frames).
import { WebSocketServer } from 'ws';

const wss = new WebSocketServer({
  host: '127.0.0.1',
  port: Number(process.argv[2] ?? 0),
  perMessageDeflate: false,
  backlog: 1024,
});
wss.on('connection', (ws) => {
  ws.on('error', () => {});
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});
wss.on('listening', () => {
  process.stdout.write(`${JSON.stringify({ port: wss.address().port })}\n`);
});
wss.on('error', (error) => {
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
});
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
