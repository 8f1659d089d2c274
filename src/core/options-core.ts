/**
 * Validation of the options every entry takes, whatever its transport (URL, protocols, timeouts,
 * audit, inspect, trail, redact): bad input gets a ConnectionError before anything is created or sent.
 * Imports neither `ws` nor any `node:` module: the ws entry (src/options.ts) and the standard
 * WebSocket entry (src/web.ts) both build on it.
 */
import type { InspectionEvent, Observer } from 'xstate';
import { ConnectionError } from '../../machines/connection-error.js';
import { DEFAULT_TIMEOUTS, type Timeouts } from '../../machines/types.js';
import type { AuditRecord } from '../audit/audit.js';
import {
  DEFAULT_REDACTION,
  describeCharAt,
  type Redaction,
  type RedactOptions,
  redaction,
  redactUrl,
} from '../redact.js';

/** Options every entry takes, whatever its transport. */
export interface CommonOptions {
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

/** The options every entry takes, checked. */
export interface ResolvedCommonOptions {
  url: URL;
  safeUrl: string;
  protocols: string[] | undefined;
  timeouts: Timeouts;
  audit: ((record: AuditRecord) => void) | undefined;
  inspect: InspectOption | undefined;
  trail: boolean;
}

/** The `inspect` option: an XState inspection observer. */
export type InspectOption = ((event: InspectionEvent) => void) | Observer<InspectionEvent>;

const REDACT_KEYS = new Set(['keepQuery', 'headers']);
const TIMEOUT_KEYS = new Set(['connect', 'write', 'read']);
/** Largest delay setTimeout honours; larger ones fire after 1 ms. */
export const MAX_TIMEOUT = 2 ** 31 - 1;
/**
 * RFC 7230 token characters: the syntax of a subprotocol name (RFC 6455 §4.1) and of a header name
 * (ws's `subprotocolRegex` and Node's `checkIsHttpToken` are this same set).
 */
export const NON_TOKEN = /[^!#$%&'*+\-.^_`|~0-9A-Za-z]/;

/** An ERR_INVALID_OPTIONS error. */
export function invalid(message: string): ConnectionError {
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

/**
 * Subprotocol values are never quoted in a message, valid or not: apps pass tokens as subprotocols
 * (`['access_token', '<jwt>']`). A message names the entry by index and says what is wrong.
 */
export function resolveProtocols(value: unknown): string[] | undefined {
  if (value === undefined) return undefined;
  const single = typeof value === 'string';
  const list: unknown = single ? [value] : value;
  if (!Array.isArray(list))
    throw invalid(`protocols must be a string or an array of strings, got ${typeName(value)}`);
  const seen = new Map<string, number>();
  for (let i = 0; i < list.length; i++) {
    const protocol: unknown = list[i];
    const where = single ? 'protocols' : `protocols[${i}]`;
    if (typeof protocol !== 'string') throw invalid(`${where} must be a string, got ${typeName(protocol)}`);
    if (protocol === '') throw invalid(`${where} is empty: a subprotocol name is an RFC 7230 token`);
    const bad = protocol.search(NON_TOKEN);
    if (bad !== -1) {
      throw invalid(
        `${where} is not a valid subprotocol name (an RFC 7230 token): it contains ${describeCharAt(protocol, bad)}; value not shown`,
      );
    }
    const first = seen.get(protocol);
    if (first !== undefined) throw invalid(`${where} repeats protocols[${first}]; values not shown`);
    seen.set(protocol, i);
  }
  return list.length === 0 ? undefined : [...(list as string[])];
}

export function resolveTimeouts(value: unknown): Timeouts {
  if (value === undefined) return DEFAULT_TIMEOUTS; // frozen, shared by every connection
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

export function resolveInspect(value: unknown): InspectOption | undefined {
  if (value === undefined || typeof value === 'function') return value as InspectOption | undefined;
  if (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { next?: unknown }).next === 'function'
  ) {
    return value as Observer<InspectionEvent>;
  }
  throw invalid(`inspect must be a function or an observer with next(), got ${typeName(value)}`);
}

export function resolveTrail(value: unknown): boolean {
  if (value === undefined) return true;
  if (typeof value !== 'boolean') throw invalid(`trail must be a boolean, got ${typeName(value)}`);
  return value;
}

export function resolveRedact(value: unknown): Redaction {
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

export function optionalFunction(value: unknown, name: string): unknown {
  if (value === undefined || typeof value === 'function') return value;
  throw invalid(`${name} must be a function, got ${typeName(value)}`);
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

export function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object' && !isPlainObject(value)) {
    // The class, never the contents: "a Map", "a Headers".
    const name: unknown = Object.getPrototypeOf(value)?.constructor?.name;
    if (typeof name === 'string' && /^\w+$/.test(name)) return `a ${name}`;
  }
  return typeof value;
}

export function describe(value: unknown): string {
  return typeof value === 'number' ? String(value) : typeName(value);
}
