/**
 * No secret reaches a record, an error, a CloseInfo or an inspection event: URL userinfo, query values
 * and the values of Authorization, Cookie and headers named in `redact.headers`. Everything reachable
 * is serialized (JSON.stringify and util.inspect) and searched, across success and failure paths.
 */
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { inspect } from 'node:util';
import { createInspector } from '@statelyai/inspect';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import type { InspectionEvent } from 'xstate';
import { jsonlAudit } from '../../src/audit/jsonl-audit.js';
import { createConnection } from '../../src/connection.js';
import type { ConnectionOptions } from '../../src/options.js';
import { redactHeaders, redactUrl } from '../../src/redact.js';
import { refusedUrl, startPeer } from '../../src/testing/index.js';
import { bounded } from './scenarios.js';

const SECRET_PATH = '/path?apikey=SECRET&token=T2';
const SAFE_PATH = '/path?apikey=***&token=***';
const HEADERS = {
  Authorization: 'Bearer AUTHSECRET',
  Cookie: 'sid=COOKIESECRET',
  'X-Api-Key': 'HEADERSECRET',
};
/** `Basic` credentials ws derives from `user:pw`. */
const BASIC = Buffer.from('user:pw').toString('base64');
const ISO_TIME = /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z/g;

/** The URL of a server on 127.0.0.1 with credentials and secret query values added. */
const secretUrl = (url: string) => {
  const u = new URL(url);
  return `ws://user:pw@${u.host}${SECRET_PATH}`;
};

let server: WebSocketServer;
let requests: IncomingMessage[];
beforeAll(async () => {
  requests = [];
  server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  server.on('connection', (socket, request) => {
    requests.push(request);
    socket.on('message', (data) => socket.send(data));
  });
  await bounded(new Promise((resolve) => server.once('listening', resolve)), 1000, 'listening');
});
afterAll(async () => {
  for (const client of server.clients) client.terminate();
  await bounded(new Promise((resolve) => server.close(resolve)), 1000, 'server close');
});

/** Runs one connection to its end and returns every serialization of everything it exposed. */
async function exposed(url: string, drive: 'open-close' | 'open', options: ConnectionOptions = {}) {
  const seen: unknown[] = [];
  const raw: InspectionEvent[] = [];
  const converted: unknown[] = [];
  const inspector = createInspector({ send: (event) => converted.push(event), start() {}, stop() {} });
  const jsonl: Buffer[] = [];
  const stream = new PassThrough();
  stream.on('data', (chunk: Buffer) => jsonl.push(chunk));
  const audit = jsonlAudit(stream);
  const conn = createConnection(url, {
    timeouts: { connect: 200, write: 100, read: 100 },
    ws: { headers: HEADERS },
    redact: { headers: ['x-api-key'] },
    audit,
    inspect: (event) => {
      raw.push(event);
      inspector.inspect.next?.(event);
    },
    ...options,
  });
  conn.on('error', (error) => seen.push(error));
  conn.on('close', (info) => seen.push(info));
  conn.on('state', (record) => seen.push(record));
  const opened = conn.open().catch((error: unknown) => seen.push(error));
  if (drive === 'open-close') {
    await bounded(opened, 1000, 'open');
    conn.send('hello');
    void conn.close(4000, 'bye');
  }
  const info = await bounded(conn.closed, 2000, 'closed');
  await opened;
  await audit.close();
  await new Promise((resolve) => setTimeout(resolve, 5)); // the inspector converts on a timer
  seen.push(info, info.error, conn.trail, conn.actor.getSnapshot(), conn);
  // Actors appear in every inspection event: inspect each once, in depth.
  const actors = new Set(
    raw.flatMap((event) => [event.actorRef, 'sourceRef' in event ? event.sourceRef : null]),
  );
  const texts = [
    ...seen.map((value) => inspect(value, { depth: 5, showHidden: value instanceof Error })),
    ...seen.map((value) => JSON.stringify(value)),
    ...[...actors].filter(Boolean).map((actor) => inspect(actor, { depth: 5 })),
    ...raw.map((event) => inspect({ ...event, actorRef: null, sourceRef: null }, { depth: 5 })),
    ...raw.map((event) => JSON.stringify(event)),
    ...converted.map((event) => JSON.stringify(event)),
    String(info.error),
    info.error?.stack ?? '',
    Buffer.concat(jsonl).toString(),
  ];
  return { info, text: texts.join('\n').replace(ISO_TIME, '<time>'), raw, converted };
}

function expectNoSecret(text: string) {
  for (const secret of ['SECRET', 'T2', 'pw', BASIC]) {
    expect(text.includes(secret), `${secret} leaked`).toBe(false);
  }
}

