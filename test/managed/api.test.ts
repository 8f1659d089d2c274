/**
 * The managed connection's API against real servers on 127.0.0.1: events and their order, the outcome
 * exactly once, bad input refused before anything is sent, URL functions, the onOpen hook and its
 * deadline, reconnect(), one trail (and one JSONL audit) that verifies, the inspector's tree.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { InspectionEvent } from 'xstate';
import { ConnectionError } from '../../machines/connection-error.js';
import { jsonlAudit } from '../../src/audit/jsonl-audit.js';
import { createManagedConnection, wsClientFactory } from '../../src/managed/managed-connection.js';
import type { ManagedConnection } from '../../src/managed/managed-core.js';
import { createManagedConnectionWith } from '../../src/managed/managed-core.js';
import { isSupervisorRecord } from '../../src/managed/managed-trail.js';
import { verifyManagedTrail } from '../../src/managed/verify-supervisor-trail.js';
import { refusedUrl } from '../../src/testing/index.js';
import { waitFor } from '../helpers.js';
import { type ScriptedServer, startScriptedServer } from './support/scripted-server.js';

let server: ScriptedServer | null = null;
let feed: ManagedConnection | null = null;

afterEach(async () => {
  await feed?.close();
  await server?.close();
  feed = null;
  server = null;
});

describe('bad input', () => {
  it('throws ERR_INVALID_URL / ERR_INVALID_OPTIONS synchronously, before anything is created', () => {
    expect(() => createManagedConnection('ftp://x')).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_URL' }),
    );
    expect(() => createManagedConnection('ws://127.0.0.1:1/#x')).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_URL' }),
    );
    const bad: unknown[] = [
      { reconnect: { initialDelay: -1 } },
      { reconnect: { factor: 0.5 } },
      { reconnect: { maxAttempts: 0 } },
      { reconnect: { maxAttempts: 1.5 } },
      { reconnect: { minUptime: 'soon' } },
      { reconnect: { shouldReconnect: true } },
      { reconnect: { jitter: 1 } },
      { reconnect: true },
      { queue: { maxMessages: 0 } },
      { queue: { maxBytes: Number.POSITIVE_INFINITY } },
      { queue: { size: 1 } },
      { onOpen: 'hello' },
      { random: 0.5 },
      { trail: 'yes' },
      { inspect: 1 },
      { timeouts: { connect: 0 } }, // the attempt's own options, checked now by the factory
      { nonsense: true },
    ];
    for (const options of bad) {
      expect(
        () => createManagedConnection('ws://127.0.0.1:1', options as never),
        JSON.stringify(options),
      ).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTIONS' }));
    }
  });

  it('close() refuses a code or reason that may not be sent, state unchanged', async () => {
    server = await startScriptedServer();
    feed = createManagedConnection(server.url);
    await feed.open();
    await expect(feed.close(1005)).rejects.toMatchObject({ code: 'ERR_INVALID_CLOSE_CODE' });
    await expect(feed.close(1000, 'x'.repeat(124))).rejects.toMatchObject({
      code: 'ERR_INVALID_CLOSE_REASON',
    });
    expect(feed.state).toBe('open');
    feed.send('still open');
    await waitFor(() => server?.messages[0]?.length === 1, 2000, 'the message');
  });

  it("close() refuses, before anything is sent, a code the transport's limits refuse", async () => {
    server = await startScriptedServer();
    const create = createManagedConnectionWith(wsClientFactory, {
      checkClose: (code) => {
        if (code !== 1000) throw new ConnectionError('ERR_INVALID_CLOSE_CODE', `${code} cannot be sent here`);
      },
    });
    feed = create(server.url) as unknown as ManagedConnection;
    await feed.open();
    await expect(feed.close(4000)).rejects.toMatchObject({ code: 'ERR_INVALID_CLOSE_CODE' });
    expect(feed.state).toBe('open');
    expect((await feed.close(1000)).reason).toBe('closed');
  });

  it('on() refuses an unknown event or a listener that is not a function', () => {
    feed = createManagedConnection('ws://127.0.0.1:1');
    expect(() => feed?.on('nope' as 'open', () => {})).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTIONS' }),
    );
    expect(() => feed?.on('open', 1 as never)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTIONS' }),
    );
  });
});

describe('events', () => {
  it('open / disconnect / retry per attempt; close once; error once, before close', async () => {
    server = await startScriptedServer((n) =>
      n < 2 ? { kind: 'accept', closeWith: { code: 1012, afterMs: 20 } } : { kind: 'status', status: 503 },
    );
    feed = createManagedConnection(server.url, {
      reconnect: { initialDelay: 10, maxDelay: 20, maxAttempts: 3 },
    });
    const log: string[] = [];
    feed.on('open', (conn, attempt) => log.push(`open ${attempt} ${conn === feed?.connection}`));
    feed.on('disconnect', (info, attempt) => log.push(`disconnect ${attempt} ${info.code}`));
    feed.on('retry', (retry) =>
      log.push(`retry ${retry.attempt} ${retry.info.error?.status ?? retry.info.code}`),
    );
    feed.on('error', (error) => log.push(`error ${error.code}`));
    feed.on('close', (info) => log.push(`close ${info.reason} ${info.attempts}`));
    feed.on('state', (record) => {
      if (record.to === 'closed') log.push('closed record');
    });
    await feed.open();
    const info = await feed.closed;
    log.push('closed promise');
    expect(log).toEqual([
      'open 1 true',
      'disconnect 1 1012',
      'retry 2 1012',
      'open 2 true',
      'disconnect 2 1012',
      'retry 3 1012',
      // A failed handshake shows only in the retry that follows it; here none follows: it gave up.
      'closed record',
      'error ERR_CONNECT_FAILED',
      'close gave-up 3',
      'closed promise',
    ]);
    expect(info.last?.error?.status).toBe(503);
  });

  it('a listener that throws does not break the managed connection', async () => {
    server = await startScriptedServer();
    feed = createManagedConnection(server.url);
    const thrown: unknown[] = [];
    const onUncaught = (error: unknown) => thrown.push(error);
    process.on('uncaughtException', onUncaught);
    try {
      feed.on('open', () => {
        throw new Error('listener bug');
      });
      await feed.open();
      await new Promise((resolve) => setTimeout(resolve, 10));
      expect(feed.state).toBe('open');
      expect(thrown).toEqual([expect.objectContaining({ message: 'listener bug' })]);
    } finally {
      process.off('uncaughtException', onUncaught);
    }
  });

  it('open() rejects ERR_CONNECT_ABORTED when closed before it ever opened, and never unhandled', async () => {
    feed = createManagedConnection(await refusedUrl(), { reconnect: { initialDelay: 1000 } });
    const opened = feed.open();
    await new Promise((resolve) => setTimeout(resolve, 20));
    await feed.close();
    await expect(opened).rejects.toMatchObject({ code: 'ERR_CONNECT_ABORTED' });
  });
});

describe('the url', () => {
  it('a function is called before every attempt, and may be async', async () => {
    server = await startScriptedServer((n) =>
      n === 0 ? { kind: 'status', status: 503 } : { kind: 'accept' },
    );
    const url = server.url;
    let calls = 0;
    feed = createManagedConnection(
      async () => {
        calls++;
        return `${url}/?attempt=${calls}`;
      },
      { reconnect: { initialDelay: 10, maxDelay: 20 } },
    );
    await feed.open();
    expect(calls).toBe(2);
  });

  it('a function that throws fails that attempt (retried); one that never resolves is cut at the connect deadline', async () => {
    server = await startScriptedServer();
    const url = server.url;
    let calls = 0;
    feed = createManagedConnection(
      () => {
        calls++;
        if (calls === 1) throw new Error('token service down');
        if (calls === 2) return new Promise<string>(() => {});
        return url;
      },
      { reconnect: { initialDelay: 10, maxDelay: 20 }, timeouts: { connect: 200 } },
    );
    const retries: string[] = [];
    feed.on('retry', (retry) => retries.push(retry.info.error?.code as string));
    const t0 = performance.now();
    await feed.open();
    expect(retries).toEqual(['ERR_CONNECT_FAILED', 'ERR_CONNECT_TIMEOUT']);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(199);
    expect(calls).toBe(3);
  });

  it('a function giving an invalid URL ends it (final)', async () => {
    feed = createManagedConnection(() => 'ftp://nope');
    await expect(feed.open()).rejects.toMatchObject({ code: 'ERR_INVALID_URL' });
    expect((await feed.closed).reason).toBe('final-close');
  });
});

describe('onOpen', () => {
  it('runs before the queue flush; a rejection closes the attempt with 1011 and counts as failed', async () => {
    server = await startScriptedServer();
    let calls = 0;
    feed = createManagedConnection(server.url, {
      reconnect: { initialDelay: 10, maxDelay: 20, maxAttempts: 2 },
      onOpen: async (conn, attempt) => {
        calls++;
        conn.send(`auth ${attempt}`);
        if (attempt === 1) throw new Error('auth refused');
      },
    });
    const retries: unknown[] = [];
    feed.on('retry', (retry) => retries.push(retry.onOpenError));
    feed.send('queued');
    await feed.open();
    expect(calls).toBe(2);
    expect(retries).toEqual([expect.objectContaining({ message: 'auth refused' })]);
    await waitFor(() => server?.messages[1]?.length === 2, 2000, 'the flush');
    // The first connection got the auth, never the queue, and our 1011.
    expect(server.messages[0]).toEqual(['auth 1']);
    expect(server.messages[1]).toEqual(['auth 2', 'queued']);
    const first = feed.trail.find((r) => !isSupervisorRecord(r) && r.attempt === 1 && r.to === 'closed');
    expect(first?.detail).toMatchObject({ code: 1011, reason: 'onOpen failed' });
  });

  it('is bounded by the connect deadline: too slow, the attempt is closed with 1011', async () => {
    server = await startScriptedServer();
    feed = createManagedConnection(server.url, {
      reconnect: { initialDelay: 10, maxDelay: 20, maxAttempts: 1 },
      timeouts: { connect: 200 },
      onOpen: () => new Promise<void>(() => {}),
    });
    const t0 = performance.now();
    await expect(feed.open()).rejects.toBeDefined();
    const info = await feed.closed;
    expect(performance.now() - t0).toBeGreaterThanOrEqual(199);
    expect(info.reason).toBe('gave-up');
    expect(info.last).toMatchObject({ code: 1011, reason: 'onOpen timed out', wasClean: true });
  });
});

describe('reconnect()', () => {
  it('replaces an open connection cleanly: Close 1000, then the next attempt at once, one at a time', async () => {
    server = await startScriptedServer();
    feed = createManagedConnection(server.url, { reconnect: { initialDelay: 5000 } });
    await feed.open();
    const first = feed.connection;
    feed.reconnect();
    await waitFor(() => feed?.attempt === 2 && feed.state === 'open', 2000, 'the second attempt');
    expect(feed.connection).not.toBe(first);
    expect(first?.state).toBe('closed');
    const closed1 = feed.trail.findIndex(
      (r) => !isSupervisorRecord(r) && r.attempt === 1 && r.to === 'closed',
    );
    const idle2 = feed.trail.findIndex((r) => !isSupervisorRecord(r) && r.attempt === 2 && r.to === 'idle');
    expect(closed1).toBeGreaterThanOrEqual(0);
    expect(idle2).toBeGreaterThan(closed1);
    expect((await first?.closed)?.code).toBe(1000);
  });

  it('skips the current wait', async () => {
    server = await startScriptedServer((n) =>
      n === 0 ? { kind: 'status', status: 503 } : { kind: 'accept' },
    );
    feed = createManagedConnection(server.url, {
      reconnect: { initialDelay: 60_000, maxDelay: 60_000 },
      random: () => 1,
    });
    void feed.open();
    await waitFor(() => feed?.state === 'waiting', 2000, 'waiting');
    const t0 = performance.now();
    feed.reconnect();
    await feed.open();
    expect(performance.now() - t0).toBeLessThan(1000);
  });
});

describe('one trail', () => {
  it("holds the supervisor's records and every attempt's, each with its attempt, and verifies", async () => {
    server = await startScriptedServer((n) =>
      n === 0 ? { kind: 'status', status: 503 } : { kind: 'accept' },
    );
    feed = createManagedConnection(server.url, { reconnect: { initialDelay: 10, maxDelay: 20 } });
    await feed.open();
    await feed.close();
    const trail = feed.trail;
    const attempts = new Set(trail.filter((r) => !isSupervisorRecord(r)).map((r) => r.attempt));
    expect([...attempts]).toEqual([1, 2]);
    expect(trail.every((r) => typeof r.attempt === 'number')).toBe(true);
    expect(verifyManagedTrail(trail, { complete: true })).toMatchObject({ ok: true, connections: 3 });
    // Tampering is found, on either machine's records.
    const edited = trail.map((r) => (isSupervisorRecord(r) && r.to === 'waiting' ? { ...r, to: 'open' } : r));
    expect(verifyManagedTrail(edited).ok).toBe(false);
    const moved = trail.map((r) =>
      !isSupervisorRecord(r) && r.attempt === 2 && r.seq === 0 ? { ...r, attempt: 7 } : r,
    );
    expect(verifyManagedTrail(moved).ok).toBe(false);
  });

  it('goes into one hash-chained JSONL audit that verifies, and fails when a line is edited', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'managed-audit-'));
    try {
      const file = join(dir, 'audit.jsonl');
      const audit = jsonlAudit(file);
      server = await startScriptedServer((n) =>
        n === 0 ? { kind: 'status', status: 503 } : { kind: 'accept' },
      );
      feed = createManagedConnection(server.url, { reconnect: { initialDelay: 10, maxDelay: 20 }, audit });
      await feed.open();
      await feed.close();
      await audit.close();
      const lines = readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line));
      expect(lines).toHaveLength(feed.trail.length);
      expect(verifyManagedTrail(lines, { complete: true, requireChain: true }).ok).toBe(true);
      // A supervisor record that every run has (its wait, when there was one, else its closed record),
      // with a detail that surely changes.
      const waiting = lines.findIndex((line) => line.to === 'waiting');
      const index = waiting !== -1 ? waiting : lines.findLastIndex((line) => line.to === 'closed');
      expect(index).toBeGreaterThanOrEqual(0);
      const tampered = lines.map((line, i) =>
        i === index
          ? { ...line, detail: { ...line.detail, delayMs: (line.detail?.delayMs ?? 0) + 7 } }
          : line,
      );
      expect(verifyManagedTrail(tampered, { requireChain: true }).ok).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('inspection', () => {
  it('shows the tree: each attempt a child of the supervisor', async () => {
    server = await startScriptedServer((n) =>
      n === 0 ? { kind: 'status', status: 503 } : { kind: 'accept' },
    );
    const children: unknown[] = [];
    let supervisor: unknown;
    const inspect = (event: InspectionEvent) => {
      if (event.type !== '@xstate.actor') return;
      const ref = event.actorRef as { id?: string; _parent?: unknown };
      if (ref.id === 'attempt') children.push(ref._parent);
      else if (!ref._parent && ref.id !== 'attempt') supervisor ??= ref;
    };
    feed = createManagedConnection(server.url, { reconnect: { initialDelay: 10, maxDelay: 20 }, inspect });
    await feed.open();
    expect(children).toHaveLength(2);
    expect(children.every((parent) => parent === feed?.actor)).toBe(true);
    expect(supervisor).toBe(feed.actor);
  });
});
