/**
 * Validation of `createConnection`'s arguments: bad input gets a ConnectionError before anything is
 * created or sent. The options every entry takes are checked in src/core/options-core.ts; this file
 * adds keepalive and the ws client options.
 */
import {
  type CommonOptions,
  describe,
  type InspectOption,
  invalid,
  isPlainObject,
  NON_TOKEN,
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
import { DEFAULT_REDACTION, describeCharAt } from './redact.js';
import { type ClientOptions, RESERVED_WS_OPTIONS } from './transports/ws-client.js';

export type { CommonOptions, InspectOption, KeepaliveOptions, ResolvedCommonOptions, ResolvedKeepalive };
export { parseUrl };

/** Options of {@link createConnection}. */
export interface ConnectionOptions extends CommonOptions {
  /**
   * Keepalive while open, activity-based: a ping once `interval` ms passed with no frame received; the
   * connection fails with ERR_KEEPALIVE_TIMEOUT if nothing arrives within `timeout` ms of it. `false`
   * turns it off (no pings, no deadline while open). With `message`/`isPong`, an application heartbeat
   * is sent instead of a ping frame.
   * @default { interval: 20000, timeout: 10000 }
   */
  keepalive?: KeepaliveOptions | false;
  /**
   * Passed through to the ws client: `headers`, `origin`, TLS (`ca`, `cert`, `rejectUnauthorized`, …),
   * `maxPayload`, `perMessageDeflate`, `followRedirects`, `agent`, `lookup`, `createConnection`, ….
   *
   * `createConnection` checks them and throws `ERR_INVALID_OPTIONS` for whatever ws's client
   * constructor or Node's http client would throw on once `open()` runs:
   * - `headers`: an object (not an array, Map or Headers, which ws would mangle or drop); names RFC 7230
   *   tokens; values strings, numbers or arrays of them, holding only tab, visible ASCII and
   *   U+0080–U+00FF (Node's rule: no CR, LF, NUL or other control character, nothing above U+00FF).
   * - The opening handshake's own headers belong to ws and are refused: `Sec-WebSocket-Key`,
   *   `Sec-WebSocket-Version` (use `protocolVersion`), `Connection` and `Upgrade`, which ws writes and
   *   would silently replace; `Sec-WebSocket-Protocol` (use `protocols`) and `Sec-WebSocket-Extensions`
   *   (use `perMessageDeflate`), which ws does not check the server's answer against, so a server that
   *   accepts them fails the handshake.
   * - `protocolVersion`: 13 or 8 (leave it out for 13); `origin`: a string, valid as a header value;
   *   `perMessageDeflate`: a boolean or an object, its window bits valid in a header; `agent`: an
   *   Agent-like object for the URL's scheme (an `http.Agent` for ws:, an `https.Agent` for wss:) or
   *   `false`; `auth`: a string (when Node would use it); `signal`: an AbortSignal; `finishRequest` and
   *   `generateMask`: functions; `maxHeaderSize`, `insecureHTTPParser`, `joinDuplicateHeaders` and
   *   `uniqueHeaders`: what Node's http client accepts.
   * - Not allowed: `closeTimeout` and `handshakeTimeout` (the connect/write/read deadlines govern: use
   *   `timeouts`); `protocols` (use the top-level `protocols`; ws reads these only when that is empty).
   *
   * Messages name the option and what is wrong with it, never a header value, `auth`, or a header name
   * that is not a token. The rest goes to ws as given: what it refuses while connecting (a malformed
   * TLS option, a failing `lookup`) ends the connection with an error. ws sets `host`, `hostname`,
   * `port`, `path`, `method`, `protocol`, `socketPath` and `timeout` itself and ignores yours.
   * @default {}
   */
  ws?: ClientOptions;
}

export interface ResolvedOptions extends ResolvedCommonOptions {
  keepalive: ResolvedKeepalive | null;
  ws: ClientOptions;
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
    ws: resolveWsOptions(o.ws, url),
    audit: optionalFunction(o.audit, 'audit') as ResolvedOptions['audit'],
    inspect: resolveInspect(o.inspect),
    trail: resolveTrail(o.trail),
  };
}

/** A header value as ws and Node's http client take it (@types/node's `OutgoingHttpHeader`). */
type HeaderValue = string | number | Array<string | number>;

/**
 * What a header value may not hold: Node's `checkInvalidHeaderChar` (lib/_http_common.js) allows tab,
 * visible ASCII and U+0080–U+00FF only; `setHeader` throws ERR_INVALID_CHAR for anything else.
 */
const INVALID_HEADER_CHAR = /[^\t\x20-\x7e\x80-\xff]/;

/**
 * The opening handshake's own headers (lower case), which ws writes itself or derives from another
 * option (lib/websocket.js initAsClient), and why a caller's is refused.
 */