describe('redaction', () => {
  it('a clean connection: the server gets the real URL and headers, nothing else does', async () => {
    const port = (server.address() as AddressInfo).port;
    const { info, text, raw, converted } = await exposed(secretUrl(`ws://127.0.0.1:${port}`), 'open-close');
    expect(info).toMatchObject({ code: 4000, wasClean: true });
    const request = requests.at(-1);
    expect(request?.url).toBe(SECRET_PATH);
    expect(request?.headers).toMatchObject({
      'x-api-key': 'HEADERSECRET',
      authorization: 'Bearer AUTHSECRET',
    });
    expect(raw.length).toBeGreaterThan(10);
    expect(converted.length).toBeGreaterThan(10);
    expectNoSecret(text);
  }, 5000);

  it('failures: HTTP 401, refused, DNS, connect deadline, protocol error — messages show the redacted URL', async () => {
    const cleanup: Array<() => Promise<void>> = [];
    try {
      const http401 = await startPeer({ mode: 'http-error', status: 401 });
      const silent = await startPeer({ mode: 'no-upgrade' });
      const invalid = await startPeer({ mode: 'invalid-frame' });
      cleanup.push(http401.close, silent.close, invalid.close);
      const lookup = (_host: string, _options: unknown, callback: (error: Error) => void) =>
        callback(Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' }));

      const cases = [
        { url: secretUrl(http401.url), code: 'ERR_CONNECT_FAILED', options: {} },
        { url: secretUrl(await refusedUrl()), code: 'ERR_CONNECT_FAILED', options: {} },
        { url: `ws://user:pw@secret.invalid${SECRET_PATH}`, code: 'ERR_CONNECT_FAILED', options: { lookup } },
        { url: secretUrl(silent.url), code: 'ERR_CONNECT_TIMEOUT', options: {} },
        { url: secretUrl(invalid.url), code: 'ERR_PROTOCOL', options: {} },
      ];
      for (const { url, code, options } of cases) {
        const ws = { headers: HEADERS, ...options } as unknown as ConnectionOptions['ws'];
        const { info, text } = await exposed(url, 'open', { ws });
        expect(info.error?.code, url).toBe(code);
        if (code === 'ERR_CONNECT_FAILED') expect(info.error?.message).toContain(`***:***@`);
        expectNoSecret(text);
      }
      expect((await exposed(secretUrl(http401.url), 'open')).info.error?.message).toContain(
        `ws://***:***@127.0.0.1:${http401.port}${SAFE_PATH}: the server answered the upgrade with HTTP 401`,
      );
    } finally {
      for (const close of cleanup) await close();
    }
  }, 10_000);

  it('keeps the query values redact.keepQuery lists visible, and only those', async () => {
    const peer = await startPeer({ mode: 'http-error', status: 403 });
    try {
      const url = `${peer.url}/feed?page=2&apikey=SECRET`;
      const { info, text } = await exposed(url, 'open', { redact: { keepQuery: ['page'] } });
      expect(info.error?.message).toContain(`/feed?page=2&apikey=***`);
      expectNoSecret(text);
    } finally {
      await peer.close();
    }
  }, 5000);

  it('refuses a malformed redact option before anything else', () => {
    const bad = [{ keepQuery: 'page' }, { headers: [1] }, { hide: [] }, 'all'];
    for (const redact of bad) {
      expect(() => createConnection('ws://127.0.0.1:9', { redact } as never)).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_OPTIONS', message: expect.stringMatching(/redact/) }),
      );
    }
  });
});

describe('redactUrl / redactHeaders', () => {
  it('hides userinfo and every query value but the kept ones', () => {
    const url = new URL(`ws://user:pw@host:1${SECRET_PATH}&page=3`);
    expect(redactUrl(url)).toBe(`ws://***:***@host:1${SAFE_PATH}&page=***`);
    expect(redactUrl(url, { keepQuery: ['page', 'absent'] })).toBe(`ws://***:***@host:1${SAFE_PATH}&page=3`);
  });

  it('hides Authorization, Cookie, Proxy-Authorization and the named headers, case-insensitively', () => {
    const headers = { ...HEADERS, 'proxy-authorization': 'p', 'x-trace': 'keep', accept: ['a', 'b'] };
    expect(redactHeaders(headers, { headers: ['X-API-KEY'] })).toEqual({
      Authorization: '***',
      Cookie: '***',
      'X-Api-Key': '***',
      'proxy-authorization': '***',
      'x-trace': 'keep',
      accept: ['a', 'b'],
    });
    expect(redactHeaders(headers)['X-Api-Key']).toBe('HEADERSECRET');
  });
});
