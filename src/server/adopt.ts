/**
 * `adopt`: a server-side ws socket becomes a `Connection`, driven by the same `connectionMachine` as a
 * client connection, through the server transport (src/transports/ws-server.ts).
 *
 * Its trail begins `idle`, then `idle → open` on `api.adopt` (RFC 6455 §4.2.2: the server has sent its
 * 101, the connection is established): an edge of the machine's graph, covered by the model tests and
 * by test/server/adopt-edges.test.ts. From there on everything is a client connection's: deadlines,
 * keepalive, audit, one outcome.
 */
import WebSocket from 'ws';
import { ConnectionError } from '../../machines/connection-error.js';
import { Connection } from '../connection.js';
import { typeName } from '../core/options-core.js';
import { WsServerTransport, wsCloseTimeout } from '../transports/ws-server.js';
import { type AdoptOptions, resolveAdoptOptions } from './options.js';

/** Every socket adopted so far, with its connection (weakly: a socket gone is forgotten). */
const adopted = new WeakMap<WebSocket, Connection>();

/**
 * Takes over a socket accepted by a ws `WebSocketServer` (its `'connection'` event) and returns its
 * `Connection`, already open. Call it in the `'connection'` listener itself, so that no frame arrives
 * before the connection listens.
 *
 * Throws ConnectionError, before anything happens: ERR_INVALID_STATE for a socket that is not open or
 * was adopted already; ERR_INVALID_OPTIONS for something that is not a server-side ws socket or for a
 * bad option.
 *
 * @example
 * wss.on('connection', (ws) => {
 *   const conn = adopt(ws, { timeouts: { write: 2000, read: 2000 } });
 *   conn.on('message', (data) => conn.send(data));
 * });
 */
export function adopt(ws: WebSocket, options?: AdoptOptions): Connection {
  checkServerSocket(ws);
  if (adopted.has(ws)) {
    throw new ConnectionError('ERR_INVALID_STATE', 'this socket was adopted already: it has its connection');
  }
  if (ws.readyState !== WebSocket.OPEN) {
    throw new ConnectionError(
      'ERR_INVALID_STATE',
      `only an open socket can be adopted; this one is ${READY_STATES[ws.readyState] ?? 'in an unknown state'}`,
    );
  }
  const resolved = resolveAdoptOptions(options);
  const closeTimeout = wsCloseTimeout(resolved.timeouts);
  const conn = new Connection({
    timeouts: resolved.timeouts,
    keepalive: resolved.keepalive,
    audit: resolved.audit,
    inspect: resolved.inspect,
    trail: resolved.trail,
    transport: (sink) => new WsServerTransport(ws, sink, closeTimeout),
  });
  adopted.set(ws, conn);
  conn._adopt(ws.protocol);
  return conn;
}

/** The connection a socket was adopted into, if it was. @internal (shutdown) */
export function adoptedConnection(ws: WebSocket): Connection | undefined {
  return adopted.get(ws);
}

const READY_STATES = ['connecting', 'open', 'closing', 'closed'];

/** A ws WebSocket from a server: a client-side one has a URL (and its own transport, createConnection). */
function checkServerSocket(ws: unknown): asserts ws is WebSocket {
  const candidate = ws as Partial<WebSocket> | null;
  if (
    typeof candidate !== 'object' ||
    candidate === null ||
    typeof candidate.on !== 'function' ||
    typeof candidate.close !== 'function' ||
    typeof candidate.terminate !== 'function' ||
    typeof candidate.readyState !== 'number'
  ) {
    throw new ConnectionError(
      'ERR_INVALID_OPTIONS',
      `adopt takes a ws WebSocket from a WebSocketServer's 'connection' event, got ${typeName(ws)}`,
    );
  }
  if (typeof candidate.url === 'string' && candidate.url !== '') {
    throw new ConnectionError(
      'ERR_INVALID_OPTIONS',
      'adopt takes a server-side socket; this one is a ws client (use createConnection for clients)',
    );
  }
}
