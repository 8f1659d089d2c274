/**
 * A real server goes away and comes back: a ws echo server in its own process is killed by PID and
 * started again on the same port 2 s later, with 100 managed clients connected to it.
 * - all of them are back within maxDelay + 2 s of the server's return;
 * - no retry comes earlier than its computed delay;
 * - their first retries spread over [0, initialDelay] (a Kolmogorov–Smirnov distance to the uniform
 *   distribution, which bunched delays cannot pass).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createManagedConnection } from '../../src/managed/managed-connection.js';
import type { ManagedConnection } from '../../src/managed/managed-core.js';
import type { SupervisorRecord } from '../../src/managed/managed-trail.js';
import { verifyManagedTrail } from '../../src/managed/verify-supervisor-trail.js';
import { waitFor } from '../helpers.js';
import { type ServerProcess, startServerProcess } from './support/server-process.js';

const CLIENTS = 100;
const INITIAL_DELAY = 200;
const MAX_DELAY = 1000;
const DOWN_MS = 2000;
/** Timers may fire up to a ms early against the clock the records use (rounding to whole ms). */
const TIMER_SLACK_MS = 1;

/** The largest distance between the empirical CDF of `values` and the uniform CDF on [0, max]. */
function ksDistance(values: number[], max: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  let d = 0;
  sorted.forEach((value, i) => {
    const f = Math.min(Math.max(value / max, 0), 1);
    d = Math.max(d, Math.abs((i + 1) / sorted.length - f), Math.abs(i / sorted.length - f));
  });
  return d;
}

let server: ServerProcess | null = null;
const feeds: ManagedConnection[] = [];

afterAll(async () => {
  await Promise.all(feeds.map((feed) => feed.close()));
  await server?.kill();
});

describe('a server process that goes away and comes back', () => {
  it('brings 100 clients back in time, never early, with spread first retries', {
    timeout: 30_000,
  }, async () => {
    server = await startServerProcess();
    const port = server.port;
    for (let i = 0; i < CLIENTS; i++) {
      feeds.push(
        createManagedConnection(`ws://127.0.0.1:${port}`, {
          reconnect: { initialDelay: INITIAL_DELAY, maxDelay: MAX_DELAY },
          keepalive: false,
          timeouts: { connect: 2000 },
        }),
      );
    }
    await Promise.all(feeds.map((feed) => feed.open()));
    expect(feeds.every((feed) => feed.state === 'open')).toBe(true);

    await server.kill();
    const killedAt = performance.now();
    server = null;
    await waitFor(() => feeds.every((feed) => feed.state !== 'open'), 2000, 'every client to see the drop');
    await new Promise((resolve) =>
      setTimeout(resolve, Math.max(DOWN_MS - (performance.now() - killedAt), 0)),
    );
    server = await startServerProcess(port);
    const backAt = performance.now();
    expect(server.port).toBe(port);

    await waitFor(
      () => feeds.every((feed) => feed.state === 'open'),
      MAX_DELAY + 2000 + 1000,
      'every client to be open again',
    );
    const allBackAfter = performance.now() - backAt;
    console.log(`all ${CLIENTS} clients back ${Math.round(allBackAfter)} ms after the server's return`);
    expect(allBackAfter).toBeLessThanOrEqual(MAX_DELAY + 2000);

    const firstDelays: number[] = [];
    let retries = 0;
    for (const feed of feeds) {
      const records = feed.trail.filter((r): r is SupervisorRecord => 'machine' in r);
      const waits = records.filter((r) => r.to === 'waiting');
      // The first wait is the first retry after the drop: n = 0.
      expect(waits[0]?.detail.n).toBe(0);
      firstDelays.push(waits[0]?.detail.delayMs as number);
      for (const wait of waits) {
        const next = records[records.indexOf(wait) + 1];
        if (!next) continue;
        expect(next.event).toMatch(/^xstate\.after\.backoff\./);
        retries++;
        // No retry earlier than its computed delay.
        expect(next.elapsedMs - wait.elapsedMs).toBeGreaterThanOrEqual(
          (wait.detail.delayMs as number) - TIMER_SLACK_MS,
        );
        // …and each delay within its cap: the formula, min(maxDelay, initialDelay × 2^n).
        const cap = Math.min(MAX_DELAY, INITIAL_DELAY * 2 ** (wait.detail.n as number));
        expect(wait.detail.delayMs).toBeLessThanOrEqual(cap);
      }
      expect(verifyManagedTrail(feed.trail).ok).toBe(true);
    }
    expect(retries).toBeGreaterThanOrEqual(CLIENTS);

    // Spread over [0, initialDelay], not bunched: at n = 100 the 0.1 % critical KS distance is 0.195.
    expect(Math.min(...firstDelays)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...firstDelays)).toBeLessThanOrEqual(INITIAL_DELAY);
    const d = ksDistance(firstDelays, INITIAL_DELAY);
    console.log(`first retries: KS distance to uniform [0, ${INITIAL_DELAY}] = ${d.toFixed(3)}`);
    expect(d).toBeLessThan(0.25);
  });
});

describe('the spread check itself', () => {
  it('fails bunched delays and passes uniform ones', () => {
    expect(ksDistance(Array(100).fill(INITIAL_DELAY), INITIAL_DELAY)).toBeGreaterThan(0.9);
    expect(ksDistance(Array(100).fill(INITIAL_DELAY / 2), INITIAL_DELAY)).toBeGreaterThan(0.45);
    const even = Array.from({ length: 100 }, (_, i) => ((i + 0.5) / 100) * INITIAL_DELAY);
    expect(ksDistance(even, INITIAL_DELAY)).toBeLessThan(0.02);
  });
});
