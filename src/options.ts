/**
 * Validation of `createConnection`'s arguments: bad input gets a ConnectionError before anything is
 * created or sent.
 */
import type { InspectionEvent, Observer } from 'xstate';
import { ConnectionError } from '../machines/connection-error.js';
import { DEFAULT_TIMEOUTS, type Timeouts } from '../machines/types.js';
import type { AuditRecord } from './audit/audit.js';
import { type KeepaliveOptions, type ResolvedKeepalive, resolveKeepalive } from './keepalive.js';
import { DEFAULT_REDACTION, type Redaction, type RedactOptions, redaction, redactUrl } from './redact.js';
import { type ClientOptions, RESERVED_WS_OPTIONS } from './transports/ws-client.js';

export type { KeepaliveOptions, ResolvedKeepalive };

/** Options of {@link createConnection}. */
export interface ConnectionOptions {
  /**
   * Subprotocols offered in `Sec-WebSocket-Protocol` (RFC 6455 §4.1); the server's pick is in the `open`
   * record's detail.
   * @default none
   */
  protocols?: string | string[];
  /**
   * Deadlines in ms, integers from 1 to 2^31−1.
   * @default { connect: 10000, write: 5000, read: 5000 }
   */
  timeouts?: Partial<Timeouts>;
  /**
   * Keepalive while open, activity-based: a ping once `interval` ms passed with no frame received; the
   * connection fails with ERR_KEEPALIVE_TIMEOUT if nothing arrives within `timeout` ms of it. `false`
   * turns it off (no pings, no deadline while open). With `message`/`isPong`, an application heartbeat
   * is sent instead of a ping frame.
   * @default { interval: 20000, timeout: 10000 }
   */
  keepalive?: KeepaliveOptions | false;
  /**
   * Passed through to the ws client (headers, TLS, maxPayload, perMessageDeflate, lookup, …). Not
   * `closeTimeout` or `handshakeTimeout`: the machine's deadlines govern.
   * @default {}
   */
  ws?: ClientOptions;
  /**
   * Called with every state change, as it happens.
   * @default none
   */
  audit?: (record: AuditRecord) => void;
  /**
   * XState inspection observer, passed to `createActor` (e.g. `@statelyai/inspect`'s `inspect`).
   * @default none
   */
  inspect?: ((event: InspectionEvent) => void) | Observer<InspectionEvent>;
  /**
   * Keep `conn.trail`. `false` keeps nothing per connection.
   * @default true
   */
  trail?: boolean;
  /**
   * What stays visible when the URL or headers are shown (error messages, logs). URL userinfo and
   * query values are always hidden, and so are the values of Authorization, Cookie and
   * Proxy-Authorization; list query keys to keep visible and further headers to hide. The real URL and
   * headers reach the ws actor only: never the machine's context, a record or an inspection event.
   * @default { keepQuery: [], headers: [] }
   * @example { keepQuery: ['room'], headers: ['X-Api-Key'] }
   */
  redact?: RedactOptions;
}

export interface ResolvedOptions {
  url: URL;
  safeUrl: string;
  protocols: string[] | undefined;
  timeouts: Timeouts;
  keepalive: ResolvedKeepalive | null;
  ws: ClientOptions;
  audit: ((record: AuditRecord) => void) | undefined;
  inspect: ((event: InspectionEvent) => void) | Observer<InspectionEvent> | undefined;
  trail: boolean;
}

const OPTION_KEYS = new Set([
  'protocols',
  'timeouts',
  'keepalive',
  'ws',
  'audit',
  'inspect',
  'trail',
  'redact',
]);
const REDACT_KEYS = new Set(['keepQuery', 'headers']);
const TIMEOUT_KEYS = new Set(['connect', 'write', 'read']);
/** Largest delay setTimeout honours; larger ones fire after 1 ms. */
const MAX_TIMEOUT = 2 ** 31 - 1;
/** RFC 7230 token characters, the syntax of a subprotocol name (RFC 6455 §4.1). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function invalid(message: string): ConnectionError {
  return new ConnectionError('ERR_INVALID_OPTIONS', message);
}

/** Parses and checks a WebSocket URL; http(s) maps to ws(s) as in the WHATWG WebSocket. */
export function parseUrl(input: unknown, redact?: Redaction): { url: URL; safeUrl: string } {
  let url: URL;
  if (input instanceof URL) url = new URL(input.href);
  else if (typeof input === 'string') {
    try {
      url = new URL(input);
    } catch {
      // Never echo the input: it may hold credentials.
      throw new ConnectionError('ERR_INVALID_URL', 'url is not a valid absolute URL');
    }
  } else {
    throw new ConnectionError('ERR_INVALID_URL', `url must be a string or a URL, got ${typeName(input)}`);
  }
  if (url.protocol === 'http:') url.protocol = 'ws:';
  else if (url.protocol === 'https:') url.protocol = 'wss:';
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') {
    throw new ConnectionError(
      'ERR_INVALID_URL',
      `url scheme must be ws: or wss: (or http:/https:), got ${url.protocol}`,
    );
  }
  if (url.hash) {
    throw new ConnectionError('ERR_INVALID_URL', 'url must not have a fragment (RFC 6455 §3)');
  }
  return { url, safeUrl: redactUrl(url, redact) };
}

