/**
 * A real WebSocket server on 127.0.0.1 whose answer to each opening handshake the test scripts: upgrade
 * (then echo, close with a code, or stop reading), an HTTP status (with Retry-After), or no answer at
 * all. It counts every TCP connection it accepts, and how many are open at once.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';

export type Answer =
  /** Upgrade, then echo every message. */
  | { kind: 'accept'; closeWith?: { code: number; reason?: string; afterMs?: number }; stopReading?: boolean }
  /** Answer the upgrade with this HTTP status (and Retry-After), then end TCP. */
  | { kind: 'status'; status: number; retryAfter?: string }
  /** Read the request, never answer it. */
  | { kind: 'hang' };

export interface ScriptedServer {
  url: string;
  port: number;
  /** TCP connections accepted so far. */
  readonly connections: number;
  /** Most TCP connections open at the same time. */
  readonly mostAtOnce: number;
  /** TCP connections open now. */
  readonly openNow: number;
  /** Upgraded sockets, in order. */
  readonly sockets: readonly WebSocket[];
  /** Text messages received, per upgraded socket. */
  readonly messages: readonly string[][];
  /** The answer to handshake n (0-based) for the request's URL; the default upgrades and echoes. */
  answer: (n: number, url: string) => Answer;
  close(): Promise<void>;
}

export async function startScriptedServer(
  answer: (n: number, url: string) => Answer = () => ({ kind: 'accept' }),
  port = 0,
): Promise<ScriptedServer> {
  const http: Server = createServer((_req, res) => {
    res.writeHead(426).end();
  });
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  const tcp = new Set<Socket>();
  const sockets: WebSocket[] = [];
  const messages: string[][] = [];
  const timers = new Set<NodeJS.Timeout>();
  let connections = 0;
  let mostAtOnce = 0;
  let handshakes = 0;
  const state = {
    answer,
  };
  http.on('connection', (socket: Socket) => {
    connections++;
    tcp.add(socket);
    mostAtOnce = Math.max(mostAtOnce, tcp.size);
    socket.on('close', () => tcp.delete(socket));
    socket.on('error', () => {});
  });
  http.on('upgrade', (request: IncomingMessage, socket: Socket, head: Buffer) => {
    const plan = state.answer(handshakes++, request.url ?? '/');
    if (plan.kind === 'hang') return;
    if (plan.kind === 'status') {
      const retryAfter = plan.retryAfter === undefined ? '' : `Retry-After: ${plan.retryAfter}\r\n`;
      socket.end(
        `HTTP/1.1 ${plan.status} Scripted\r\n${retryAfter}Connection: close\r\nContent-Length: 0\r\n\r\n`,
      );
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => {
      const index = sockets.length;
      sockets.push(ws);
      messages.push([]);
      ws.on('error', () => {});
      ws.on('message', (data, isBinary) => {
        if (!isBinary) messages[index]?.push(data.toString());
        ws.send(data, { binary: isBinary });
      });
      if (plan.stopReading) socket.pause();
      const close = plan.closeWith;
      if (close) {
        const timer = setTimeout(() => {
          timers.delete(timer);
          ws.close(close.code, close.reason ?? '');
        }, close.afterMs ?? 0);
        timers.add(timer);
      }
    });
  });
  http.listen(port, '127.0.0.1');
  await once(http, 'listening');
  const address = http.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${address.port}`,
    port: address.port,
    get connections() {
      return connections;
    },
    get mostAtOnce() {
      return mostAtOnce;
    },
    get openNow() {
      return tcp.size;
    },
    sockets,
    messages,
    get answer() {
      return state.answer;
    },
    set answer(fn) {
      state.answer = fn;
    },
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      for (const socket of tcp) socket.destroy();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
