/**
 * The `ws` option is checked by createConnection itself: whatever would make ws's client constructor
 * (lib/websocket.js initAsClient) or Node's http client (ClientRequest, setHeader) throw is refused
 * with ERR_INVALID_OPTIONS before anything exists. Each message names the option and never quotes a
 * value that may be a secret: a header value, `auth`, a subprotocol.
 *
 * Each refused input is also fed to the real ws, to show that it really throws there (or why it is
 * refused though it does not), and each accepted one to show that ws takes it.
 */
import http, { validateHeaderName, validateHeaderValue } from 'node:http';
import https from 'node:https';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type ClientOptions, ConnectionError, createConnection } from '../../src/index.js';
import { resolveOptions } from '../../src/options.js';
import { type EchoServer, startEchoServer } from '../helpers.js';

const URL_OK = 'ws://127.0.0.1:9/';
/** Where the real ws is tried: nothing listens on port 1 of loopback. */
const WS_PROBE = 'ws://127.0.0.1:1/';
/** `url` moved to port 1 of loopback, its scheme and credentials kept. */
function probeOf(url: string): string {
  const probe = new URL(url);
  probe.hostname = '127.0.0.1';
  probe.port = '1';
  return probe.href;
}
const SECRET = 'SECRETabc123';

/** Every way an error can be shown or stored. */
function renderings(error: unknown): string[] {
  const e = error as Error & { cause?: unknown };
  return [
    e.message,
    String(e),
    e.stack ?? '',
    JSON.stringify(e),
    JSON.stringify({ ...e, message: e.message, stack: e.stack }),
    inspect(e, { depth: 5, showHidden: true }),
    JSON.stringify(e.cause ?? null),
    inspect(e.cause, { depth: 5, showHidden: true }),
  ];
}

function refusal(url: string, options: unknown): ConnectionError {
  try {
    createConnection(url, options as never);
  } catch (error) {
    return error as ConnectionError;
  }
  throw new Error('createConnection accepted it');
}

/** What the real ws does with the same input: `null` if its constructor accepts it. */
function wsThrows(url: string, ws: unknown, protocols?: string[]): Error | null {
  try {
    const socket = new WebSocket(url, protocols, ws as ClientOptions);
    socket.on('error', () => {});
    socket.terminate();
    return null;
  } catch (error) {
    return error as Error;
  }
}

interface Refused {
  /** The `ws` option. */
  ws: Record<string, unknown>;
  /** What the message must say (it names the option). */
  says: string;
  /** A value that must not appear anywhere in the error. */
  secret?: string;
  url?: string;
  /** Options added when the real ws is tried. */
  probe?: Record<string, unknown>;
  /** What ws itself does: throws at construction, or why it is refused anyway. */
  ws8: 'throws' | 'handshake-header' | 'protocols' | 'crashes-at-first-frame';
}

