/**
 * `adopt` as a caller uses it (src/server/adopt.ts), against real ws servers and clients on 127.0.0.1:
 * how an adopted connection begins, what it refuses (before anything happens), data both ways, who
 * initiated, keepalive, audit and trail, for each way a WebSocketServer is made.
 */
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { type WebSocketServer } from 'ws';
import type { AuditRecord } from '../../src/audit/audit.js';
import { ConnectionError, createConnection } from '../../src/index.js';
import { adopt } from '../../src/server/index.js';
import { waitFor } from '../helpers.js';
import { connectRaw, type RawClient } from './raw-client.js';
import { SERVER_KINDS, startServer, type TestServer } from './servers.js';

const servers: TestServer[] = [];
const cleanups: Array<() => void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) cleanup();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function server(options: Parameters<typeof startServer>[0] = {}): Promise<TestServer> {
  const s = await startServer(options);
  servers.push(s);
  return s;
}

function client(url: string, protocols?: string[]): Promise<WebSocket> {
  const ws = new WebSocket(url, protocols);
  cleanups.push(() => {
    ws.on('error', () => {});
    ws.terminate();
  });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

async function raw(url: string, options: Parameters<typeof connectRaw>[1] = {}): Promise<RawClient> {
  const c = await connectRaw(url, options);
  cleanups.push(() => c.destroy());
  return c;
}

/** The ws socket of the next connection, not adopted. */
function nextSocket(wss: WebSocketServer): Promise<WebSocket> {
  return once(wss, 'connection').then(([ws]) => ws as WebSocket);
}

function expectConnectionError(fn: () => unknown, code: string): ConnectionError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(ConnectionError);
  expect((caught as ConnectionError).code).toBe(code);
  return caught as ConnectionError;
}

describe('adopt: how it begins', () => {
  for (const kind of SERVER_KINDS) {
    it(`{ ${kind} }: returns an open connection whose trail is idle, then idle → open on api.adopt`, async () => {
      const records: AuditRecord[] = [];
      const s = await server({ kind, adopt: { audit: (r) => records.push(r) } });
      const ws = await client(s.url, ['chat', 'superchat']);
      const conn = await s.connection(0);
      expect(conn.state).toBe('open');
      expect(conn.trail.map(({ from, to, event, detail }) => ({ from, to, event, detail }))).toEqual([
        { from: null, to: 'idle', event: 'xstate.init', detail: undefined },
        // RFC 6455 §4.2.2: the server picked the first subprotocol offered (ws's default).
        { from: 'idle', to: 'open', event: 'api.adopt', detail: { protocol: 'chat' } },
      ]);
      expect(records).toEqual(conn.trail);
      expect(ws.protocol).toBe('chat');
    }, 10_000);
  }

  it('trail: false keeps nothing; the audit still sees every record', async () => {
    const records: AuditRecord[] = [];
    const s = await server({ adopt: { trail: false, audit: (r) => records.push(r) } });
    await client(s.url);
    const conn = await s.connection(0);
    expect(conn.trail).toEqual([]);
    expect(records.map((r) => r.to)).toEqual(['idle', 'open']);
  }, 10_000);

  it('open() on an adopted connection rejects ERR_INVALID_STATE: it is open already', async () => {
    const s = await server();
    await client(s.url);
    const conn = await s.connection(0);
    await expect(conn.open()).rejects.toMatchObject({ code: 'ERR_INVALID_STATE' });
    expect(conn.state).toBe('open');
  }, 10_000);
});

describe('adopt: what it refuses, before anything happens', () => {
  it('a socket adopted already: ERR_INVALID_STATE, and the first connection goes on', async () => {
    const s = await server({ adopt: false });
    const socket = nextSocket(s.wss);
    const ws = await client(s.url);
    const serverSide = await socket;
    const conn = adopt(serverSide, { keepalive: false });
    expectConnectionError(() => adopt(serverSide), 'ERR_INVALID_STATE');
    const got = new Promise((resolve) => conn.on('message', resolve));
    ws.send('still here');
    expect(await got).toBe('still here');
    expect(conn.trail.map((r) => r.to)).toEqual(['idle', 'open']);
  }, 10_000);

  it('a socket that is closing or closed: ERR_INVALID_STATE, no listener added', async () => {
    const s = await server({ adopt: false });
    const socket = nextSocket(s.wss);
    await client(s.url);
    const serverSide = await socket;
    serverSide.close(1000, '');
    const listeners = serverSide.eventNames().map((e) => [e, serverSide.listenerCount(e)]);
    const error = expectConnectionError(() => adopt(serverSide), 'ERR_INVALID_STATE');
    expect(error.message).toMatch(/closing/);
    expect(serverSide.eventNames().map((e) => [e, serverSide.listenerCount(e)])).toEqual(listeners);
    await once(serverSide, 'close');
    expect(expectConnectionError(() => adopt(serverSide), 'ERR_INVALID_STATE').message).toMatch(/closed/);
  }, 10_000);

  it('what is not a server-side ws socket: ERR_INVALID_OPTIONS', async () => {
    for (const value of [undefined, null, 42, 'ws://x', {}, new Map()]) {
      expectConnectionError(() => adopt(value as unknown as WebSocket), 'ERR_INVALID_OPTIONS');
    }
    const s = await server();
    const clientSide = await client(s.url);
    const error = expectConnectionError(() => adopt(clientSide), 'ERR_INVALID_OPTIONS');
    expect(error.message).toMatch(/createConnection/);
  }, 10_000);

  it('bad options: ERR_INVALID_OPTIONS, and the socket can still be adopted', async () => {
    const s = await server({ adopt: false });
    const socket = nextSocket(s.wss);
    await client(s.url);
    const serverSide = await socket;
    const bad: unknown[] = [
      'fast',
      [],
      { protocols: ['x'] },
      { ws: {} },
      { timeouts: { connect: 1000 } },
      { timeouts: { write: 0 } },
      { timeouts: { read: 1.5 } },
      { timeouts: { read: 2 ** 31 } },
      { keepalive: { interval: -1 } },
      { keepalive: { message: () => 'ping' } },
      { keepalive: true },
      { audit: 'yes' },
      { trail: 'no' },
      { inspect: 42 },
    ];
    for (const options of bad) {
      expectConnectionError(() => adopt(serverSide, options as never), 'ERR_INVALID_OPTIONS');
    }
    const conn = adopt(serverSide, { timeouts: { write: 1000, read: 1000 } });
    expect(conn.state).toBe('open');
  }, 10_000);
});

