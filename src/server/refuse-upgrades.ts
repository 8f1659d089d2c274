/**
 * While a server shuts down, every opening handshake that has not been answered yet gets HTTP 503
 * Service Unavailable with `Connection: close` (RFC 6455 §4.2.2 lets a server refuse with any HTTP
 * status; RFC 9110 §15.6.4: 503 for a server that is temporarily unable to handle the request).
 *
 * The line is the 101: a handshake whose 101 was written is a connection and is closed like the rest;
 * one that was not (new, or still in an asynchronous `verifyClient`) gets the 503. Nothing is lost
 * half-way: each side knows which it got.
 *
 * Where upgrades are intercepted, for each way a `WebSocketServer` is made (read in ws 8.23's
 * lib/websocket-server.js):
 * - `{ port }` and `{ server }`: ws's `'upgrade'` listener on the HTTP server calls `this.handleUpgrade`;
 * - `{ noServer: true }`: the application calls `wss.handleUpgrade` itself.
 * So an own `handleUpgrade` on the instance sees every new request in all three modes; an own
 * `completeUpgrade` (ws's private step that writes the 101) catches the handshakes already past
 * `handleUpgrade` (an asynchronous `verifyClient` still deciding). Both are removed by `restore()`.
 */
import type { Duplex } from 'node:stream';
import type { WebSocketServer } from 'ws';

const BODY = 'the server is shutting down';
const RESPONSE =
  'HTTP/1.1 503 Service Unavailable\r\n' +
  'Connection: close\r\n' +
  'Content-Type: text/plain\r\n' +
  `Content-Length: ${Buffer.byteLength(BODY)}\r\n` +
  'Retry-After: 1\r\n' +
  '\r\n' +
  BODY;

/** The refusal in force on one server. */
export interface Refusal {
  /** Upgrade requests answered 503 so far. */
  readonly refused: number;
  /** Back to ws's own methods; every refused socket still open is destroyed. */
  restore(): void;
}

/** From now on every upgrade request on `wss` is answered 503 and its socket closed. */
export function refuseUpgrades(wss: WebSocketServer): Refusal {
  const sockets = new Set<Duplex>();
  let refused = 0;
  const refuse = (socket: Duplex) => {
    refused++;
    answer503(socket, sockets);
  };
  interceptUpgrades(wss, refuse);
  return {
    get refused() {
      return refused;
    },
    restore() {
      restoreUpgrades(wss);
      for (const socket of sockets) socket.destroy();
      sockets.clear();
    },
  };
}

/**
 * Writes the 503 and ends our side; the socket goes once the client has read it and closed (its FIN),
 * or at `restore()`. Destroying right after the write could turn unread bytes into a reset that
 * overtakes the answer.
 */
function answer503(socket: Duplex, sockets: Set<Duplex>): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  sockets.add(socket);
  socket.on('error', destroyOnError);
  socket.once('close', () => sockets.delete(socket));
  socket.once('end', destroyOnEnd);
  socket.resume(); // whatever the client still sends is read and dropped
  socket.end(RESPONSE);
}

function destroyOnError(this: Duplex): void {
  this.destroy();
}

function destroyOnEnd(this: Duplex): void {
  this.destroy();
}

// ---------------------------------------------------------------------------------------------------
// ws internals. Everything below relies on how ws 8.23's WebSocketServer dispatches upgrades;
// test/transports/ws-server.test.ts fails loudly if a ws upgrade changes it.

type Upgrade = (req: unknown, socket: Duplex, head: Buffer, cb: unknown) => void;
type Complete = (
  extensions: unknown,
  key: string,
  protocols: unknown,
  req: unknown,
  socket: Duplex,
  head: Buffer,
  cb: unknown,
) => void;

const kIntercepted = Symbol('ws-lifecycle.refusing-upgrades');

interface Interceptable {
  handleUpgrade: Upgrade;
  completeUpgrade?: Complete;
  [kIntercepted]?: true;
}

/** Own `handleUpgrade` and `completeUpgrade` on the instance, shadowing ws's prototype methods. */
export function interceptUpgrades(wss: WebSocketServer, refuse: (socket: Duplex) => void): void {
  const target = wss as unknown as Interceptable;
  if (typeof Object.getPrototypeOf(target).completeUpgrade !== 'function') {
    throw new Error("ws-lifecycle: this version of ws's WebSocketServer has no completeUpgrade step");
  }
  target[kIntercepted] = true;
  target.handleUpgrade = (_req, socket) => refuse(socket);
  target.completeUpgrade = (_extensions, _key, _protocols, _req, socket) => refuse(socket);
}

export function restoreUpgrades(wss: WebSocketServer): void {
  const target = wss as unknown as Partial<Interceptable>;
  if (!target[kIntercepted]) return;
  delete target.handleUpgrade;
  delete target.completeUpgrade;
  delete target[kIntercepted];
}
