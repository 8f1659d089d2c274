/**
 * The ws server transport (src/transports/ws-server.ts) against real sockets: what the wire shows
 * (unmasked frames, the server ending TCP first, RFC 6455 §5.1, §7.1.1), what it reports (our Close
 * written, over TLS and behind the compressor too), what it leaves behind (only its own listeners go),
 * and the ws internals it and the shutdown rely on, pinned so that a ws upgrade fails here, loudly.
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { type ServerOptions, WebSocketServer } from 'ws';
import type { Connection } from '../../src/connection.js';
import { adopt } from '../../src/server/index.js';
import { interceptUpgrades, restoreUpgrades } from '../../src/server/refuse-upgrades.js';
import { ownHttpServer } from '../../src/server/shutdown.js';
import { setCloseTimeout, wsCloseTimeout } from '../../src/transports/ws-server.js';
import { expectNoLeaks, liveHandles, waitFor } from '../helpers.js';
import { connectRaw, type RawClient } from '../server/raw-client.js';
import { startServer, type TestServer } from '../server/servers.js';
import { startTlsWsServer, type TlsWsServer } from '../support/tls.js';

const servers: Array<TestServer | TlsWsServer> = [];
const raws: RawClient[] = [];
const clients: WebSocket[] = [];
afterEach(async () => {
  for (const raw of raws.splice(0)) raw.destroy();
  for (const ws of clients.splice(0)) {
    ws.on('error', () => {});
    ws.terminate();
  }
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function server(options: Parameters<typeof startServer>[0] = {}): Promise<TestServer> {
  const s = await startServer(options);
  servers.push(s);
  return s;
}

async function raw(url: string, options: Parameters<typeof connectRaw>[1] = {}): Promise<RawClient> {
  const client = await connectRaw(url, options);
  raws.push(client);
  return client;
}

function wsClient(url: string, options: WebSocket.ClientOptions = {}): Promise<WebSocket> {
  const ws = new WebSocket(url, options);
  clients.push(ws);
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

describe('the wire (RFC 6455 §5.1, §7.1.1)', () => {
  it('sends every frame unmasked: data, ping and Close', async () => {
    const s = await server({ adopt: { keepalive: { interval: 30, timeout: 1000 } }, echo: false });
    const client = await raw(s.url, { mode: 'polite' });
    const conn = await s.connection(0);
    conn.send('text');
    conn.send(new Uint8Array([1, 2, 3]));
    await client.until(() => client.frames.some((f) => f.type === 'ping'), 2000, 'a keepalive ping');
    const info = await conn.close(4001, 'done');
    expect(client.frames.map((f) => f.type)).toEqual(
      expect.arrayContaining(['text', 'binary', 'ping', 'close']),
    );
    expect(client.allUnmasked).toBe(true);
    expect(client.closeFrame).toEqual({ code: 4001, reason: 'done' });
    expect(info).toMatchObject({ code: 4001, reason: 'done', wasClean: true, initiator: 'local' });
  }, 10_000);

  it('ends TCP first after a close it started: the FIN comes while the client still holds its side', async () => {
    const s = await server({ adopt: { keepalive: false, timeouts: { write: 1000, read: 2000 } } });
    const client = await raw(s.url, { mode: 'manual' });
    const conn = await s.connection(0);
    void conn.close(1000, 'bye');
    await client.until(() => client.closeFrame !== null, 2000, "the server's Close");
    client.sendClose(1000, 'bye');
    await client.until(() => client.serverEnded, 2000, "the server's FIN");
    // Draining until the client's FIN: the server does not call it closed before.
    expect(conn.state).toBe('draining');
    expect(client.clientEnded).toBe(false);
    client.end();
    const info = await conn.closed;
    expect(info).toEqual({ code: 1000, reason: 'bye', wasClean: true, initiator: 'local' });
    expect(conn.trail.at(-1)?.event).toBe('ws.closed');
  }, 10_000);

  it("ends TCP first after the client's close too, once its echo is written", async () => {
    const s = await server({ adopt: { keepalive: false } });
    const client = await raw(s.url, { mode: 'manual' });
    const conn = await s.connection(0);
    client.sendClose(4002, 'client leaves');
    await client.until(() => client.serverEnded, 2000, "the server's FIN");
    // RFC 6455 §5.5.1: the echo carries the code received.
    expect(client.closeFrame).toEqual({ code: 4002, reason: 'client leaves' });
    expect(client.clientEnded).toBe(false);
    expect(conn.state).toBe('draining');
    client.end();
    expect(await conn.closed).toEqual({
      code: 4002,
      reason: 'client leaves',
      wasClean: true,
      initiator: 'remote',
    });
  }, 10_000);

  it('a client that never ends TCP after the handshake is cut at the read deadline, still clean', async () => {
    const s = await server({ adopt: { keepalive: false, timeouts: { write: 1000, read: 300 } } });
    const client = await raw(s.url, { mode: 'manual' });
    const conn = await s.connection(0);
    void conn.close(1000, '');
    await client.until(() => client.closeFrame !== null, 2000, "the server's Close");
    client.sendClose(1000, '');
    const info = await conn.closed;
    // RFC 6455 §7.1.1: Close frames went both ways; the client just kept TCP open.
    expect(info).toEqual({ code: 1000, reason: '', wasClean: true, initiator: 'local' });
    expect(conn.trail.at(-1)?.event).toMatch(/^xstate\.after\.read\./);
    expect(client.serverEnded).toBe(true);
    // Our socket is gone altogether, though the client still holds its half.
    const http = s.http as NonNullable<typeof s.http>;
    const open = () => new Promise<number>((resolve) => http.getConnections((_e, n) => resolve(n)));
    let count = await open();
    for (let i = 0; i < 100 && count > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      count = await open();
    }
    expect(count).toBe(0);
    expect(client.tcpClosed).toBe(false);
  }, 10_000);
});

describe('data', () => {
  for (const binaryType of ['nodebuffer', 'arraybuffer', 'fragments'] as const) {
    it(`delivers text as a string and binary as a Uint8Array (binaryType ${binaryType})`, async () => {
      const http = createServer();
      const wss = new WebSocketServer({ server: http });
      const got: Array<string | Uint8Array> = [];
      let conn: Connection | undefined;
      wss.on('connection', (ws) => {
        ws.binaryType = binaryType;
        conn = adopt(ws, { keepalive: false });
        conn.on('message', (data) => got.push(data));
      });
      http.listen(0, '127.0.0.1');
      await once(http, 'listening');
      const { port } = http.address() as AddressInfo;
      try {
        const ws = await wsClient(`ws://127.0.0.1:${port}`);
        ws.send('héllo');
        ws.send(new Uint8Array([0, 255, 7]));
        await waitFor(() => got.length === 2, 2000, 'two messages');
        expect(got[0]).toBe('héllo');
        expect(got[1]).toBeInstanceOf(Uint8Array);
        expect([...(got[1] as Uint8Array)]).toEqual([0, 255, 7]);
      } finally {
        void conn?.terminate();
        wss.close();
        http.closeAllConnections();
        await new Promise((resolve) => http.close(resolve));
      }
    }, 10_000);
  }
});

describe('release', () => {
  it("removes only its own listeners: the server's and the application's stay", async () => {
    const http = createServer();
    const wss = new WebSocketServer({ server: http });
    let socket: WebSocket | undefined;
    let before: Record<string, number> = {};
    let conn: Connection | undefined;
    const appMessages: string[] = [];
    wss.on('connection', (ws) => {
      socket = ws;
      ws.on('message', (data) => appMessages.push(String(data)));
      ws.on('close', () => {});
      before = counts(ws);
      conn = adopt(ws, { keepalive: false });
    });
    http.listen(0, '127.0.0.1');
    await once(http, 'listening');
    const { port } = http.address() as AddressInfo;
    try {
      const ws = await wsClient(`ws://127.0.0.1:${port}`);
      await waitFor(() => conn !== undefined, 2000, 'adopted');
      ws.send('one');
      await waitFor(() => appMessages.length === 1, 2000, "the application's listener");
      expect(counts(socket as WebSocket).message).toBe((before.message ?? 0) + 1);
      const info = await (conn as Connection).close(1000, '');
      expect(info.wasClean).toBe(true);
      const after = counts(socket as WebSocket);
      for (const event of ['message', 'ping', 'pong']) expect(after[event], event).toBe(before[event]);
      // ws empties its receiver's listeners at 'close'; the socket's are what the application sees.
      expect(after.close).toBe(before.close);
      expect(Object.getOwnPropertyDescriptor(socket, '_closeFrameSent')?.set).toBeUndefined();
    } finally {
      wss.close();
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    }
  }, 10_000);

  it('leaves no timer and no socket behind, whatever the path', async () => {
    const baseline = liveHandles();
    const s = await startServer({ adopt: { keepalive: { interval: 50, timeout: 100 } } });
    const polite = await connectRaw(s.url, { mode: 'polite' });
    const silent = await connectRaw(s.url, { mode: 'silent' });
    const manual = await connectRaw(s.url, { mode: 'manual' });
    const [a, b, c] = [await s.connection(0), await s.connection(1), await s.connection(2)];
    void (a as Connection).close(1000, '');
    manual.reset();
    // b: silent, never pongs: the keepalive fails it.
    const infos = await Promise.all([
      (a as Connection).closed,
      (b as Connection).closed,
      (c as Connection).closed,
    ]);
    expect(infos.map((i) => i.error?.code)).toEqual([undefined, 'ERR_KEEPALIVE_TIMEOUT', 'ERR_SOCKET']);
    for (const client of [polite, silent, manual]) client.destroy();
    await s.close();
    await expectNoLeaks(baseline, 2000);
  }, 10_000);
});

describe('our Close written: a real signal, over TLS and behind the compressor', () => {
  for (const perMessageDeflate of [false, true]) {
    it(`wss://${perMessageDeflate ? ' with permessage-deflate' : ''}: a send right before close arrives, then a clean close`, async () => {
      const tls = await startTlsWsServer({ perMessageDeflate, echo: false });
      servers.push(tls);
      const conns: Connection[] = [];
      tls.wss.on('connection', (ws) => conns.push(adopt(ws, { keepalive: false })));
      const ws = await wsClient(tls.url, { ca: tls.ca });
      const got: string[] = [];
      ws.on('message', (data) => got.push(String(data)));
      const seen = new Promise<{ code: number; wasClean: boolean }>((resolve) =>
        ws.addEventListener('close', (e) => resolve({ code: e.code, wasClean: e.wasClean })),
      );
      await waitFor(() => conns.length === 1, 2000, 'adopted');
      const conn = conns[0] as Connection;
      conn.send('last words');
      const info = await conn.close(1001, 'going');
      expect(info).toEqual({ code: 1001, reason: 'going', wasClean: true, initiator: 'local' });
      expect(conn.trail.map((r) => r.event)).toEqual([
        'xstate.init',
        'api.adopt',
        'api.close',
        'ws.flushed',
        'ws.closed',
      ]);
      expect(await seen).toEqual({ code: 1001, wasClean: true });
      expect(got).toEqual(['last words']);
    }, 10_000);
  }
});

describe('ws internals the server side relies on (fail loudly on a ws upgrade)', () => {
  it("server-side sockets carry ws's close timer length in _closeTimeout, and ours replaces it", async () => {
    // ws's own timer (50 ms here) would destroy the socket long before our read deadline.
    const s = await server({ adopt: false, ws: { closeTimeout: 50 } as ServerOptions }); // not in @types/ws 8.18
    let conn: Connection | undefined;
    s.wss.on('connection', (ws) => {
      expect((ws as unknown as { _closeTimeout: unknown })._closeTimeout).toBe(50);
      conn = adopt(ws, { keepalive: false, timeouts: { write: 200, read: 300 } });
      expect((ws as unknown as { _closeTimeout: unknown })._closeTimeout).toBe(
        wsCloseTimeout({ connect: 1, write: 200, read: 300 }),
      );
    });
    await raw(s.url, { mode: 'silent' });
    await waitFor(() => conn !== undefined, 2000, 'adopted');
    const info = await (conn as Connection).close(1000, '');
    expect(info.error?.code).toBe('ERR_READ_DEADLINE');
  }, 10_000);

  it('setCloseTimeout refuses a socket without _closeTimeout', () => {
    expect(() => setCloseTimeout({} as WebSocket, 10)).toThrow(/_closeTimeout/);
  });

  it('ws sets _closeFrameSent on a server-side socket in the write callback, after close() returns', async () => {
    const s = await server({ adopt: false });
    let socket: WebSocket | undefined;
    s.wss.on('connection', (ws) => {
      socket = ws;
    });
    await raw(s.url, { mode: 'polite' });
    await waitFor(() => socket !== undefined, 2000, 'connection');
    const ws = socket as WebSocket & { _closeFrameSent: boolean };
    expect(ws._closeFrameSent).toBe(false);
    ws.close(1000, '');
    expect(ws._closeFrameSent).toBe(false);
    await waitFor(() => ws._closeFrameSent, 2000, '_closeFrameSent');
  }, 10_000);

  it("the server's upgrade listener calls this.handleUpgrade, and handleUpgrade calls this.completeUpgrade", async () => {
    for (const kind of ['port', 'server', 'noServer'] as const) {
      const s = await server({ kind, adopt: false });
      const seen: string[] = [];
      interceptUpgrades(s.wss, (socket) => {
        seen.push(kind);
        socket.destroy();
      });
      await expect(connectRaw(s.url, { timeoutMs: 1000 })).rejects.toThrow();
      expect(seen).toEqual([kind]);
      restoreUpgrades(s.wss);
      expect(Object.hasOwn(s.wss, 'handleUpgrade')).toBe(false);
      expect(Object.hasOwn(s.wss, 'completeUpgrade')).toBe(false);
      const client = await raw(s.url);
      expect(client.answer.status).toBe(101);
    }
    // An asynchronous verifyClient still deciding when the refusal begins: ws goes on with completeUpgrade.
    let decide: ((ok: boolean) => void) | undefined;
    const s = await server({
      adopt: false,
      ws: {
        verifyClient: (_info, callback) => {
          decide = callback;
        },
      },
    });
    const attempt = connectRaw(s.url, { timeoutMs: 2000 });
    await waitFor(() => decide !== undefined, 2000, 'verifyClient called');
    const refused: string[] = [];
    interceptUpgrades(s.wss, (socket) => {
      refused.push('completeUpgrade');
      socket.destroy();
    });
    decide?.(true);
    await expect(attempt).rejects.toThrow();
    expect(refused).toEqual(['completeUpgrade']);
    restoreUpgrades(s.wss);
  }, 15_000);

  it('a { port } server keeps the HTTP server it made in _server; the others have none of their own', async () => {
    const port = await server({ kind: 'port', adopt: false });
    const own = ownHttpServer(port.wss);
    expect(own).not.toBeNull();
    expect((own as NonNullable<typeof own>).address()).toEqual(port.wss.address());
    for (const kind of ['server', 'noServer'] as const) {
      const s = await server({ kind, adopt: false });
      expect(ownHttpServer(s.wss)).toBeNull();
    }
  }, 10_000);
});

function counts(ws: WebSocket): Record<string, number> {
  return Object.fromEntries(
    ['message', 'ping', 'pong', 'error', 'close'].map((event) => [event, ws.listenerCount(event)]),
  );
}
