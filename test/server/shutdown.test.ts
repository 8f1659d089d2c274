/**
 * `shutdown` against real clients on 127.0.0.1 (src/server/shutdown.ts): a mixed crowd, counted as the
 * clients themselves saw it; 503 for every handshake not yet answered; the bound; sockets never
 * adopted; repeated calls; bad input; nothing left running afterwards.
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { CloseInfo } from '../../machines/types.js';
import { type Connection, ConnectionError, createConnection } from '../../src/index.js';
import { adopt, type ShutdownProgress, shutdown } from '../../src/server/index.js';
import { expectNoLeaks, liveHandles, waitFor } from '../helpers.js';
import { connectRaw, type RawClient } from './raw-client.js';
import { fillUntilStuck, SERVER_KINDS, startServer, type TestServer } from './servers.js';

const WRITE = 300;
const READ = 500;
const TIMEOUTS = { write: WRITE, read: READ };
/** The bound the issue sets (write + read + 100 ms), plus the suite's margin for timing: + 250 ms. */
const BOUND = WRITE + READ + 100 + 250;

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

interface WsSeen {
  code: number;
  reason: string;
  wasClean: boolean;
}

async function wsClient(url: string): Promise<{ ws: WebSocket; seen: Promise<WsSeen> }> {
  const ws = new WebSocket(url);
  cleanups.push(() => {
    ws.on('error', () => {});
    ws.terminate();
  });
  const seen = new Promise<WsSeen>((resolve) =>
    ws.addEventListener('close', (e) => resolve({ code: e.code, reason: e.reason, wasClean: e.wasClean })),
  );
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return { ws, seen };
}

async function raw(url: string, options: Parameters<typeof connectRaw>[1] = {}): Promise<RawClient> {
  const c = await connectRaw(url, options);
  cleanups.push(() => c.destroy());
  return c;
}

/** What a raw client saw: clean if Close frames went both ways (it got ours and sent its own). */
function rawSawClean(c: RawClient): boolean {
  return c.closeFrame !== null && c.closeSentAt !== null;
}