const refused: Array<[string, Refused]> = [
  // ws: initAsClient's protocolVersions check (RangeError "Unsupported protocol version").
  ['protocolVersion 7', { ws: { protocolVersion: 7 }, says: 'ws.protocolVersion', ws8: 'throws' }],
  [
    'protocolVersion "13" (a string)',
    { ws: { protocolVersion: '13' }, says: 'ws.protocolVersion', ws8: 'throws' },
  ],
  [
    'protocolVersion: undefined (it replaces ws’s default)',
    { ws: { protocolVersion: undefined }, says: 'ws.protocolVersion', ws8: 'throws' },
  ],
  // Node: setHeader → validateHeaderValue → ERR_INVALID_CHAR.
  [
    'a header value with \\n',
    {
      ws: { headers: { 'X-Token': `${SECRET}\nInjected: 1` } },
      says: 'ws.headers["X-Token"] contains a control character (\\n at index 12)',
      secret: SECRET,
      ws8: 'throws',
    },
  ],
  [
    'a header value with \\r',
    {
      ws: { headers: { 'X-Token': `${SECRET}\r` } },
      says: 'ws.headers["X-Token"]',
      secret: SECRET,
      ws8: 'throws',
    },
  ],
  [
    'a header value with NUL',
    {
      ws: { headers: { Authorization: `Bearer ${SECRET}\0` } },
      says: 'ws.headers["Authorization"] contains a control character (\\0 at index 19)',
      secret: SECRET,
      ws8: 'throws',
    },
  ],
  [
    'a header value with DEL',
    {
      ws: { headers: { 'X-Token': `${SECRET}\x7f` } },
      says: '\\x7f at index 12',
      secret: SECRET,
      ws8: 'throws',
    },
  ],
  [
    'a header value with another control character',
    {
      ws: { headers: { 'X-Token': `\x1b${SECRET}` } },
      says: '\\x1b at index 0',
      secret: SECRET,
      ws8: 'throws',
    },
  ],
  [
    'a header value with a character above U+00FF',
    {
      ws: { headers: { 'X-Token': `${SECRET}€` } },
      says: 'ws.headers["X-Token"] contains a character above U+00FF (at index 12)',
      secret: SECRET,
      ws8: 'throws',
    },
  ],
  [
    'an array header value with a line break in one item',
    {
      ws: { headers: { Cookie: ['a=1', `b=${SECRET}\n`] } },
      says: 'ws.headers["Cookie"][1] contains a control character',
      secret: SECRET,
      ws8: 'throws',
    },
  ],
  // Node: validateHeaderValue → ERR_HTTP_INVALID_HEADER_VALUE (its own message quotes nothing here).
  [
    'an undefined header value',
    { ws: { headers: { 'X-Token': undefined } }, says: 'ws.headers["X-Token"] is undefined', ws8: 'throws' },
  ],
  // Node: checkInvalidHeaderChar(value) converts it to a string: TypeError for a Symbol.
  [
    'a Symbol header value',
    {
      ws: { headers: { 'X-Token': Symbol(SECRET) } },
      says: 'ws.headers["X-Token"]',
      secret: SECRET,
      ws8: 'throws',
    },
  ],
  // Node: setHeader → validateHeaderName → ERR_INVALID_HTTP_TOKEN. The name is not quoted either: a
  // name that is not a token may be a whole "Name: value" line.
  [
    'a header name with a space',
    {
      ws: { headers: { 'X-A': '1', [`Bearer ${SECRET}`]: 'x' } },
      says: 'the name of header #2 is not an HTTP token (RFC 7230): it contains a space (at index 6)',
      secret: SECRET,
      ws8: 'throws',
    },
  ],
  [
    'a whole header line as a name',
    {
      ws: { headers: { [`Authorization: Bearer ${SECRET}`]: '' } },
      says: 'ws.headers: the name of header #1',
      secret: SECRET,
      ws8: 'throws',
    },
  ],
  [
    'an empty header name',
    { ws: { headers: { '': 'x' } }, says: 'the name of header #1 is empty', ws8: 'throws' },
  ],
  [
    'a non-ASCII header name',
    { ws: { headers: { 'X-Tök': 'x' } }, says: 'a non-ASCII character (at index 3)', ws8: 'throws' },
  ],
  // ws: origin becomes the Origin (v13) or Sec-WebSocket-Origin (v8) header.
  [
    'an origin with \\n',
    {
      ws: { origin: `https://${SECRET}\n` },
      says: 'ws.origin contains a control character',
      secret: SECRET,
      ws8: 'throws',
    },
  ],
  [
    'an origin with \\n, protocol version 8',
    {
      ws: { origin: `https://${SECRET}\n`, protocolVersion: 8 },
      says: 'ws.origin',
      secret: SECRET,
      ws8: 'throws',
    },
  ],
  // ws: the window bits are written into Sec-WebSocket-Extensions.
  [
    'perMessageDeflate.serverMaxWindowBits with \\n',
    {
      ws: { perMessageDeflate: { serverMaxWindowBits: '10\n' } },
      says: 'ws.perMessageDeflate.serverMaxWindowBits',
      ws8: 'throws',
    },
  ],
  [
    'perMessageDeflate.clientMaxWindowBits with \\r',
    {
      ws: { perMessageDeflate: { clientMaxWindowBits: '\r' } },
      says: 'ws.perMessageDeflate.clientMaxWindowBits',
      ws8: 'throws',
    },
  ],
  // Node: ClientRequest's agent checks (ERR_INVALID_ARG_TYPE, ERR_INVALID_PROTOCOL).
  ['agent that is not an Agent', { ws: { agent: {} }, says: 'ws.agent must be', ws8: 'throws' }],
  ['agent: true', { ws: { agent: true }, says: 'ws.agent must be', ws8: 'throws' }],
  [
    'an https.Agent for a ws: URL',
    { ws: { agent: new https.Agent() }, says: 'ws.agent is an agent for https:', ws8: 'throws' },
  ],
  [
    'an http.Agent for a wss: URL',
    {
      ws: { agent: new http.Agent() },
      url: 'wss://127.0.0.1:9/',
      says: 'ws.agent is an agent for http:',
      ws8: 'throws',
    },
  ],
  // Node: Buffer.from(options.auth) for the Authorization header.
  [
    'auth as a number',
    { ws: { auth: 1234 }, says: 'ws.auth must be a string', secret: '1234', ws8: 'throws' },
  ],
  [
    'auth as an object',
    { ws: { auth: { user: SECRET } }, says: 'ws.auth must be a string', secret: SECRET, ws8: 'throws' },
  ],
  // Node: validateAbortSignal, validateInteger, validateBoolean, parseUniqueHeadersOption.
  [
    'signal that is not an AbortSignal',
    { ws: { signal: 'stop' }, says: 'ws.signal must be an AbortSignal', ws8: 'throws' },
  ],
  ['maxHeaderSize as a string', { ws: { maxHeaderSize: '16384' }, says: 'ws.maxHeaderSize', ws8: 'throws' }],
  ['a negative maxHeaderSize', { ws: { maxHeaderSize: -1 }, says: 'ws.maxHeaderSize', ws8: 'throws' }],
  ['a fractional maxHeaderSize', { ws: { maxHeaderSize: 1.5 }, says: 'ws.maxHeaderSize', ws8: 'throws' }],
  [
    'insecureHTTPParser as a string',
    { ws: { insecureHTTPParser: 'yes' }, says: 'ws.insecureHTTPParser', ws8: 'throws' },
  ],
  [
    'joinDuplicateHeaders as a number',
    { ws: { joinDuplicateHeaders: 1 }, says: 'ws.joinDuplicateHeaders', ws8: 'throws' },
  ],
  [
    'uniqueHeaders with a number',
    { ws: { uniqueHeaders: ['x-a', 5] }, says: 'ws.uniqueHeaders[1]', ws8: 'throws' },
  ],
  // ws: opts.finishRequest(req, websocket) is called at construction, once the request exists. (The
  // real ws is tried with an agent that never connects: the request ws leaves behind would otherwise
  // fail later with an 'error' nobody can listen to.)
  [
    'finishRequest that is not a function',
    {
      ws: { finishRequest: 'end' },
      says: 'ws.finishRequest',
      probe: { agent: { addRequest() {} } },
      ws8: 'throws',
    },
  ],
  // ws: used instead of options.protocols when those are empty, so never validated by us; and with
  // options.protocols set it is silently ignored. An invalid one makes ws throw.
  [
    'ws.protocols (use options.protocols)',
    { ws: { protocols: [`Bearer ${SECRET}`] }, says: 'ws.protocols', secret: SECRET, ws8: 'throws' },
  ],
  [
    'ws.protocols even when valid',
    { ws: { protocols: ['chat'] }, says: 'use options.protocols', ws8: 'protocols' },
  ],
  // ws: Sender calls generateMask for every frame, our Close included: a non-function throws there
  // (inside a zlib callback with permessage-deflate: an uncaught exception).
  [
    'generateMask that is not a function',
    { ws: { generateMask: true }, says: 'ws.generateMask', ws8: 'crashes-at-first-frame' },
  ],
  // The handshake's own headers: ws replaces them silently, or fails the handshake a server accepts.
  [
    'a Sec-WebSocket-Key header',
    {
      ws: { headers: { 'Sec-WebSocket-Key': SECRET } },
      says: 'ws.headers["Sec-WebSocket-Key"] is not allowed',
      secret: SECRET,
      ws8: 'handshake-header',
    },
  ],
  [
    'a sec-websocket-version header',
    {
      ws: { headers: { 'sec-websocket-version': '8' } },
      says: 'ws.protocolVersion',
      ws8: 'handshake-header',
    },
  ],
  [
    'a Connection header',
    {
      ws: { headers: { Connection: 'keep-alive' } },
      says: 'ws.headers["Connection"] is not allowed',
      ws8: 'handshake-header',
    },
  ],
  [
    'an Upgrade header',
    {
      ws: { headers: { UPGRADE: 'h2c' } },
      says: 'ws.headers["UPGRADE"] is not allowed',
      ws8: 'handshake-header',
    },
  ],
  [
    'a Sec-WebSocket-Protocol header',
    {
      ws: { headers: { 'Sec-WebSocket-Protocol': `access_token, ${SECRET}` } },
      says: 'use options.protocols',
      secret: SECRET,
      ws8: 'handshake-header',
    },
  ],
  [
    'a Sec-WebSocket-Extensions header',
    {
      ws: { headers: { 'Sec-WebSocket-Extensions': 'x-foo' } },
      says: 'use ws.perMessageDeflate',
      ws8: 'handshake-header',
    },
  ],
  // Shapes ws mangles without a word: an array or a string is spread into headers named 0, 1, …; a
  // Map or a Headers into no headers at all (an Authorization header silently never sent).
  [
    'headers as an array (raw headers)',
    {
      ws: { headers: ['Authorization', `Bearer ${SECRET}`] },
      says: 'ws.headers must be an object',
      secret: SECRET,
      ws8: 'handshake-header',
    },
  ],
  [
    'headers as a Map',
    {
      ws: { headers: new Map([['Authorization', SECRET]]) },
      says: 'got a Map',
      secret: SECRET,
      ws8: 'handshake-header',
    },
  ],
  [
    'headers as a WHATWG Headers',
    {
      ws: { headers: new Headers({ Authorization: SECRET }) },
      says: 'got a Headers',
      secret: SECRET,
      ws8: 'handshake-header',
    },
  ],
  // Types ws documents, not what String() makes of anything else.
  [
    'a boolean header value',
    {
      ws: { headers: { 'X-Flag': true } },
      says: 'ws.headers["X-Flag"] must be a string, a number or an array',
      ws8: 'handshake-header',
    },
  ],
  [
    'an object header value',
    {
      ws: { headers: { 'X-Obj': { token: SECRET } } },
      says: 'ws.headers["X-Obj"] must be',
      secret: SECRET,
      ws8: 'handshake-header',
    },
  ],
  [
    'a null header value',
    { ws: { headers: { 'X-Null': null } }, says: 'ws.headers["X-Null"] must be', ws8: 'handshake-header' },
  ],
  [
    'a header array with an object',
    {
      ws: { headers: { 'X-A': ['a', { token: SECRET }] } },
      says: 'ws.headers["X-A"][1] must be',
      secret: SECRET,
      ws8: 'handshake-header',
    },
  ],
  [
    'perMessageDeflate as a string',
    {
      ws: { perMessageDeflate: 'yes' },
      says: 'ws.perMessageDeflate must be a boolean or an object',
      ws8: 'handshake-header',
    },
  ],
  [
    'perMessageDeflate: null',
    { ws: { perMessageDeflate: null }, says: 'ws.perMessageDeflate must be', ws8: 'handshake-header' },
  ],
  [
    'origin as an object',
    {
      ws: { origin: { href: SECRET } },
      says: 'ws.origin must be a string',
      secret: SECRET,
      ws8: 'handshake-header',
    },
  ],
];

