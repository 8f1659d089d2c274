/**
 * Real servers for transport tests, every one on 127.0.0.1 port 0, every close bounded by a timeout.
 *
 * - {@link startWsServer}: a `ws` WebSocketServer, plain or TLS, with or without permessage-deflate — the
 *   kinds of connection on which our Close frame leaves the socket at different moments (at once over
 *   plain TCP; a tick later behind the TLS write or the compressor).
 * - {@link startAbruptCloseServer}: a TLS WebSocket server that writes its Close echo and then closes TCP
 *   for good, as tornado, gorilla and nginx do; anything the client writes after that (its TLS
 *   close_notify) is answered by the kernel with a RST.
 */
import { once } from 'node:events';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { WebSocketServer } from 'ws';
import { acceptKey, encodeClosePayload, encodeFrame, FrameReader, Opcode } from '../../src/testing/frames.js';
import { closeBounded, type SelfSignedCertificate, selfSignedCertificate, startTlsWsServer } from './tls.js';

export interface StartWsServerOptions {
  /**
   * `wss://` with a fresh self-signed certificate (trust it with `ws: { ca }`).
   * @default false
   */
  tls?: boolean;
  /**
   * Accept permessage-deflate and compress every message (threshold 0). The ws client offers it by default.
   * @default false
   */
  perMessageDeflate?: boolean;
  /**
   * Echo every message back (text as text, binary as binary).
   * @default true
   */
  echo?: boolean;
}

export interface WsServer {
  /** `ws://127.0.0.1:<port>` or `wss://127.0.0.1:<port>`. */
  url: string;
  /** The certificate to trust (TLS only). */
  ca: string | undefined;
  /** The ws server, for tests that act on its clients. */
  wss: WebSocketServer;
  /** Ends every socket and stops listening; resolves within `timeoutMs` (default 2000) whatever happens. */
  close(timeoutMs?: number): Promise<void>;
}

/** A `ws` echo server: plain, TLS, with or without permessage-deflate. */
export async function startWsServer(options: StartWsServerOptions = {}): Promise<WsServer> {
  const perMessageDeflate = options.perMessageDeflate ?? false;
  const echo = options.echo ?? true;
  if (options.tls) return startTlsWsServer({ perMessageDeflate, echo });
  const http = createHttpServer();
  const sockets = new Set<Socket>();
  http.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const wss = new WebSocketServer({
    server: http,
    perMessageDeflate: perMessageDeflate ? { threshold: 0 } : false,
  });
  if (echo) {
    wss.on('connection', (socket) => {
      socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
    });
  }
  http.listen(0, '127.0.0.1');
  await once(http, 'listening');
  const { port } = http.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}`,
    ca: undefined,
    wss,
    close: (timeoutMs = 2000) => closeBounded(http, wss, sockets, timeoutMs),
  };
}

/** The kinds of connection a close must be clean on. */
export const CONNECTION_KINDS = {
  plain: {},
  tls: { tls: true },
  'permessage-deflate': { perMessageDeflate: true },
  'tls + permessage-deflate': { tls: true, perMessageDeflate: true },
} as const satisfies Record<string, StartWsServerOptions>;

export type ConnectionKind = keyof typeof CONNECTION_KINDS;

// --- a TLS server that closes TCP right after its Close echo ---------------------------------------------

export interface AbruptCloseServer {
  /** `wss://127.0.0.1:<port>` */
  url: string;
  ca: string;
  port: number;
  /** Connections upgraded so far. */
  readonly upgrades: number;
  /** Close frames received from clients so far. */
  readonly closesReceived: number;
  close(timeoutMs?: number): Promise<void>;
}

/**
 * A minimal RFC 6455 server over TLS: upgrades, echoes text and binary messages, and on the client's Close
 * writes the echo (same code and reason, §5.5.1) and, once written, destroys the socket — no waiting for
 * the client's TCP end (the server closes TCP first, §7.1.1, and for good). Like tornado's
 * `stream.close()` and gorilla's `conn.Close()`.
 */
export async function startAbruptCloseServer(
  certificate: SelfSignedCertificate = selfSignedCertificate(),
): Promise<AbruptCloseServer> {
  const sockets = new Set<TLSSocket>();
  let upgrades = 0;
  let closesReceived = 0;
  const server = createTlsServer({ key: certificate.key, cert: certificate.cert }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {}); // a client RST; nothing to do
    let head = Buffer.alloc(0);
    let reader: FrameReader | null = null;
    socket.on('data', (chunk: Buffer) => {
      if (reader) {
        for (const event of reader.receive(chunk)) {
          if (event.type === 'text') socket.write(encodeFrame(Opcode.text, Buffer.from(event.data, 'utf8')));
          else if (event.type === 'binary') socket.write(encodeFrame(Opcode.binary, event.data));
          else if (event.type === 'ping') socket.write(encodeFrame(Opcode.pong, event.data));
          else if (event.type === 'close') {
            closesReceived++;
            const payload = event.code === 1005 ? undefined : encodeClosePayload(event.code, event.reason);
            socket.write(encodeFrame(Opcode.close, payload), () => socket.destroy());
          } else if (event.type === 'fail') {
            socket.destroy();
          }
        }
        return;
      }
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) {
        if (head.length > 16 * 1024) socket.destroy();
        return;
      }
      const key = /^sec-websocket-key:\s*(\S+)\s*$/im.exec(head.subarray(0, end).toString('latin1'))?.[1];
      if (!key) {
        socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      socket.write(
        `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptKey(key)}\r\n\r\n`,
      );
      upgrades++;
      reader = new FrameReader();
      const rest = head.subarray(end + 4);
      if (rest.length > 0) socket.emit('data', rest);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `wss://127.0.0.1:${port}`,
    ca: certificate.ca,
    port,
    get upgrades() {
      return upgrades;
    },
    get closesReceived() {
      return closesReceived;
    },
    close: (timeoutMs = 2000) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        timer.unref();
        for (const socket of sockets) socket.destroy();
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}
