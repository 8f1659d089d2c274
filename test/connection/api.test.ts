/**
 * The public API against real sockets on 127.0.0.1: a plain ws echo server and the fault peers.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type ClientOptions,
  type CloseInfo,
  type Connection,
  ConnectionError,
  createConnection,
} from '../../src/index.js';
import { type Peer, refusedUrl, startPeer } from '../../src/testing/index.js';
import { type EchoServer, expectNoLeaks, liveHandles, startEchoServer, waitFor } from '../helpers.js';

const FAST = { connect: 500, write: 300, read: 300 };

let echo: EchoServer;
const peers: Peer[] = [];
const connections: Connection[] = [];

beforeAll(async () => {
  echo = await startEchoServer();
});
afterAll(async () => {
  await echo.close();
});
afterEach(async () => {
  await Promise.all(connections.splice(0).map((c) => c.terminate()));
  await Promise.all(peers.splice(0).map((p) => p.close()));
});

/** Our side of TCP is gone: the peer saw our FIN (or the connection closed). */
async function clientGone(p: Peer): Promise<void> {
  const c = p.connections[0];
  await waitFor(() => c !== undefined && (c.clientEnded || c.tcpClosed), 1000, 'the client to end TCP');
}

function connect(url: string, options: Parameters<typeof createConnection>[1] = {}): Connection {
  const conn = createConnection(url, { timeouts: FAST, ...options });
  connections.push(conn);
  return conn;
}

async function peer(options: Parameters<typeof startPeer>[0]): Promise<Peer> {
  const p = await startPeer(options);
  peers.push(p);
  return p;
}

/** Everything a connection reported, in order. */
function observe(conn: Connection) {
  const events: string[] = [];
  const errors: ConnectionError[] = [];
  const closes: CloseInfo[] = [];
  conn.on('state', (r) => events.push(`state:${r.to}`));
  conn.on('error', (e) => {
    events.push(`error:${e.code}`);
    errors.push(e);
  });
  conn.on('close', (info) => {
    events.push('close');
    closes.push(info);
  });
  void conn.closed.then(() => events.push('closed-promise'));
  return { events, errors, closes };
}

describe('open', () => {
  it('opens, exchanges text and binary, and closes cleanly with the caller’s code and reason', async () => {
    const conn = connect(echo.url);
    const received: (string | Uint8Array)[] = [];
    conn.on('message', (data) => received.push(data));
    await conn.open();
    expect(conn.state).toBe('open');
    conn.send('hello');
    conn.send(new Uint8Array([1, 2, 3]));
    conn.send(new Uint8Array([4, 5]).buffer);
    await waitFor(() => received.length === 3);
    expect(received[0]).toBe('hello');
    expect(received[1]).toBeInstanceOf(Uint8Array);
    expect([...(received[1] as Uint8Array)]).toEqual([1, 2, 3]);
    expect([...(received[2] as Uint8Array)]).toEqual([4, 5]);
    const info = await conn.close(4000, 'done');
    expect(info).toEqual({ code: 4000, reason: 'done', wasClean: true, initiator: 'local' });
    expect(conn.trail.map((r) => r.to)).toEqual([
      'idle',
      'connecting',
      'open',
      'closing-sent',
      'draining',
      'closed',
    ]);
  });

  it('returns the same promise when repeated', async () => {
    const conn = connect(echo.url);
    const first = conn.open();
    expect(conn.open()).toBe(first);
    await first;
    expect(conn.open()).toBe(first);
  });

  it('is single-use: open() after closed rejects ERR_INVALID_STATE', async () => {
    const conn = connect(echo.url);
    await conn.open();
    await conn.close();
    await expect(conn.open()).rejects.toMatchObject({ code: 'ERR_INVALID_STATE' });
  });

  it('offers subprotocols and records the one the server picked', async () => {
    const p = await peer({ mode: 'echo' });
    const conn = connect(p.url, { protocols: ['v2.chat', 'v1.chat'] });
    await conn.open();
    const request = p.connections[0]?.request;
    expect(request?.headers['sec-websocket-protocol']).toBe('v2.chat,v1.chat');
    expect(conn.trail.find((r) => r.to === 'open')?.detail).toEqual({ protocol: 'v2.chat' });
    await conn.close();
  });

  it('passes ws options through (headers)', async () => {
    const p = await peer({ mode: 'echo' });
    const conn = connect(p.url, { ws: { headers: { 'x-test': 'yes' } } });
    await conn.open();
    expect(p.connections[0]?.request?.headers['x-test']).toBe('yes');
    await conn.close();
  });
});