describe('createConnection: ws options that ws or Node would refuse', () => {
  it.each(refused)('refuses %s with ERR_INVALID_OPTIONS, naming the option', (_label, c) => {
    const url = c.url ?? URL_OK;
    const error = refusal(url, { ws: c.ws });
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error.code).toBe('ERR_INVALID_OPTIONS');
    expect(error.message).toContain(c.says);
    expect(error.message).toMatch(/\bws\.|options\.protocols/);
    if (c.secret !== undefined) {
      for (const text of renderings(error)) expect(text.includes(c.secret), text).toBe(false);
    }
  });

  it.each(refused.filter(([, c]) => c.ws8 === 'throws'))(
    '%s: the real ws throws synchronously on it',
    (_label, c) => {
      expect(wsThrows(probeOf(c.url ?? URL_OK), { ...c.ws, ...c.probe })).toBeInstanceOf(Error);
    },
  );

  it('refuses before anything exists: the thrown error is the only trace', () => {
    const audit: unknown[] = [];
    expect(() =>
      createConnection(URL_OK, { audit: (r) => audit.push(r), ws: { headers: { 'X-Token': 'a\nb' } } }),
    ).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTIONS' }));
    expect(audit).toEqual([]);
  });

  it('refuses an invalid URL before the ws options (ERR_INVALID_URL wins)', () => {
    expect(() => createConnection('ftp://x/', { ws: { protocolVersion: 7 } })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_URL' }),
    );
  });
});