export function resolveOptions(rawUrl: unknown, options: unknown): ResolvedOptions {
  if (options === undefined) options = {};
  const redact = isPlainObject(options) ? resolveRedact(options.redact) : DEFAULT_REDACTION;
  const { url, safeUrl } = parseUrl(rawUrl, redact);
  if (!isPlainObject(options)) throw invalid(`options must be an object, got ${typeName(options)}`);
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.has(key)) throw invalid(`unknown option ${JSON.stringify(key)}`);
  }
  const o = options as Record<string, unknown>;
  return {
    url,
    safeUrl,
    protocols: resolveProtocols(o.protocols),
    timeouts: resolveTimeouts(o.timeouts),
    keepalive: resolveKeepalive(o.keepalive),
    ws: resolveWsOptions(o.ws),
    audit: optionalFunction(o.audit, 'audit') as ResolvedOptions['audit'],
    inspect: resolveInspect(o.inspect),
    trail: resolveTrail(o.trail),
  };
}

function resolveProtocols(value: unknown): string[] | undefined {
  if (value === undefined) return undefined;
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list))
    throw invalid(`protocols must be a string or an array of strings, got ${typeName(value)}`);
  const seen = new Set<string>();
  for (const protocol of list) {
    if (typeof protocol !== 'string' || !TOKEN.test(protocol)) {
      throw invalid(
        `protocols: ${JSON.stringify(protocol)} is not a valid subprotocol name (an RFC 7230 token)`,
      );
    }
    if (seen.has(protocol)) throw invalid(`protocols: ${JSON.stringify(protocol)} is listed twice`);
    seen.add(protocol);
  }
  return list.length === 0 ? undefined : [...list];
}

function resolveTimeouts(value: unknown): Timeouts {
  if (value === undefined) return { ...DEFAULT_TIMEOUTS };
  if (!isPlainObject(value)) throw invalid(`timeouts must be an object, got ${typeName(value)}`);
  const timeouts = { ...DEFAULT_TIMEOUTS };
  for (const [key, ms] of Object.entries(value)) {
    if (!TIMEOUT_KEYS.has(key))
      throw invalid(`unknown timeout ${JSON.stringify(key)} (connect, write, read)`);
    if (ms === undefined) continue;
    if (typeof ms !== 'number' || !Number.isInteger(ms) || ms < 1 || ms > MAX_TIMEOUT) {
      throw invalid(
        `timeouts.${key} must be an integer number of ms from 1 to ${MAX_TIMEOUT}, got ${describe(ms)}`,
      );
    }
    timeouts[key as keyof Timeouts] = ms;
  }
  return timeouts;
}

function resolveWsOptions(value: unknown): ClientOptions {
  if (value === undefined) return {};
  if (!isPlainObject(value))
    throw invalid(`ws must be an object of ws client options, got ${typeName(value)}`);
  for (const key of RESERVED_WS_OPTIONS) {
    if (key in value) {
      throw invalid(
        `ws.${key} is not allowed: the connect/write/read timeouts govern (use options.timeouts)`,
      );
    }
  }
  return { ...(value as ClientOptions) };
}

function resolveInspect(value: unknown): ResolvedOptions['inspect'] {
  if (value === undefined || typeof value === 'function') return value as ResolvedOptions['inspect'];
  if (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { next?: unknown }).next === 'function'
  ) {
    return value as Observer<InspectionEvent>;
  }
  throw invalid(`inspect must be a function or an observer with next(), got ${typeName(value)}`);
}

function resolveTrail(value: unknown): boolean {
  if (value === undefined) return true;
  if (typeof value !== 'boolean') throw invalid(`trail must be a boolean, got ${typeName(value)}`);
  return value;
}

function resolveRedact(value: unknown): Redaction {
  if (value === undefined) return DEFAULT_REDACTION;
  if (!isPlainObject(value)) throw invalid(`redact must be an object, got ${typeName(value)}`);
  for (const [key, list] of Object.entries(value)) {
    if (!REDACT_KEYS.has(key))
      throw invalid(`unknown redact option ${JSON.stringify(key)} (keepQuery, headers)`);
    if (list === undefined) continue;
    if (!Array.isArray(list) || !list.every((item) => typeof item === 'string' && item !== '')) {
      throw invalid(`redact.${key} must be an array of non-empty strings, got ${typeName(list)}`);
    }
  }
  return redaction(value as RedactOptions);
}

function optionalFunction(value: unknown, name: string): unknown {
  if (value === undefined || typeof value === 'function') return value;
  throw invalid(`${name} must be a function, got ${typeName(value)}`);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}

function describe(value: unknown): string {
  return typeof value === 'number' ? String(value) : typeName(value);
}