describe('open fails', () => {
  it('ERR_CONNECT_FAILED on a refused port: the same error in open(), CloseInfo and the one error event', async () => {
    const conn = connect(await refusedUrl());
    const seen = observe(conn);
    const rejection = await conn.open().catch((e: unknown) => e);
    const info = await conn.closed;
    expect(rejection).toBeInstanceOf(ConnectionError);
    expect(rejection).toMatchObject({ code: 'ERR_CONNECT_FAILED' });
    expect(info.error).toBe(rejection);
    expect(seen.errors).toEqual([rejection]);
    expect(info).toMatchObject({ code: 1006, wasClean: false, initiator: 'remote' });
  });

  it('ERR_CONNECT_FAILED with the HTTP status when the server refuses the upgrade', async () => {
    const p = await peer({ mode: 'http-error', status: 403 });
    const conn = connect(p.url);
    const error = await conn.open().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_CONNECT_FAILED', status: 403 });
    expect(conn.trail.at(-1)?.detail).toMatchObject({ errorCode: 'ERR_CONNECT_FAILED', status: 403 });
  });

  it('ERR_CONNECT_FAILED on a DNS failure (through ws’s lookup option, no real DNS)', async () => {
    const lookup = (_host: string, _options: unknown, callback: (error: Error) => void) => {
      callback(Object.assign(new Error('getaddrinfo ENOTFOUND nowhere.invalid'), { code: 'ENOTFOUND' }));
    };
    const conn = connect('ws://nowhere.invalid:9/', { ws: { lookup } as unknown as ClientOptions });
    await expect(conn.open()).rejects.toMatchObject({
      code: 'ERR_CONNECT_FAILED',
      message: expect.stringMatching(/ENOTFOUND/),
    });
  });

  it('ERR_CONNECT_FAILED on a bad handshake answer (wrong Sec-WebSocket-Accept, RFC 6455 §4.1)', async () => {
    const p = await peer({ mode: 'no-upgrade' });
    const conn = connect(p.url);
    const opening = conn.open();
    const pc = await p.nextConnection();
    await waitFor(() => pc.request !== null, 1000, 'the upgrade request');
    const answer = [
      'HTTP/1.1 101 Switching Protocols',
      'Upgrade: websocket',
      'Connection: Upgrade',
      'Sec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=',
      '',
      '',
    ].join('\r\n');
    pc.sendRaw(new TextEncoder().encode(answer));
    await expect(opening).rejects.toMatchObject({
      code: 'ERR_CONNECT_FAILED',
      message: expect.stringMatching(/Sec-WebSocket-Accept/),
    });
    expect((await conn.closed).initiator).toBe('remote');
  });

  it('ERR_CONNECT_TIMEOUT when the server never answers the upgrade, within the deadline + 250 ms', async () => {
    const p = await peer({ mode: 'no-upgrade' });
    const conn = connect(p.url, { timeouts: { ...FAST, connect: 200 } });
    const started = performance.now();
    await expect(conn.open()).rejects.toMatchObject({ code: 'ERR_CONNECT_TIMEOUT' });
    expect(performance.now() - started).toBeLessThan(200 + 250);
    expect((await conn.closed).initiator).toBe('local');
    await clientGone(p);
  });

  it.each(['close', 'terminate'] as const)(
    '%s while connecting aborts: open() rejects ERR_CONNECT_ABORTED, no error event',
    async (verb) => {
      const p = await peer({ mode: 'no-upgrade' });
      const conn = connect(p.url);
      const seen = observe(conn);
      const opening = conn.open();
      await p.nextConnection();
      const info = await conn[verb]();
      await expect(opening).rejects.toMatchObject({ code: 'ERR_CONNECT_ABORTED' });
      expect(info).toEqual({ code: 1006, reason: '', wasClean: false, initiator: 'local' });
      expect(seen.errors).toEqual([]);
      await clientGone(p);
    },
  );

  it('an open() nobody awaits never causes an unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const conn = connect(echo.url);
      conn.open();
      await conn.close();
      const failing = connect(await refusedUrl());
      failing.open();
      await failing.closed;
      await new Promise((resolve) => setTimeout(resolve, 20));
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    expect(unhandled).toEqual([]);
  });
});