describe('createConnection: protocols are never quoted', () => {
  it.each([
    [
      'a bearer token with a space',
      ['Bearer SECRETabc123.def'],
      'protocols[0] is not a valid subprotocol name',
    ],
    ['a single protocol string', 'Bearer SECRETabc123', 'protocols is not a valid subprotocol name'],
    [
      'an access token that is not a token',
      ['access_token', 'SECRETabc123/def='],
      "protocols[1] is not a valid subprotocol name (an RFC 7230 token): it contains a separator ('/' at index 12)",
    ],
    [
      'a JWT listed twice',
      ['SECRETabc123.eyJ0', 'chat', 'SECRETabc123.eyJ0'],
      'protocols[2] repeats protocols[0]',
    ],
    [
      'a token with a line break',
      ['access_token', 'SECRETabc123\n'],
      'a control character (\\n at index 12)',
    ],
    ['a non-string', ['SECRETabc123', 5], 'protocols[1] must be a string, got number'],
    ['an empty one', ['SECRETabc123', ''], 'protocols[1] is empty'],
  ])('%s', (_label, protocols, says) => {
    const error = refusal(URL_OK, { protocols });
    expect(error.code).toBe('ERR_INVALID_OPTIONS');
    expect(error.message).toContain(says);
    for (const text of renderings(error)) expect(text.includes(SECRET), text).toBe(false);
  });
});

