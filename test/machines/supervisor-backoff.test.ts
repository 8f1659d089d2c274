/**
 * Backoff (RFC 6455 §7.2.3: a random first delay, then truncated exponential backoff), with a seeded
 * random source and a SimulatedClock. Every expected delay is computed here from the formula,
 * `random() × min(maxDelay, initialDelay × factor^n)`, never read from the machine.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConnectionError } from '../../machines/connection-error.js';
import type { CloseInfo } from '../../machines/index.js';
import { retryDelay } from '../../machines/supervisor-machine.js';
import { pureSupervisor } from '../managed/support/pure-supervisor.js';
import { draws, seededRandom } from '../managed/support/seeded-random.js';

const policy = { initialDelay: 1000, maxDelay: 30_000, factor: 2 };

/** The formula, written out: the delay of retry n given the draw r. */
function expectedDelay(r: number, n: number, p = policy): number {
  return r * Math.min(p.maxDelay, p.initialDelay * p.factor ** n);
}

describe('the delay before retry n (full jitter)', () => {
  it('follows random() × min(maxDelay, initialDelay × factor^n) for a refusing server, to the ms', () => {
    const seed = 42;
    const s = pureSupervisor({ reconnect: policy, random: seededRandom(seed) });
    s.actor.send({ type: 'api.open' });
    for (let i = 0; i < 10; i++) {
      s.refused(503);
      expect(s.value()).toBe('waiting');
      const delay = s.retries[i]?.delayMs as number;
      s.clock.increment(delay);
    }
    const r = draws(seed, 10);
    const delays = s.retries.map((retry) => retry.delayMs);
    delays.forEach((delay, n) => {
      expect(Number.isInteger(delay)).toBe(true);
      expect(Math.abs(delay - expectedDelay(r[n] as number, n))).toBeLessThanOrEqual(0.5);
    });
    // From n = 5 the cap is maxDelay (1000 × 2^5 = 32 000 > 30 000), and the jitter is still there.
    expect(new Set(delays.slice(5)).size).toBe(5);
    expect(s.retries.map((retry) => retry.attempt)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  });

  it('never retries before its delay, and exactly at it (SimulatedClock)', () => {
    const s = pureSupervisor({ reconnect: policy, random: () => 0.5 });
    s.actor.send({ type: 'api.open' });
    s.refused();
    expect(s.retries[0]?.delayMs).toBe(500);
    s.clock.increment(499);
    expect(s.value()).toBe('waiting');
    expect(s.spawned).toBe(1);
    s.clock.increment(1);
    expect(s.value()).toEqual({ connecting: 'handshake' });
    expect(s.spawned).toBe(2);
  });

  it('puts the first retry after a drop in [0, initialDelay] for any draw', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        fc.integer({ min: 0, max: 60_000 }),
        (r, initialDelay) => {
          const backoff = { ...policy, initialDelay, maxDelay: 60_000, maxAttempts: Infinity, minUptime: 0 };
          const delay = retryDelay(backoff, 0, r);
          return delay >= 0 && delay <= initialDelay && Math.abs(delay - r * initialDelay) <= 0.5;
        },
      ),
    );
  });

  it('keeps every delay within [0, maxDelay], whatever n, factor and draw', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        fc.integer({ min: 0, max: 200 }),
        fc.double({ min: 1, max: 10, noNaN: true }),
        (r, n, factor) => {
          const delay = retryDelay({ ...policy, factor, maxAttempts: Infinity, minUptime: 0 }, n, r);
          return (
            delay >= 0 &&
            delay <= policy.maxDelay &&
            Math.abs(delay - expectedDelay(r, n, { ...policy, factor })) <= 0.5
          );
        },
      ),
    );
  });
});

