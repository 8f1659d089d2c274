/**
 * `ws-lifecycle/web`: the same connection over the standard WebSocket (browsers, Node ≥ 22, Deno, Bun),
 * `globalThis.WebSocket` or a constructor passed in. Nothing here imports `ws` or a `node:` module (a
 * test bundles this entry for the browser and fails on any). What the standard API cannot show, and
 * how the machine copes: docs/web.md.
 *
 * @example
 * import { createConnection } from 'ws-lifecycle/web';
 * const conn = createConnection('wss://feed.example.com/ticks', { timeouts: { connect: 5000 } });
 * conn.on('message', (data) => console.log(data));
 * await conn.open();
 * conn.send('subscribe BTC-USD');
 * const info = await conn.close(1000, 'bye');
 */
import { Connection } from './core/connection-core.js';
import {
  type CommonOptions,
  invalid,
  isPlainObject,
  optionalFunction,
  parseUrl,
  type ResolvedCommonOptions,
  resolveInspect,
  resolveProtocols,
  resolveRedact,
  resolveTimeouts,
  resolveTrail,
  typeName,
} from './core/options-core.js';
import { type KeepaliveOptions, type ResolvedKeepalive, resolveKeepalive } from './keepalive.js';
import { DEFAULT_REDACTION } from './redact.js';
import { checkWebClose, type WebSocketConstructor, WebSocketTransport } from './transports/web-socket.js';

export {
  ConnectionError,
  type ConnectionErrorCode,
  ERROR_CODES,
} from '../machines/connection-error.js';
export type { CloseInfo, Initiator, StateName, Timeouts, TransitionDetail } from '../machines/types.js';
export type { AuditRecord } from './audit/audit.js';
export type {
  Connection,
  ConnectionActor,
  ConnectionEvents,
  MessageData,
  SendData,
} from './core/connection-core.js';
export type { CommonOptions, InspectOption } from './core/options-core.js';
export type { KeepaliveOptions } from './keepalive.js';
export type { RedactOptions } from './redact.js';
export {
  isWebSendableCloseCode,
  type StandardWebSocket,
  type WebSocketConstructor,
} from './transports/web-socket.js';

/** Options of the standard WebSocket's {@link createConnection}. */
export interface WebConnectionOptions extends CommonOptions {
  /**
   * Keepalive while open, as the application heartbeat only: the standard WebSocket cannot send ping
   * frames. `message` is sent once `interval` ms passed with no message received; the connection fails
   * with ERR_KEEPALIVE_TIMEOUT if nothing arrives within `timeout` ms of it. `message` and `isPong`
   * are required: a keepalive without them is refused (ERR_INVALID_OPTIONS).
   * @default false (off: there is nothing to ping with)
   * @example { interval: 15000, timeout: 5000, message: () => '{"type":"ping"}', isPong: (d) => d === '{"type":"pong"}' }
   */
  keepalive?: KeepaliveOptions | false;
  /**
   * The WebSocket constructor: the standard API (`new WebSocket(url, protocols)`), e.g. a polyfill or
   * a wrapper. Without it, `globalThis.WebSocket` at the time `createConnection` is called.
   * @default globalThis.WebSocket
   */
  WebSocket?: WebSocketConstructor;
}

/** {@link WebConnectionOptions}, checked. */
export interface ResolvedWebOptions extends ResolvedCommonOptions {
  keepalive: ResolvedKeepalive | null;
  WebSocket: WebSocketConstructor;
}

const OPTION_KEYS = new Set([
  'protocols',
  'timeouts',
  'keepalive',
  'WebSocket',
  'audit',
  'inspect',
  'trail',
  'redact',
]);

/** Options of the ws client that the standard WebSocket has no way to honour. */
const WS_ONLY: Readonly<Record<string, string>> = {
  ws: 'ws client options (headers, TLS, agents, perMessageDeflate, …) are for the Node ws client; the standard WebSocket takes only a URL and protocols: use createConnection from "ws-lifecycle" on Node',
  headers:
    'the standard WebSocket cannot send headers: put a token in the URL query (hidden in messages and trails) or in the first message',
};

/**
 * Checks everything before anything is created: ConnectionError ERR_INVALID_URL / ERR_INVALID_OPTIONS.
 * @internal
 */
export function resolveWebOptions(rawUrl: unknown, options: unknown): ResolvedWebOptions {
  if (options === undefined) options = {};
  const redact = isPlainObject(options) ? resolveRedact(options.redact) : DEFAULT_REDACTION;
  const { url, safeUrl } = parseUrl(rawUrl, redact);
  if (!isPlainObject(options)) throw invalid(`options must be an object, got ${typeName(options)}`);
  for (const key of Object.keys(options)) {
    const why = Object.hasOwn(WS_ONLY, key) ? WS_ONLY[key] : undefined;
    if (why !== undefined) throw invalid(`${key} is not an option of ws-lifecycle/web: ${why}`);
    if (!OPTION_KEYS.has(key)) throw invalid(`unknown option ${JSON.stringify(key)}`);
  }
  const o = options as Record<string, unknown>;
  return {
    url,
    safeUrl,
    protocols: resolveProtocols(o.protocols),
    timeouts: resolveTimeouts(o.timeouts),
    keepalive: resolveKeepalive(o.keepalive, { requireHeartbeat: true, defaultOn: false }),
    WebSocket: resolveWebSocket(o.WebSocket),
    audit: optionalFunction(o.audit, 'audit') as ResolvedWebOptions['audit'],
    inspect: resolveInspect(o.inspect),
    trail: resolveTrail(o.trail),
  };
}

function resolveWebSocket(value: unknown): WebSocketConstructor {
  if (value !== undefined) {
    if (typeof value !== 'function')
      throw invalid(`WebSocket must be a WebSocket constructor, got ${typeName(value)}`);
    return value as WebSocketConstructor;
  }
  const global = (globalThis as { WebSocket?: unknown }).WebSocket;
  if (typeof global !== 'function') {
    throw invalid(
      'this runtime has no global WebSocket (Node < 22?): pass options.WebSocket, or use createConnection from "ws-lifecycle" (the ws client) on Node',
    );
  }
  return global as WebSocketConstructor;
}

/**
 * Creates a connection over the standard WebSocket to a `ws:`/`wss:` URL (`http:`/`https:` map to
 * them). Nothing touches the network until `open()`. Throws ConnectionError ERR_INVALID_URL /
 * ERR_INVALID_OPTIONS for bad input. Same API as `ws-lifecycle`'s `createConnection`; `close()` also
 * refuses codes the standard API cannot send (only 1000 and 3000–4999: ERR_INVALID_CLOSE_CODE), and
 * `ping()` needs the heartbeat (`keepalive.message`/`isPong`).
 *
 * @example
 * const conn = createConnection('ws://127.0.0.1:8080', { timeouts: { connect: 3000 } });
 * await conn.open();
 * const info = await conn.close(1000, 'done');
 */
export function createConnection(url: string | URL, options?: WebConnectionOptions): Connection {
  const resolved = resolveWebOptions(url, options);
  return new Connection({
    timeouts: resolved.timeouts,
    keepalive: resolved.keepalive,
    audit: resolved.audit,
    inspect: resolved.inspect,
    trail: resolved.trail,
    checkClose: checkWebClose,
    pingFrames: false,
    transport: (sink) =>
      new WebSocketTransport(resolved.WebSocket, resolved.url, resolved.safeUrl, resolved.protocols, sink),
  });
}