/** Valid options that ws takes: still accepted, and handed on unchanged. */
const accepted: Array<[string, Record<string, unknown>, string?]> = [
  ['headers with a number', { headers: { 'X-Count': 42 } }],
  ['headers with an array of strings', { headers: { 'X-Multi': ['a', 'b'], Cookie: ['a=1', 'b=2'] } }],
  ['headers with an empty array and an empty string', { headers: { 'X-None': [], 'X-Empty': '' } }],
  ['a header value with a tab and Latin-1', { headers: { 'X-Name': 'caf\u00e9\tcr\u00e8me \u00ff' } }],
  ['every token character in a header name', { headers: { "!#$%&'*+-.^_`|~09azAZ": 'x' } }],
  [
    'the handshake-neutral headers',
    { headers: { Host: 'example.com', Origin: 'https://example.com', 'User-Agent': 'x/1' } },
  ],
  ['headers with a null prototype', { headers: Object.assign(Object.create(null), { 'X-A': 'b' }) }],
  ['perMessageDeflate false', { perMessageDeflate: false }],
  [
    'perMessageDeflate as an object',
    {
      perMessageDeflate: {
        clientMaxWindowBits: 10,
        serverMaxWindowBits: 12,
        serverNoContextTakeover: true,
        threshold: 0,
      },
    },
  ],
  ['perMessageDeflate with clientMaxWindowBits: true', { perMessageDeflate: { clientMaxWindowBits: true } }],
  ['protocolVersion 8', { protocolVersion: 8 }],
  ['protocolVersion 13', { protocolVersion: 13 }],
  ['an origin', { origin: 'https://example.com' }],
  ['an empty origin (ws ignores it)', { origin: '' }],
  ['agent false', { agent: false }],
  ['an http.Agent for ws:', { agent: new http.Agent() }],
  ['an https.Agent for wss:', { agent: new https.Agent() }, 'wss://127.0.0.1:9/'],
  ['an Agent-like object without a protocol', { agent: { addRequest() {} } }],
  ['auth as a string', { auth: 'user:pw' }],
  [
    'a non-string auth that Node never uses (an Authorization header is set)',
    { auth: 5, headers: { authorization: 'Bearer x' } },
  ],
  ['a non-string auth that ws replaces (the URL has credentials)', { auth: 5 }, 'ws://u:p@127.0.0.1:9/'],
  ['an AbortSignal', { signal: new AbortController().signal }],
  ['maxHeaderSize 0 and insecureHTTPParser false', { maxHeaderSize: 0, insecureHTTPParser: false }],
  ['uniqueHeaders', { uniqueHeaders: ['x-a'], joinDuplicateHeaders: true }],
  [
    'functions ws calls',
    { finishRequest: (req: http.ClientRequest) => req.end(), generateMask: () => {}, lookup: () => {} },
  ],
  ['createConnection', { createConnection: () => {} }],
  ['TLS options', { rejectUnauthorized: false, servername: 'example.com' }, 'wss://127.0.0.1:9/'],
  [
    'size limits and redirects',
    { maxPayload: 1024, followRedirects: true, maxRedirects: 3, skipUTF8Validation: true },
  ],
];