describe('close', () => {
  it('delivers every message sent before close() ahead of the Close frame (RFC 6455 §5.5.1)', async () => {
    const p = await peer({ mode: 'echo' });
    const conn = connect(p.url);
    await conn.open();
    for (let i = 0; i < 1000; i++) conn.send(`m${i}`);
    const info = await conn.close(1000, 'after 1000');
    const seen = p.connections[0];
    expect(seen?.messageCount).toBe(1000);
    expect(seen?.closeFrameAt).toBe(1000);
    expect(seen?.closeFrame).toEqual({ code: 1000, reason: 'after 1000' });
    expect(seen?.messages.at(-1)?.data).toBe('m999');
    expect(info.wasClean).toBe(true);
  });

  it('delivers data the peer sends after our Close, before its own (draining)', async () => {
    const p = await peer({ mode: 'data-after-close', lateMessages: 3 });
    const conn = connect(p.url);
    const received: unknown[] = [];
    const states: string[] = [];
    conn.on('message', (data) => received.push(data));
    conn.on('message', () => states.push(conn.state));
    await conn.open();
    const info = await conn.close(4001, 'late');
    expect(received).toEqual(['late-1', 'late-2', 'late-3']);
    expect(states).toEqual(['draining', 'draining', 'draining']);
    expect(info).toEqual({ code: 4001, reason: 'late', wasClean: true, initiator: 'local' });
  });

  it('shares one handshake between repeated calls: one Close on the wire', async () => {
    const p = await peer({ mode: 'echo' });
    const conn = connect(p.url);
    await conn.open();
    const first = conn.close(4002, 'one');
    const second = conn.close(4003, 'two');
    expect(second).toBe(first);
    const info = await first;
    expect(info.code).toBe(4002);
    expect(p.connections[0]?.closeFrame).toEqual({ code: 4002, reason: 'one' });
    expect(await conn.close()).toBe(info);
  });

  it.each([
    [1005, '', 'ERR_INVALID_CLOSE_CODE'],
    [999, '', 'ERR_INVALID_CLOSE_CODE'],
    [1000, 'x'.repeat(124), 'ERR_INVALID_CLOSE_REASON'],
  ])(
    'refuses close(%s, …) before anything is sent, leaving the connection open',
    async (code, reason, error) => {
      const p = await peer({ mode: 'echo' });
      const conn = connect(p.url);
      await conn.open();
      await expect(conn.close(code, reason)).rejects.toMatchObject({ code: error });
      expect(conn.state).toBe('open');
      conn.send('still open');
      await p.connections[0]?.whenMessages(1);
      expect(p.connections[0]?.closeFrame).toBeNull();
      expect((await conn.close(4000, 'now')).code).toBe(4000);
    },
  );

  it('validates the arguments of a repeated close before sharing the handshake', async () => {
    const conn = connect(echo.url);
    await conn.open();
    const first = conn.close();
    await expect(conn.close(1005)).rejects.toMatchObject({ code: 'ERR_INVALID_CLOSE_CODE' });
    await first;
  });

  it.each(['close', 'terminate'] as const)(
    '%s on an idle connection resolves 1006, local, with no error',
    async (verb) => {
      const conn = connect(echo.url);
      const seen = observe(conn);
      expect(await conn[verb]()).toEqual({ code: 1006, reason: '', wasClean: false, initiator: 'local' });
      expect(seen.errors).toEqual([]);
      expect(seen.closes).toHaveLength(1);
    },
  );

  it('after closed, close() and terminate() resolve the same CloseInfo', async () => {
    const conn = connect(echo.url);
    await conn.open();
    const info = await conn.close();
    expect(await conn.close()).toBe(info);
    expect(await conn.terminate()).toBe(info);
    expect(await conn.closed).toBe(info);
  });

  it('terminate() during a close handshake escalates at once', async () => {
    const p = await peer({ mode: 'silent' });
    const conn = connect(p.url, { timeouts: { ...FAST, read: 5000 } });
    await conn.open();
    const closing = conn.close(4004, 'slow');
    await waitFor(() => conn.state === 'draining');
    const started = performance.now();
    const info = await conn.terminate();
    expect(performance.now() - started).toBeLessThan(100);
    expect(await closing).toBe(info);
    expect(info).toEqual({ code: 1006, reason: '', wasClean: false, initiator: 'local' });
    await clientGone(p);
  });

  it('ends a close against a peer that never answers at the read deadline (+ 250 ms), ERR_READ_DEADLINE', async () => {
    const p = await peer({ mode: 'silent' });
    const conn = connect(p.url, { timeouts: { ...FAST, read: 200 } });
    await conn.open();
    const started = performance.now();
    const info = await conn.close();
    expect(performance.now() - started).toBeLessThan(200 + 250);
    expect(info.error?.code).toBe('ERR_READ_DEADLINE');
    expect(p.connections[0]?.closeFrame).toEqual({ code: 1000, reason: '' });
    await clientGone(p);
  });
});

