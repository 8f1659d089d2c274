/**
 * The retry policy against real servers on 127.0.0.1: final answers stop it, a 1012 retries, an
 * accept-then-close server backs off instead of spinning, and a 503's Retry-After is honoured. The
 * server counts every TCP connection: that is what a spinning client would cost it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createManagedConnection } from '../../src/managed/managed-connection.js';
import type { ManagedConnection } from '../../src/managed/managed-core.js';
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

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('final answers stop retrying', () => {
  it.each([401, 403, 404])('HTTP %i: one handshake, final-close, the error once', async (status) => {
    server = await startScriptedServer(() => ({ kind: 'status', status }));
    feed = createManagedConnection(server.url, { reconnect: { initialDelay: 10, maxDelay: 20 } });
    const errors: unknown[] = [];
    feed.on('error', (error) => errors.push(error));
    await expect(feed.open()).rejects.toMatchObject({ code: 'ERR_CONNECT_FAILED', status });
    const info = await feed.closed;
    expect(info.reason).toBe('final-close');
    expect(errors).toHaveLength(1);
    await sleep(100);
    expect(server.connections).toBe(1);
  });

  it.each([1002, 1003, 1007, 1008, 1009, 1010, 4000, 4999])(
    'the peer closing with %i: no further connection',
    async (code) => {
      server = await startScriptedServer(() => ({ kind: 'accept', closeWith: { code, reason: 'final' } }));
      feed = createManagedConnection(server.url, { reconnect: { initialDelay: 10, maxDelay: 20 } });
      const disconnects: number[] = [];
      feed.on('disconnect', (info) => disconnects.push(info.code));
      await feed.open();
      const info = await feed.closed;
      expect(info.reason).toBe('final-close');
      expect(info.last?.code).toBe(code);
      expect(disconnects).toEqual([code]);
      await sleep(100);
      expect(server.connections).toBe(1);
    },
  );
});

describe('retried answers', () => {
  it('a 1012 (service restart) retries, and the next connection opens', async () => {
    server = await startScriptedServer((n) =>
      n === 0 ? { kind: 'accept', closeWith: { code: 1012, reason: 'restart' } } : { kind: 'accept' },
    );
    feed = createManagedConnection(server.url, { reconnect: { initialDelay: 20, maxDelay: 40 } });
    const opens: number[] = [];
    const retries: number[] = [];
    feed.on('open', (_conn, attempt) => opens.push(attempt));
    feed.on('retry', (retry) => retries.push(retry.info.code));
    await feed.open();
    await waitFor(() => opens.length === 2, 2000, 'the second open');
    expect(opens).toEqual([1, 2]);
    expect(retries).toEqual([1012]);
    expect(server.connections).toBe(2);
  });

  it('HTTP 503 with Retry-After: 1 waits a second, though initialDelay is 20 ms', async () => {
    const at: number[] = [];
    server = await startScriptedServer((n) => {
      at.push(performance.now());
      return n === 0 ? { kind: 'status', status: 503, retryAfter: '1' } : { kind: 'accept' };
    });
    feed = createManagedConnection(server.url, { reconnect: { initialDelay: 20, maxDelay: 5000 } });
    const delays: number[] = [];
    feed.on('retry', (retry) => delays.push(retry.delayMs));
    await feed.open();
    expect(delays).toEqual([1000]);
    expect((at[1] as number) - (at[0] as number)).toBeGreaterThanOrEqual(1000 - 5);
  });

  it('HTTP 429 with a Retry-After date in the past waits only the jitter', async () => {
    server = await startScriptedServer((n) =>
      n === 0
        ? { kind: 'status', status: 429, retryAfter: 'Wed, 21 Oct 2015 07:28:00 GMT' }
        : { kind: 'accept' },
    );
    feed = createManagedConnection(server.url, { reconnect: { initialDelay: 20, maxDelay: 5000 } });
    const delays: number[] = [];
    feed.on('retry', (retry) => delays.push(retry.delayMs));
    await feed.open();
    expect(delays).toHaveLength(1);
    expect(delays[0]).toBeLessThanOrEqual(20);
  });
});

describe('an accept-then-close server', () => {
  it('gets a backoff, not a spin: the connections follow the doubling caps', async () => {
    server = await startScriptedServer(() => ({ kind: 'accept', closeWith: { code: 1000 } }));
    // random() = 1: every delay at its cap, 50, 100, 200, 400, 800 … (the formula).
    feed = createManagedConnection(server.url, {
      reconnect: { initialDelay: 50, maxDelay: 10_000, minUptime: 5000 },
      random: () => 1,
    });
    const delays: number[] = [];
    feed.on('retry', (retry) => delays.push(retry.delayMs));
    void feed.open();
    await sleep(1400);
    // 50 + 100 + 200 + 400 = 750 ms of waits (plus the handshakes) fit in 1.4 s; the next, 800, does not.
    expect(delays.slice(0, 4)).toEqual([50, 100, 200, 400]);
    expect(server.connections).toBeGreaterThanOrEqual(4);
    expect(server.connections).toBeLessThanOrEqual(6);
    expect(server.mostAtOnce).toBe(1);
  });

  it('with maxAttempts 3 gives up after exactly three connections', async () => {
    server = await startScriptedServer(() => ({ kind: 'accept', closeWith: { code: 1001 } }));
    feed = createManagedConnection(server.url, {
      reconnect: { initialDelay: 10, maxDelay: 20, maxAttempts: 3 },
    });
    void feed.open();
    const info = await feed.closed;
    expect(info.reason).toBe('gave-up');
    expect(info.attempts).toBe(3);
    expect(info.error).toBeDefined();
    await sleep(100);
    expect(server.connections).toBe(3);
  });
});

describe('a server that refuses with 503', () => {
  it('with maxAttempts 3 gets exactly three handshakes', async () => {
    server = await startScriptedServer(() => ({ kind: 'status', status: 503 }));
    feed = createManagedConnection(server.url, {
      reconnect: { initialDelay: 10, maxDelay: 20, maxAttempts: 3 },
    });
    await expect(feed.open()).rejects.toMatchObject({ code: 'ERR_CONNECT_FAILED', status: 503 });
    expect((await feed.closed).reason).toBe('gave-up');
    await sleep(100);
    expect(server.connections).toBe(3);
  });
});