describe('createConnection: ws options that ws takes are still accepted', () => {
  it.each(accepted)('accepts %s', (_label, ws, url = URL_OK) => {
    expect(createConnection(url, { ws: ws as ClientOptions }).state).toBe('idle');
    expect(resolveOptions(url, { ws }).ws).toEqual(ws);
  });

  it.each(
    accepted.filter(([label]) => !label.startsWith('createConnection') && !label.startsWith('functions')),
  )('%s: the real ws takes it too', (_label, ws, url = URL_OK) => {
    expect(wsThrows(probeOf(url), ws)).toBeNull();
  });

  it('keeps a copy of the checked headers: later changes to the caller’s object are not sent', () => {
    const headers: Record<string, string | string[]> = { 'X-A': '1', 'X-B': ['a'] };
    const { ws } = resolveOptions(URL_OK, { ws: { headers } });
    headers['X-A'] = 'a\nb';
    (headers['X-B'] as string[]).push('b\n');
    expect(ws.headers).toEqual({ 'X-A': '1', 'X-B': ['a'] });
  });
});

describe('header rules: exactly Node’s', () => {
  // Node's own validators (the ones setHeader runs) against ours, character by character.
  const codes = [...Array.from({ length: 0x180 }, (_, i) => i), 0x2028, 0x20ac, 0xd800, 0xfeff, 0xffff];

  it('a header value is refused iff Node refuses it', () => {
    for (const code of codes) {
      const value = `a${String.fromCharCode(code)}b`;
      const node = nodeRefuses(() => validateHeaderValue('X-A', value));
      const ours = refuses(() => resolveOptions(URL_OK, { ws: { headers: { 'X-A': value } } }));
      expect(ours, `U+${code.toString(16)}`).toBe(node);
    }
  });

  it('a header name is refused iff Node refuses it', () => {
    for (const code of codes) {
      const name = `X${String.fromCharCode(code)}A`;
      const node = nodeRefuses(() => validateHeaderName(name));
      const ours = refuses(() => resolveOptions(URL_OK, { ws: { headers: { [name]: 'v' } } }));
      expect(ours, `U+${code.toString(16)}`).toBe(node);
    }
  });

  it('a subprotocol is refused iff ws refuses it', () => {
    for (const code of codes) {
      const protocol = `p${String.fromCharCode(code)}q`;
      const ws = wsThrows(WS_PROBE, {}, [protocol]) !== null;
      const ours = refuses(() => resolveOptions(URL_OK, { protocols: [protocol] }));
      expect(ours, `U+${code.toString(16)}`).toBe(ws);
    }
  });
});

function refuses(fn: () => unknown): boolean {
  try {
    fn();
    return false;
  } catch (error) {
    expect((error as ConnectionError).code).toBe('ERR_INVALID_OPTIONS');
    return true;
  }
}

function nodeRefuses(fn: () => void): boolean {
  try {
    fn();
    return false;
  } catch {
    return true;
  }
}

describe('valid ws options reach a real server', () => {
  let echo: EchoServer;
  beforeAll(async () => {
    echo = await startEchoServer();
  });
  afterAll(async () => {
    await echo.close();
  });

  it('numbers, arrays and Latin-1 in headers, protocolVersion 13, perMessageDeflate as an object', async () => {
    const seen = new Promise<http.IncomingMessage>((resolve) =>
      echo.server.once('connection', (_s, r) => resolve(r)),
    );
    const conn = createConnection(echo.url, {
      timeouts: { connect: 1000, write: 500, read: 500 },
      ws: {
        headers: { 'X-Count': 42, 'X-Multi': ['a', 'b'], 'X-Name': 'caf\u00e9' } as never,
        protocolVersion: 13,
        perMessageDeflate: { clientMaxWindowBits: 10 },
        origin: 'https://example.com',
      },
    });
    try {
      await conn.open();
      const request = await seen;
      expect(request.headers['x-count']).toBe('42');
      expect(request.headers['x-multi']).toBe('a, b');
      expect(request.headers['x-name']).toBe('caf\u00e9');
      expect(request.headers.origin).toBe('https://example.com');
      expect(request.headers['sec-websocket-extensions']).toBe(
        'permessage-deflate; client_max_window_bits=10',
      );
    } finally {
      await conn.close();
    }
  });
});