describe('adopt: data and closes, as a client connection', () => {
  it('text arrives as a string, binary as a Uint8Array; send goes both kinds; ws clients get them as sent', async () => {
    const s = await server({ echo: true, adopt: { keepalive: false } });
    const ws = await client(s.url);
    const echoed: Array<{ data: string; isBinary: boolean }> = [];
    ws.on('message', (data, isBinary) => echoed.push({ data: String(data), isBinary }));
    const conn = await s.connection(0);
    const got: Array<string | Uint8Array> = [];
    conn.on('message', (data) => got.push(data));
    ws.send('text');
    ws.send(Buffer.from('bin'));
    await waitFor(() => echoed.length === 2, 2000, 'echoes');
    expect(typeof got[0]).toBe('string');
    expect(got[1]).toBeInstanceOf(Uint8Array);
    expect(echoed).toEqual([
      { data: 'text', isBinary: false },
      { data: 'bin', isBinary: true },
    ]);
  }, 10_000);

  it('the server closes: initiator local; the ws client sees our code with wasClean', async () => {
    const s = await server({ adopt: { keepalive: false } });
    const ws = await client(s.url);
    const seen = new Promise<{ code: number; reason: string; wasClean: boolean }>((resolve) =>
      ws.addEventListener('close', (e) => resolve({ code: e.code, reason: e.reason, wasClean: e.wasClean })),
    );
    const conn = await s.connection(0);
    const info = await conn.close(4000, 'server says bye');
    // The ws client echoes our code (RFC 6455 §5.5.1).
    expect(info).toEqual({ code: 4000, reason: 'server says bye', wasClean: true, initiator: 'local' });
    expect(await seen).toEqual({ code: 4000, reason: 'server says bye', wasClean: true });
  }, 10_000);

  it('our createConnection client closes first: initiator remote on the server, local on the client, both clean', async () => {
    const s = await server({ adopt: { keepalive: false } });
    const ours = createConnection(s.url, { keepalive: false });
    await ours.open();
    const conn = await s.connection(0);
    const [clientInfo, serverInfo] = await Promise.all([ours.close(1000, 'client done'), conn.closed]);
    expect(clientInfo).toEqual({ code: 1000, reason: 'client done', wasClean: true, initiator: 'local' });
    expect(serverInfo).toEqual({ code: 1000, reason: 'client done', wasClean: true, initiator: 'remote' });
    expect(conn.trail.map((r) => `${r.to}:${r.event}`)).toEqual([
      'idle:xstate.init',
      'open:api.adopt',
      'closing-sent:ws.close-received',
      'draining:ws.flushed',
      'closed:ws.closed',
    ]);
  }, 10_000);

  it('a client that vanishes (TCP reset): 1006, ERR_SOCKET, initiator remote, one error', async () => {
    const s = await server({ adopt: { keepalive: false } });
    const c = await raw(s.url, { mode: 'manual' });
    const conn = await s.connection(0);
    const errors: string[] = [];
    conn.on('error', (e) => errors.push(e.code));
    c.reset();
    const info = await conn.closed;
    expect(info).toMatchObject({ code: 1006, wasClean: false, initiator: 'remote' });
    expect(info.error?.code).toBe('ERR_SOCKET');
    expect(errors).toEqual(['ERR_SOCKET']);
  }, 10_000);
});

describe('adopt: keepalive', () => {
  it('pings a quiet client; a ws client answering pong stays open, and ping() measures the round trip', async () => {
    const s = await server({ adopt: { keepalive: { interval: 50, timeout: 500 } } });
    const ws = await client(s.url);
    let pings = 0;
    ws.on('ping', () => pings++);
    const conn = await s.connection(0);
    await waitFor(() => pings >= 3, 2000, 'three keepalive pings');
    expect(conn.state).toBe('open');
    const ms = await conn.ping();
    expect(ms).toBeGreaterThanOrEqual(0);
    expect(ms).toBeLessThan(500);
  }, 10_000);

  it('a ws client with autoPong: false is failed at interval + timeout: ERR_KEEPALIVE_TIMEOUT, Close 1011', async () => {
    const s = await server({ adopt: { keepalive: { interval: 100, timeout: 150 } } });
    const ws = new WebSocket(s.url, { autoPong: false });
    cleanups.push(() => ws.terminate());
    const seen = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
    await once(ws, 'open');
    const conn = await s.connection(0);
    const t0 = performance.now();
    const info = await conn.closed;
    const elapsed = performance.now() - t0;
    expect(info.error?.code).toBe('ERR_KEEPALIVE_TIMEOUT');
    expect(info).toMatchObject({ code: 1006, wasClean: false, initiator: 'local' });
    expect(elapsed).toBeGreaterThanOrEqual(250 - 5);
    expect(elapsed).toBeLessThan(250 + 250);
    // RFC 6455 §7.1.7: Close 1011 as a best effort before the socket goes.
    expect(await seen).toBe(1011);
  }, 10_000);
});
