/**
 * ws servers for the server-side tests, on 127.0.0.1 port 0, made each of the three ways ws allows
 * (`{ port }`, `{ server }`, `{ noServer: true }`), optionally adopting every connection. Every close
 * is bounded.
 */
import { once } from 'node:events';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type ServerOptions, type WebSocket, WebSocketServer } from 'ws';
import type { Connection } from '../../src/connection.js';
import { type AdoptOptions, adopt } from '../../src/server/index.js';
import { waitFor } from '../helpers.js';

export type ServerKind = 'port' | 'server' | 'noServer';
export const SERVER_KINDS: readonly ServerKind[] = ['port', 'server', 'noServer'];

export interface TestServer {
  url: string;
  wss: WebSocketServer;
  /** The HTTP server we made (`server` and `noServer` kinds). */
  http: HttpServer | null;
  /** Connections adopted so far, in order. */
  conns: Connection[];
  /** Every server-side ws socket so far, in order, adopted or not. */
  sockets: WebSocket[];
  /** The next adopted connection (index `conns.length` at the time of the call, or a given index). */
  connection(index: number): Promise<Connection>;
  /** Terminates whatever is left and stops listening; resolves within 2 s whatever happens. */
  close(): Promise<void>;
}

export interface TestServerOptions {
  kind?: ServerKind;
  /** Options for adopt; `false`: never adopt (the sockets stay plain ws). @default {} */
  adopt?: AdoptOptions | false;
  /** Echo every message back through the connection. @default true */
  echo?: boolean;
  /** More ws server options. */
  ws?: ServerOptions;
}

export async function startServer(options: TestServerOptions = {}): Promise<TestServer> {
  const { kind = 'server', echo = true } = options;
  const adoptOptions = options.adopt ?? {};
  let wss: WebSocketServer;
  let http: HttpServer | null = null;
  if (kind === 'port') {
    wss = new WebSocketServer({ host: '127.0.0.1', port: 0, ...options.ws });
    await once(wss, 'listening');
  } else {
    http = createServer((_req, res) => {
      res.writeHead(404).end();
    });
    wss =
      kind === 'server'
        ? new WebSocketServer({ server: http, ...options.ws })
        : new WebSocketServer({ noServer: true, ...options.ws });
    if (kind === 'noServer') {
      const server = wss;
      http.on('upgrade', (req, socket, head) => {
        server.handleUpgrade(req, socket, head, (ws) => server.emit('connection', ws, req));
      });
    }
    http.listen(0, '127.0.0.1');
    await once(http, 'listening');
  }
  const conns: Connection[] = [];
  const sockets: WebSocket[] = [];
  wss.on('connection', (ws) => sockets.push(ws));
  if (adoptOptions !== false) {
    wss.on('connection', (ws) => {
      const conn = adopt(ws, adoptOptions);
      if (echo) {
        conn.on('message', (data) => {
          if (conn.state === 'open') conn.send(data);
        });
      }
      conns.push(conn);
    });
  }
  const address = (http ?? wss).address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${address.port}`,
    wss,
    http,
    conns,
    sockets,
    async connection(index) {
      await waitFor(() => conns.length > index, 3000, `adopted connection #${index}`);
      return conns[index] as Connection;
    },
    async close() {
      for (const conn of conns) void conn.terminate();
      for (const ws of wss.clients ?? sockets) ws.terminate();
      const closing = [new Promise<void>((resolve) => wss.close(() => resolve()))];
      if (http) {
        const server = http;
        server.closeAllConnections();
        closing.push(new Promise<void>((resolve) => server.close(() => resolve())));
      }
      await Promise.race([Promise.all(closing), new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
    },
  };
}

/**
 * Sends through `conn` until ws holds data it cannot write (the client stopped reading, the kernel's
 * buffers are full): a Close queued now stays behind it. Bounded: 64 MiB, 3 s.
 */
export async function fillUntilStuck(conn: Connection, ws: WebSocket): Promise<number> {
  const chunk = new Uint8Array(64 * 1024);
  const deadline = Date.now() + 3000;
  let sent = 0;
  while (sent < 64 * 1024 * 1024 && Date.now() < deadline) {
    conn.send(chunk);
    sent += chunk.length;
    await new Promise((resolve) => setImmediate(resolve));
    if (ws.bufferedAmount > 0) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      if (ws.bufferedAmount > 0) return sent;
    }
  }
  throw new Error(`not stuck after ${sent} bytes`);
}