describe('shutdown: a mixed crowd, each kind counted exactly', () => {
  it('clean clients see 1001 with wasClean; silent ones end at the read deadline; stuck ones at the write deadline', async () => {
    const baseline = liveHandles();
    const s = await startServer({ adopt: { timeouts: TIMEOUTS, keepalive: false } });
    // Clean: two ws clients, two of our own, two raw clients that answer the Close.
    const wsClients = [await wsClient(s.url), await wsClient(s.url)];
    const ours = [
      createConnection(s.url, { keepalive: false }),
      createConnection(s.url, { keepalive: false }),
    ];
    for (const conn of ours) await conn.open();
    const polite = [await raw(s.url, { mode: 'polite' }), await raw(s.url, { mode: 'polite' })];
    // Silent: the upgrade, then they never read nor answer.
    const silent = [await raw(s.url, { mode: 'silent' }), await raw(s.url, { mode: 'silent' })];
    // Stuck: they stop reading and we fill their receive window, so our Close cannot be written.
    const stuck = [
      await raw(s.url, { mode: 'manual' }),
      await raw(s.url, { mode: 'manual' }),
      await raw(s.url, { mode: 'manual' }),
    ];
    await waitFor(() => s.conns.length === 11, 3000, 'eleven adopted');
    for (const [i, c] of stuck.entries()) {
      c.stopReading();
      const index = 8 + i;
      await fillUntilStuck(s.conns[index] as Connection, s.sockets[index] as WebSocket);
    }
    const progress: ShutdownProgress[] = [];
    const t0 = performance.now();
    const report = await shutdown(s.wss, { timeouts: TIMEOUTS, onProgress: (p) => progress.push(p) });
    const elapsed = performance.now() - t0;

    // The report.
    expect(report).toMatchObject({
      total: 11,
      clean: 6,
      unclean: 0,
      terminated: 5,
      byCode: { 1001: 6, 1006: 5 },
    });
    expect(report.durationMs).toBeLessThan(BOUND);
    expect(elapsed).toBeLessThan(BOUND);

    // What the clients saw.
    const wsSeen = await Promise.all(wsClients.map((c) => c.seen));
    expect(wsSeen).toEqual(
      wsClients.map(() => ({ code: 1001, reason: 'server shutting down', wasClean: true })),
    );
    const ourSeen = await Promise.all(ours.map((c) => c.closed));
    expect(ourSeen).toEqual(
      ours.map(() => ({ code: 1001, reason: 'server shutting down', wasClean: true, initiator: 'remote' })),
    );
    for (const c of polite) {
      await c.until(() => c.serverEnded, 2000, "the server's FIN");
      expect(c.closeFrame).toEqual({ code: 1001, reason: 'server shutting down' });
      expect(rawSawClean(c)).toBe(true);
    }
    for (const c of [...silent, ...stuck]) {
      c.resumeReading();
      await c.until(() => c.tcpClosed || c.serverEnded, 2000, 'the server gone');
      expect(rawSawClean(c)).toBe(false);
    }
    // Silent ones got our Close (it was written) but never answered it; stuck ones never got it.
    for (const c of silent) await c.until(() => c.closeFrame !== null, 2000, 'our Close, late');
    for (const c of stuck) expect(c.closeFrame).toBeNull();
    const cleanSeen =
      wsSeen.filter((x) => x.wasClean).length +
      ourSeen.filter((x) => x.wasClean).length +
      polite.filter(rawSawClean).length;
    expect(report.clean).toBe(cleanSeen);
    expect(report.terminated).toBe([...silent, ...stuck].filter((c) => !rawSawClean(c)).length);

    // Each ended where it should, by its own deadline.
    const outcomes = await Promise.all(s.conns.map((c) => c.closed));
    const errorOf = (info: CloseInfo) => info.error?.code;
    expect(outcomes.slice(6, 8).map(errorOf)).toEqual(['ERR_READ_DEADLINE', 'ERR_READ_DEADLINE']);
    expect(outcomes.slice(8).map(errorOf)).toEqual([
      'ERR_WRITE_DEADLINE',
      'ERR_WRITE_DEADLINE',
      'ERR_WRITE_DEADLINE',
    ]);
    for (const conn of s.conns.slice(6, 8)) expectDeadline(conn, 'draining', READ);
    for (const conn of s.conns.slice(8)) expectDeadline(conn, 'closing-sent', WRITE);

    // Progress: first with everything pending, then once per connection, in order, ending at the report.
    expect(progress[0]).toMatchObject({ total: 11, closed: 0, pending: 11 });
    expect(progress).toHaveLength(12);
    expect(progress.map((p) => p.closed)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(progress.at(-1)).toMatchObject({ clean: 6, unclean: 0, terminated: 5, pending: 0 });

    for (const c of [...polite, ...silent, ...stuck]) c.destroy();
    await expectNoLeaks(baseline, 2000);
  }, 20_000);
});

function expectDeadline(conn: Connection, from: string, ms: number): void {
  const entered = conn.trail.findLast((r) => r.to === from);
  const closed = conn.trail.at(-1);
  expect(entered, `${from} in the trail`).toBeDefined();
  const elapsed = (closed?.elapsedMs ?? 0) - (entered?.elapsedMs ?? 0);
  expect(elapsed).toBeGreaterThanOrEqual(ms - 1);
  expect(elapsed).toBeLessThan(ms + 250);
}

describe('shutdown: no new connection, none lost half-way', () => {
  for (const kind of SERVER_KINDS) {
    it(`{ ${kind} }: an upgrade during shutdown gets 503 with Connection: close; after it, ${
      kind === 'port'
        ? 'the port is closed'
        : kind === 'server'
          ? 'your HTTP server answers'
          : 'ws answers 503 itself'
    }`, async () => {
      const s = await server({ kind, adopt: { timeouts: TIMEOUTS, keepalive: false } });
      await raw(s.url, { mode: 'silent' }); // holds the shutdown open until the read deadline
      await s.connection(0);
      const running = shutdown(s.wss, { timeouts: TIMEOUTS });

      const refused = await raw(s.url, { mode: 'manual' });
      expect(refused.answer.status).toBe(503);
      expect(refused.answer.headers.connection).toBe('close');
      await refused.until(() => refused.serverEnded, 2000, 'the 503 socket ended');
      // A ws client and our own see the refusal for what it is.
      const status = await new Promise<number>((resolve) => {
        const ws = new WebSocket(s.url);
        ws.on('unexpected-response', (_req, res) => {
          resolve(res.statusCode ?? 0);
          ws.terminate();
        });
        ws.on('error', () => {});
      });
      expect(status).toBe(503);
      const ours = createConnection(s.url);
      await expect(ours.open()).rejects.toMatchObject({ code: 'ERR_CONNECT_FAILED', status: 503 });

      const report = await running;
      expect(report).toMatchObject({ total: 1, terminated: 1 });
      if (kind === 'port') {
        await expect(connectRaw(s.url, { timeoutMs: 1000 })).rejects.toThrow();
      } else {
        const after = await raw(s.url, { mode: 'manual' });
        expect(after.answer.status).toBe(kind === 'server' ? 404 : 503);
      }
    }, 10_000);
  }

  it('a handshake still in an asynchronous verifyClient when shutdown begins gets 503; one answered 101 is closed with the rest', async () => {
    let decide: ((ok: boolean) => void) | undefined;
    let verifying = 0;
    const s = await server({
      adopt: { timeouts: TIMEOUTS, keepalive: false },
      ws: {
        verifyClient: (_info, callback) => {
          verifying++;
          if (verifying === 2) decide = callback;
          else callback(true);
        },
      },
    });
    const first = await wsClient(s.url);
    const pending = connectRaw(s.url, { mode: 'manual', timeoutMs: 3000 });
    await waitFor(() => decide !== undefined, 2000, 'the second handshake in verifyClient');
    const running = shutdown(s.wss, { timeouts: TIMEOUTS });
    decide?.(true);
    const second = await pending;
    cleanups.push(() => second.destroy());
    expect(second.answer.status).toBe(503);
    const report = await running;
    expect(report).toMatchObject({ total: 1, clean: 1, byCode: { 1001: 1 } });
    expect(await first.seen).toEqual({ code: 1001, reason: 'server shutting down', wasClean: true });
  }, 10_000);
});

describe('shutdown: every socket ends in a recorded outcome', () => {
  it('sockets never adopted are adopted for the close', async () => {
    const s = await server({ adopt: false });
    const clients = [await wsClient(s.url), await wsClient(s.url), await wsClient(s.url)];
    await waitFor(() => s.sockets.length === 3, 2000, 'three sockets');
    const report = await shutdown(s.wss, { code: 4000, reason: 'maintenance', timeouts: TIMEOUTS });
    expect(report).toMatchObject({ total: 3, clean: 3, unclean: 0, terminated: 0, byCode: { 4000: 3 } });
    for (const c of clients)
      expect(await c.seen).toEqual({ code: 4000, reason: 'maintenance', wasClean: true });
  }, 10_000);

  it('a socket the application already began closing through ws is counted by what ws reports', async () => {
    const s = await server({ adopt: false });
    const c = await wsClient(s.url);
    await waitFor(() => s.sockets.length === 1, 2000, 'a socket');
    (s.sockets[0] as WebSocket).close(1000, 'app');
    const report = await shutdown(s.wss, { timeouts: TIMEOUTS });
    expect(report).toMatchObject({ total: 1, clean: 1, byCode: { 1000: 1 } });
    expect(await c.seen).toEqual({ code: 1000, reason: 'app', wasClean: true });
  }, 10_000);

  it('a connection that ended before the shutdown is not one of its outcomes; one closing is', async () => {
    const s = await server({ adopt: { timeouts: TIMEOUTS, keepalive: false } });
    await wsClient(s.url);
    const closingClient = await wsClient(s.url);
    const done = await s.connection(0);
    const closing = await s.connection(1);
    await done.close(1000, 'earlier');
    void closing.close(4001, 'already leaving');
    const report = await shutdown(s.wss, { timeouts: TIMEOUTS });
    expect(report).toMatchObject({ total: 1, clean: 1, byCode: { 4001: 1 } });
    expect(await closingClient.seen).toMatchObject({ code: 4001, wasClean: true });
  }, 10_000);

  it('connections adopted with longer deadlines are cut at the shutdown’s: write for a stuck Close, write + read for the rest', async () => {
    const s = await server({ adopt: { timeouts: { write: 10_000, read: 10_000 }, keepalive: false } });
    const silent = await raw(s.url, { mode: 'silent' });
    const stuck = await raw(s.url, { mode: 'manual' });
    await waitFor(() => s.conns.length === 2, 2000, 'two adopted');
    stuck.stopReading();
    await fillUntilStuck(s.conns[1] as Connection, s.sockets[1] as WebSocket);
    const closedAt: number[] = [];
    for (const conn of s.conns) conn.on('close', () => closedAt.push(performance.now() - t0));
    const t0 = performance.now();
    const report = await shutdown(s.wss, { timeouts: TIMEOUTS });
    expect(report).toMatchObject({ total: 2, clean: 0, unclean: 0, terminated: 2, byCode: { 1006: 2 } });
    expect(report.durationMs).toBeLessThan(BOUND);
    expect(report.durationMs).toBeGreaterThanOrEqual(WRITE + READ - 1);
    const [silentConn, stuckConn] = s.conns as [Connection, Connection];
    expect(silentConn.trail.at(-1)?.event).toBe('api.terminate');
    expect(stuckConn.trail.at(-1)?.event).toBe('api.terminate');
    // The stuck one went at the write cut-off, the silent one at write + read, both from the call.
    const [first, second] = closedAt as [number, number];
    expect(first).toBeGreaterThanOrEqual(WRITE - 1);
    expect(first).toBeLessThan(WRITE + 250);
    expect(second).toBeGreaterThanOrEqual(WRITE + READ - 1);
    expect(second).toBeLessThan(WRITE + READ + 250);
    silent.destroy();
    stuck.destroy();
  }, 10_000);
});

describe('shutdown: bounded, whatever the number of connections', () => {
  // Clients and server share this process here (bench/server-side.ts measures 10 000 with the clients in
  // their own process, M8): the deadlines are roomier so that a loaded machine still answers in time.
  const timeouts = { write: 1000, read: 1500 };

  it('200 connections, 10 % silent and 10 % not reading: within write + read + 100 ms, each kind counted', async () => {
    const baseline = liveHandles();
    const s = await startServer({ adopt: { timeouts, keepalive: false } });
    const clean: Array<Promise<WsSeen>> = [];
    const silent: RawClient[] = [];
    const stuck = new Map<number, RawClient>();
    for (let i = 0; i < 200; i++) {
      if (i % 10 === 0) silent.push(await connectRaw(s.url, { mode: 'silent' }));
      else if (i % 10 === 1) stuck.set(i, await connectRaw(s.url, { mode: 'manual' }));
      else clean.push((await wsClient(s.url)).seen);
    }
    await waitFor(() => s.conns.length === 200, 5000, '200 adopted');
    for (const [i, c] of stuck) {
      c.stopReading();
      await fillUntilStuck(s.conns[i] as Connection, s.sockets[i] as WebSocket);
    }
    const report = await shutdown(s.wss, { timeouts });
    expect(report).toMatchObject({
      total: 200,
      clean: 160,
      unclean: 0,
      terminated: 40,
      byCode: { 1001: 160, 1006: 40 },
    });
    expect(report.durationMs).toBeLessThan(timeouts.write + timeouts.read + 100 + 250);
    const seen = await Promise.all(clean);
    expect(seen.filter((x) => x.code === 1001 && x.wasClean)).toHaveLength(160);
    for (const c of [...silent, ...stuck.values()]) c.destroy();
    await expectNoLeaks(baseline, 3000);
  }, 60_000);
});

describe('shutdown: once', () => {
  it('repeated calls share the first one and its report', async () => {
    const s = await server({ adopt: { timeouts: TIMEOUTS, keepalive: false } });
    await wsClient(s.url);
    await s.connection(0);
    const first = shutdown(s.wss, { timeouts: TIMEOUTS });
    const second = shutdown(s.wss, { code: 1000 });
    expect(second).toBe(first);
    const report = await first;
    expect(await shutdown(s.wss)).toBe(report);
    expect(report.byCode).toEqual({ 1001: 1 });
  }, 10_000);

  it('an onProgress that throws does not stop the shutdown; its exception surfaces', async () => {
    const s = await server({ adopt: { timeouts: TIMEOUTS, keepalive: false } });
    await wsClient(s.url);
    await s.connection(0);
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => uncaught.push(error);
    process.on('uncaughtException', onUncaught);
    try {
      const report = await shutdown(s.wss, {
        timeouts: TIMEOUTS,
        onProgress: () => {
          throw new Error('observer bug');
        },
      });
      expect(report).toMatchObject({ total: 1, clean: 1 });
      await waitFor(() => uncaught.length === 2, 1000, 'both exceptions rethrown');
      expect(String(uncaught[0])).toMatch(/observer bug/);
    } finally {
      process.off('uncaughtException', onUncaught);
    }
  }, 10_000);
});

describe('shutdown: bad input, rejected before anything happens', () => {
  it('rejects with a ConnectionError and leaves the server accepting', async () => {
    const s = await server({ adopt: { keepalive: false } });
    const bad: Array<[unknown, unknown, string]> = [
      [null, undefined, 'ERR_INVALID_OPTIONS'],
      [{}, undefined, 'ERR_INVALID_OPTIONS'],
      [s.wss, 'now', 'ERR_INVALID_OPTIONS'],
      [s.wss, { code: 1005 }, 'ERR_INVALID_CLOSE_CODE'],
      [s.wss, { code: 2000 }, 'ERR_INVALID_CLOSE_CODE'],
      [s.wss, { reason: 'x'.repeat(124) }, 'ERR_INVALID_CLOSE_REASON'],
      [s.wss, { timeouts: { connect: 5 } }, 'ERR_INVALID_OPTIONS'],
      [s.wss, { timeouts: { write: 0 } }, 'ERR_INVALID_OPTIONS'],
      [s.wss, { onProgress: 'yes' }, 'ERR_INVALID_OPTIONS'],
      [s.wss, { grace: 10 }, 'ERR_INVALID_OPTIONS'],
    ];
    for (const [wss, options, code] of bad) {
      const error = await shutdown(wss as never, options as never).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConnectionError);
      expect((error as ConnectionError).code).toBe(code);
    }
    const client = await raw(s.url);
    expect(client.answer.status).toBe(101);
  }, 10_000);

  it('a server without clientTracking cannot be shut down honestly: ERR_INVALID_OPTIONS', async () => {
    const s = await server({ adopt: false, ws: { clientTracking: false } });
    await expect(shutdown(s.wss)).rejects.toMatchObject({ code: 'ERR_INVALID_OPTIONS' });
  }, 10_000);
});

describe('shutdown: an adopted connection and its own listeners', () => {
  it('the application sees the close through its connection: state records, close event, once', async () => {
    const s = await server({ adopt: false });
    const states: string[] = [];
    const closes: CloseInfo[] = [];
    s.wss.on('connection', (ws) => {
      const conn = adopt(ws, { timeouts: TIMEOUTS, keepalive: false });
      conn.on('state', (r) => states.push(`${r.to}:${r.event}`));
      conn.on('close', (info) => closes.push(info));
    });
    await wsClient(s.url);
    await waitFor(() => s.sockets.length === 1, 2000, 'connection');
    await shutdown(s.wss, { timeouts: TIMEOUTS });
    expect(states).toEqual(['closing-sent:api.close', 'draining:ws.flushed', 'closed:ws.closed']);
    expect(closes).toEqual([
      { code: 1001, reason: 'server shutting down', wasClean: true, initiator: 'local' },
    ]);
  }, 10_000);
});