const HANDSHAKE_HEADERS: ReadonlyMap<string, string> = new Map([
  ['sec-websocket-key', 'ws writes a fresh key for every handshake (RFC 6455 §4.1) and would replace yours'],
  ['sec-websocket-version', 'ws writes it from ws.protocolVersion and would replace yours'],
  ['connection', 'ws writes "Connection: Upgrade" (RFC 6455 §4.1) and would replace yours'],
  ['upgrade', 'ws writes "Upgrade: websocket" (RFC 6455 §4.1) and would replace yours'],
  [
    'sec-websocket-protocol',
    "use options.protocols: ws checks the server's pick against those alone, so a pick from this header fails the handshake",
  ],
  [
    'sec-websocket-extensions',
    'use ws.perMessageDeflate: ws accepts only the extension it offered itself, so a server taking one from this header fails the handshake',
  ],
]);

/**
 * Checks the ws client options against everything ws's constructor (initAsClient) and Node's
 * http.request (ClientRequest, setHeader) would throw on, and returns what ws will get: a copy, with
 * the checked headers and permessage-deflate options copied too, so later changes to the caller's
 * objects cannot undo the checks.
 */
function resolveWsOptions(value: unknown, url: URL): ClientOptions {
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
  // What ws sees: it spreads the options over its defaults, so an own `undefined` replaces a default.
  const o: Record<string, unknown> = { ...value };
  if (o.protocols !== undefined) {
    throw invalid(
      'ws.protocols is not allowed: use options.protocols (ws reads ws.protocols only when those are empty, unchecked)',
    );
  }
  checkProtocolVersion(o);
  const headers = resolveHeaders(o.headers);
  if (headers !== undefined) o.headers = headers;
  checkOrigin(o.origin);
  if (o.perMessageDeflate !== undefined) o.perMessageDeflate = resolvePerMessageDeflate(o.perMessageDeflate);
  checkAgent(o.agent, url);
  checkAuth(o.auth, url, headers);
  checkRequestOptions(o);
  // ws calls finishRequest to send the upgrade request, and generateMask for every frame it sends (our
  // Close included; with permessage-deflate inside a zlib callback, where a throw is uncaught).
  for (const key of ['finishRequest', 'generateMask'] as const) {
    if (o[key] && typeof o[key] !== 'function')
      throw invalid(`ws.${key} must be a function, got ${typeName(o[key])}`);
  }
  return o as ClientOptions;
}

/** ws supports protocol versions 13 (RFC 6455) and 8 (hybi-08) and throws a RangeError for any other. */
function checkProtocolVersion(o: Record<string, unknown>): void {
  if (!Object.hasOwn(o, 'protocolVersion')) return;
  const version = o.protocolVersion;
  if (version === 13 || version === 8) return;
  const got =
    version === undefined
      ? "undefined, which replaces ws's default (leave it out for 13)"
      : describe(version);
  throw invalid(`ws.protocolVersion must be 13 (RFC 6455) or 8 (draft hybi-08), got ${got}`);
}

/**
 * Header names are RFC 7230 tokens and values follow Node's rules, as Node's `setHeader` checks them
 * (ERR_INVALID_HTTP_TOKEN, ERR_HTTP_INVALID_HEADER_VALUE, ERR_INVALID_CHAR). A name is quoted only once
 * it is known to be a token: one that is not may be a whole `Name: value` line. A value never is.
 */
function resolveHeaders(value: unknown): Record<string, HeaderValue> | undefined {
  if (value === undefined) return undefined;
  if (!isPlainObject(value)) {
    let fate = '';
    if (Array.isArray(value) || typeof value === 'string')
      fate = ' (ws would send its items as headers named 0, 1, …)';
    else if (value instanceof Map || value instanceof Headers) fate = ' (ws would send none of its entries)';
    throw invalid(`ws.headers must be an object of header names to values, got ${typeName(value)}${fate}`);
  }
  const entries: Array<[string, HeaderValue]> = [];
  for (const [name, item] of Object.entries(value)) {
    const n = entries.length + 1;
    if (name === '') throw invalid(`ws.headers: the name of header #${n} is empty`);
    const bad = name.search(NON_TOKEN);
    if (bad !== -1) {
      throw invalid(
        `ws.headers: the name of header #${n} is not an HTTP token (RFC 7230): it contains ${describeCharAt(name, bad)}; name not shown`,
      );
    }
    const where = `ws.headers[${JSON.stringify(name)}]`;
    const reason = HANDSHAKE_HEADERS.get(name.toLowerCase());
    if (reason !== undefined) throw invalid(`${where} is not allowed: ${reason}`);
    entries.push([name, headerValue(item, where)]);
  }
  return Object.fromEntries(entries);
}

function headerValue(value: unknown, where: string): HeaderValue {
  if (typeof value === 'string') {
    checkHeaderText(value, where);
    return value;
  }
  if (typeof value === 'number') return value;
  if (Array.isArray(value)) {
    const items: Array<string | number> = [];
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (typeof item === 'string') checkHeaderText(item, `${where}[${i}]`);
      else if (typeof item !== 'number')
        throw invalid(`${where}[${i}] must be a string or a number, got ${typeName(item)}`);
      items.push(item);
    }
    return items;
  }
  if (value === undefined) {
    throw invalid(
      `${where} is undefined: leave the header out instead (Node refuses it: ERR_HTTP_INVALID_HEADER_VALUE)`,
    );
  }
  throw invalid(`${where} must be a string, a number or an array of them, got ${typeName(value)}`);
}