describe('one failure, one report', () => {
  it('orders the closed record, then error, then close, then the promises', async () => {
    const p = await peer({ mode: 'reset', afterMs: 20 });
    const conn = connect(p.url);
    const seen = observe(conn);
    await conn.open();
    const info = await conn.closed;
    expect(info.error?.code).toBe('ERR_SOCKET');
    expect(seen.events.slice(-4)).toEqual(['state:closed', 'error:ERR_SOCKET', 'close', 'closed-promise']);
    expect(seen.errors).toHaveLength(1);
    expect(seen.closes).toEqual([info]);
  });

  it('never throws for an error event nobody listens to', async () => {
    const conn = connect(await refusedUrl());
    await expect(conn.open()).rejects.toBeInstanceOf(ConnectionError);
    expect((await conn.closed).error?.code).toBe('ERR_CONNECT_FAILED');
  });

  it('emits no error event for the caller’s own close()', async () => {
    const conn = connect(echo.url);
    const seen = observe(conn);
    await conn.open();
    await conn.close();
    expect(seen.errors).toEqual([]);
    expect(seen.closes).toHaveLength(1);
  });

  it('keeps running when a listener throws, and reports the exception asynchronously', async () => {
    const thrown: unknown[] = [];
    const onUncaught = (error: unknown) => thrown.push(error);
    const listeners = process.listeners('uncaughtException');
    process.removeAllListeners('uncaughtException');
    process.on('uncaughtException', onUncaught);
    try {
      const conn = connect(echo.url);
      conn.on('state', () => {
        throw new Error('listener bug');
      });
      await conn.open();
      expect((await conn.close()).wasClean).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 10));
    } finally {
      process.off('uncaughtException', onUncaught);
      for (const listener of listeners) process.on('uncaughtException', listener);
    }
    expect(thrown.length).toBeGreaterThanOrEqual(4);
    expect((thrown[0] as Error).message).toBe('listener bug');
  });

  it('stops delivering to a listener once unsubscribed', async () => {
    const conn = connect(echo.url);
    const got: unknown[] = [];
    const off = conn.on('message', (data) => got.push(data));
    await conn.open();
    conn.send('one');
    await waitFor(() => got.length === 1);
    off();
    conn.send('two');
    const later: unknown[] = [];
    conn.on('message', (data) => later.push(data));
    await waitFor(() => later.length === 1);
    expect(got).toEqual(['one']);
    await conn.close();
  });
});

describe('send', () => {
  it.each([
    ['idle', async (_c: Connection) => {}],
    [
      'closed',
      async (c: Connection) => {
        await c.open();
        await c.close();
      },
    ],
  ])('throws ERR_INVALID_STATE while %s', async (_state, prepare) => {
    const conn = connect(echo.url);
    await prepare(conn);
    expect(() => conn.send('x')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_STATE' }));
  });

  it('throws ERR_INVALID_STATE while closing, and nothing reaches the wire', async () => {
    const p = await peer({ mode: 'silent' });
    const conn = connect(p.url);
    await conn.open();
    void conn.close();
    expect(() => conn.send('late')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_STATE' }));
    await conn.closed;
    expect(p.connections[0]?.messageCount).toBe(0);
  });

  it.each([[42], [null], [undefined], [{}], [new DataView(new ArrayBuffer(2))], [[1, 2]]])(
    'throws ERR_INVALID_DATA for %s and sends nothing',
    async (data) => {
      const p = await peer({ mode: 'echo' });
      const conn = connect(p.url);
      await conn.open();
      expect(() => conn.send(data as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_DATA' }));
      expect(conn.state).toBe('open');
      await conn.close();
      expect(p.connections[0]?.messageCount).toBe(0);
    },
  );
});

/** A real `gc()`, from V8 (vitest runs workers without --expose-gc). */
function forceGc(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

describe('resources', () => {
  it('lets go of connections once closed, and of ones created and never used', async () => {
    const gc = forceGc();
    const refs: WeakRef<Connection>[] = [];
    for (let i = 0; i < 20; i++) refs.push(new WeakRef(createConnection(echo.url, { trail: false })));
    // In a function of its own: a suspended async frame may keep its last local alive.
    const closedOne = async () => {
      const conn = createConnection(echo.url);
      await conn.open();
      await conn.close();
      return new WeakRef(conn);
    };
    for (let i = 0; i < 20; i++) refs.push(await closedOne());
    await waitFor(
      () => {
        gc();
        return refs.every((ref) => ref.deref() === undefined);
      },
      3000,
      'every connection to be collected',
    );
  });

  it('leaks no timer or socket over 100 connect/close cycles', async () => {
    const baseline = liveHandles();
    for (let i = 0; i < 100; i++) {
      const conn = createConnection(echo.url, { trail: false });
      await conn.open();
      conn.send('x');
      await conn.close();
    }
    await expectNoLeaks(baseline);
  });

  it('keeps no trail with trail: false, but still calls audit', async () => {
    const audited: string[] = [];
    const conn = connect(echo.url, { trail: false, audit: (r) => audited.push(r.to) });
    await conn.open();
    await conn.close();
    expect(conn.trail).toEqual([]);
    expect(audited).toEqual(['idle', 'connecting', 'open', 'closing-sent', 'draining', 'closed']);
  });
});