describe('Retry-After on HTTP 429 and 503', () => {
  const refusedWith = (status: number, retryAfterMs: number): CloseInfo => {
    const error = new ConnectionError('ERR_CONNECT_FAILED', `HTTP ${status}`, { status });
    Object.defineProperty(error, 'retryAfterMs', { value: retryAfterMs });
    return { code: 1006, reason: '', wasClean: false, initiator: 'remote', error };
  };

  it('waits at least Retry-After on a 503, even when the jitter draws less', () => {
    const s = pureSupervisor({ reconnect: policy, random: () => 0.1 });
    s.actor.send({ type: 'api.open' });
    s.actor.send({ type: 'xstate.done.actor.attempt', output: refusedWith(503, 7000) });
    expect(s.retries[0]?.delayMs).toBe(7000);
  });

  it('caps Retry-After at maxDelay', () => {
    const s = pureSupervisor({ reconnect: policy, random: () => 0.1 });
    s.actor.send({ type: 'api.open' });
    s.actor.send({ type: 'xstate.done.actor.attempt', output: refusedWith(429, 120_000) });
    expect(s.retries[0]?.delayMs).toBe(30_000);
  });

  it('keeps the jittered delay when it is longer than Retry-After', () => {
    const s = pureSupervisor({ reconnect: policy, random: () => 0.9 });
    s.actor.send({ type: 'api.open' });
    s.actor.send({ type: 'xstate.done.actor.attempt', output: refusedWith(503, 100) });
    expect(s.retries[0]?.delayMs).toBe(900);
  });

  it('ignores a Retry-After on another status', () => {
    const s = pureSupervisor({ reconnect: policy, random: () => 0.1 });
    s.actor.send({ type: 'api.open' });
    s.actor.send({ type: 'xstate.done.actor.attempt', output: refusedWith(500, 7000) });
    expect(s.retries[0]?.delayMs).toBe(100);
  });
});

describe('maxAttempts', () => {
  it('with 3, a server that refuses gets exactly three handshakes, then gives up', () => {
    const s = pureSupervisor({ reconnect: { ...policy, maxAttempts: 3 }, random: () => 0.5 });
    s.actor.send({ type: 'api.open' });
    for (let i = 0; i < 3; i++) {
      s.refused(503);
      if (i < 2) s.clock.increment(60_000);
    }
    expect(s.spawned).toBe(3);
    expect(s.value()).toBe('closed');
    const output = s.output();
    expect(output?.reason).toBe('gave-up');
    expect(output?.attempts).toBe(3);
    expect(output?.error?.code).toBe('ERR_CONNECT_FAILED');
    expect(output?.error?.status).toBe(503);
    s.clock.increment(600_000);
    expect(s.spawned).toBe(3);
  });

  it('counts an attempt that opened but dropped before minUptime as failed (accept-then-close backs off)', async () => {
    const s = pureSupervisor({ reconnect: { ...policy, minUptime: 5000, maxAttempts: 4 }, random: () => 1 });
    s.actor.send({ type: 'api.open' });
    for (let i = 0; i < 4; i++) {
      s.opened();
      await s.settle();
      s.hooks.shift()?.resolve();
      await s.settle();
      expect(s.value()).toEqual({ open: 'unstable' });
      s.clock.increment(10);
      s.peerCloses(1000);
      if (i < 3) s.clock.increment(s.retries[i]?.delayMs as number);
    }
    // The delays grow: 1000, 2000, 4000 (random 1: the caps), not 1000 every time.
    expect(s.retries.map((retry) => retry.delayMs)).toEqual([1000, 2000, 4000]);
    expect(s.output()?.reason).toBe('gave-up');
  });

  it('resets after a connection stayed open minUptime: the next drop waits as the first retry', async () => {
    const s = pureSupervisor({ reconnect: { ...policy, minUptime: 5000, maxAttempts: 2 }, random: () => 1 });
    s.actor.send({ type: 'api.open' });
    s.refused();
    s.clock.increment(1000);
    s.opened();
    await s.settle();
    s.hooks.shift()?.resolve();
    await s.settle();
    s.clock.increment(5000);
    expect(s.value()).toEqual({ open: 'stable' });
    s.dropped();
    // n = 0 again, and the attempts in a row start over (2 more before giving up).
    expect(s.retries.map((retry) => retry.delayMs)).toEqual([1000, 1000]);
    s.clock.increment(1000);
    s.refused();
    expect(s.value()).toBe('waiting');
    expect(s.retries[2]?.delayMs).toBe(2000);
    s.clock.increment(2000);
    s.refused();
    expect(s.output()?.reason).toBe('gave-up');
    expect(s.output()?.attempts).toBe(4);
  });
});