function checkHeaderText(text: string, where: string): void {
  const bad = text.search(INVALID_HEADER_CHAR);
  if (bad === -1) return;
  throw invalid(
    `${where} contains ${describeCharAt(text, bad)}: Node refuses it in a header value (ERR_INVALID_CHAR; value not shown)`,
  );
}

/** ws sends a truthy origin as the Origin header (Sec-WebSocket-Origin for version 8). */
function checkOrigin(origin: unknown): void {
  if (!origin) return;
  if (typeof origin !== 'string') throw invalid(`ws.origin must be a string, got ${typeName(origin)}`);
  checkHeaderText(origin, 'ws.origin');
}

/**
 * ws offers permessage-deflate for any truthy value; its window bits go into the
 * Sec-WebSocket-Extensions header as text (permessage-deflate.js offer(), extension.js format()).
 */
function resolvePerMessageDeflate(value: unknown): ClientOptions['perMessageDeflate'] {
  if (typeof value === 'boolean') return value;
  if (!isPlainObject(value)) {
    throw invalid(
      `ws.perMessageDeflate must be a boolean or an object of permessage-deflate options, got ${typeName(value)}`,
    );
  }
  for (const key of ['serverMaxWindowBits', 'clientMaxWindowBits'] as const) {
    const bits = value[key];
    if (!bits) continue; // ws offers only a truthy value
    for (const item of Array.isArray(bits) ? bits : [bits]) {
      if (item === true) continue; // the bare parameter
      if (typeof item === 'symbol') throw invalid(`ws.perMessageDeflate.${key} must be a number, got symbol`);
      checkHeaderText(`${item}`, `ws.perMessageDeflate.${key}`);
    }
  }
  return { ...value };
}

/**
 * Node's ClientRequest takes undefined, null or false for its default agent, anything else only with
 * addRequest() (ERR_INVALID_ARG_TYPE), and only for the request's own protocol (ERR_INVALID_PROTOCOL).
 */
function checkAgent(agent: unknown, url: URL): void {
  if (agent === undefined || agent === null || agent === false) return;
  if (typeof (agent as { addRequest?: unknown }).addRequest !== 'function') {
    throw invalid(
      `ws.agent must be an http.Agent or https.Agent (an object with addRequest()) or false, got ${typeName(agent)}`,
    );
  }
  const needed = url.protocol === 'wss:' ? 'https:' : 'http:';
  const protocol: unknown = (agent as { protocol?: unknown }).protocol;
  if (!protocol || protocol === needed) return;
  const is =
    protocol === 'http:' || protocol === 'https:' ? `an agent for ${protocol}` : 'for another protocol';
  const use = needed === 'https:' ? 'an https.Agent' : 'an http.Agent';
  throw invalid(`ws.agent is ${is}, but a ${url.protocol} URL needs ${use}`);
}

/**
 * Node turns `auth` into `Authorization: Basic …` with Buffer.from(auth), which throws for a number or
 * a plain object, unless an Authorization header is set; ws uses the URL's credentials instead when it
 * has any. Never quoted: it is a credential.
 */
function checkAuth(auth: unknown, url: URL, headers: Record<string, HeaderValue> | undefined): void {
  if (!auth || typeof auth === 'string' || url.username || url.password) return;
  let authorization: HeaderValue | undefined;
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (name.toLowerCase() === 'authorization') authorization = value;
  }
  if (authorization) return;
  try {
    Buffer.from(auth as Uint8Array);
  } catch {
    throw invalid(`ws.auth must be a string "user:password" (value not shown), got ${typeName(auth)}`);
  }
}

/** Options Node's ClientRequest validates at once (lib/_http_client.js). */
function checkRequestOptions(o: Record<string, unknown>): void {
  const { signal, maxHeaderSize, uniqueHeaders } = o;
  if (signal && (typeof signal !== 'object' || !('aborted' in signal)))
    throw invalid(`ws.signal must be an AbortSignal, got ${typeName(signal)}`);
  if (
    maxHeaderSize !== undefined &&
    !(typeof maxHeaderSize === 'number' && Number.isSafeInteger(maxHeaderSize) && maxHeaderSize >= 0)
  ) {
    throw invalid(`ws.maxHeaderSize must be a whole number of bytes from 0, got ${describe(maxHeaderSize)}`);
  }
  for (const key of ['insecureHTTPParser', 'joinDuplicateHeaders'] as const) {
    if (o[key] !== undefined && typeof o[key] !== 'boolean')
      throw invalid(`ws.${key} must be a boolean, got ${typeName(o[key])}`);
  }
  if (!Array.isArray(uniqueHeaders)) return; // Node ignores anything but an array
  for (let i = 0; i < uniqueHeaders.length; i++) {
    const name: unknown = uniqueHeaders[i];
    if (typeof (name as { toLowerCase?: unknown } | null | undefined)?.toLowerCase !== 'function')
      throw invalid(`ws.uniqueHeaders[${i}] must be a header name, got ${typeName(name)}`);
  }
}
