/**
 * The default retry policy, table-driven from the lists (never from the machine's constants):
 * what is retried, what is final, and what is always final.
 */
import { describe, expect, it } from 'vitest';
import { ConnectionError, type ConnectionErrorCode } from '../../machines/connection-error.js';
import type { CloseInfo } from '../../machines/index.js';
import { retriedByDefault } from '../../machines/supervisor-machine.js';
import { pureSupervisor } from '../managed/support/pure-supervisor.js';

const clean = (code: number): CloseInfo => ({ code, reason: '', wasClean: true, initiator: 'remote' });
const failed = (code: ConnectionErrorCode, status?: number): CloseInfo => ({
  code: 1006,
  reason: '',
  wasClean: false,
  initiator: 'remote',
  error: new ConnectionError(code, 'test', status === undefined ? {} : { status }),
});

// The issue, "The default policy".
const RETRIED: Array<[string, CloseInfo]> = [
  ['a network failure (no HTTP answer)', failed('ERR_CONNECT_FAILED')],
  ['the connect deadline', failed('ERR_CONNECT_TIMEOUT')],
  ...[500, 502, 503, 504, 599].map((s): [string, CloseInfo] => [
    `HTTP ${s}`,
    failed('ERR_CONNECT_FAILED', s),
  ]),
  ['HTTP 408', failed('ERR_CONNECT_FAILED', 408)],
  ['HTTP 429', failed('ERR_CONNECT_FAILED', 429)],
  ['TCP loss', failed('ERR_SOCKET')],
  ['the keepalive timeout', failed('ERR_KEEPALIVE_TIMEOUT')],
  ['the write deadline', failed('ERR_WRITE_DEADLINE')],
  ['the read deadline', failed('ERR_READ_DEADLINE')],
  ...[1000, 1001, 1005, 1006, 1011, 1012, 1013, 1014].map((c): [string, CloseInfo] => [
    `Close ${c}`,
    clean(c),
  ]),
];
const FINAL: Array<[string, CloseInfo]> = [
  ...[400, 401, 403, 404, 410, 426, 499].map((s): [string, CloseInfo] => [
    `HTTP ${s}`,
    failed('ERR_CONNECT_FAILED', s),
  ]),
  ['a protocol error', failed('ERR_PROTOCOL')],
  ...[1002, 1003, 1007, 1008, 1009, 1010, 4000, 4001, 4500, 4999].map((c): [string, CloseInfo] => [
    `Close ${c}`,
    clean(c),
  ]),
];

describe('the default policy', () => {
  it.each(RETRIED)('retries %s', (_, info) => {
    expect(retriedByDefault(info)).toBe(true);
  });
  it.each(FINAL)('does not retry %s', (_, info) => {
    expect(retriedByDefault(info)).toBe(false);
  });

  it('a final close ends it: reason final-close, the error, no further attempt', () => {
    const s = pureSupervisor({ random: () => 0 });
    s.actor.send({ type: 'api.open' });
    s.refused(403);
    expect(s.value()).toBe('closed');
    expect(s.output()?.reason).toBe('final-close');
    expect(s.output()?.error?.status).toBe(403);
    expect(s.retries).toEqual([]);
    s.clock.increment(120_000);
    expect(s.spawned).toBe(1);
  });

  it('a final Close code without an error still reports one (the error is set for final-close)', async () => {
    const s = pureSupervisor({ random: () => 0 });
    s.actor.send({ type: 'api.open' });
    s.opened();
    await s.settle();
    s.hooks.shift()?.resolve();
    await s.settle();
    s.peerCloses(1008, 'policy');
    expect(s.output()?.reason).toBe('final-close');
    expect(s.output()?.last?.code).toBe(1008);
    expect(s.output()?.error).toBeInstanceOf(ConnectionError);
  });
});

describe('shouldReconnect', () => {
  it('overrides the default both ways, with the CloseInfo and the attempt that ended', () => {
    const calls: Array<[number, number]> = [];
    const s = pureSupervisor({
      random: () => 0,
      shouldReconnect: (info, attempt) => {
        calls.push([info.error?.status ?? info.code, attempt]);
        return attempt === 1; // retry a 403 once, then stop a 503
      },
    });
    s.actor.send({ type: 'api.open' });
    s.refused(403);
    expect(s.value()).toBe('waiting');
    s.clock.increment(0);
    s.refused(503);
    expect(s.value()).toBe('closed');
    expect(s.output()?.reason).toBe('final-close');
    expect(calls).toEqual([
      [403, 1],
      [503, 2],
    ]);
  });

  it('cannot go past maxAttempts', () => {
    const s = pureSupervisor({ random: () => 0, reconnect: { maxAttempts: 2 }, shouldReconnect: () => true });
    s.actor.send({ type: 'api.open' });
    s.refused(403);
    s.clock.increment(0);
    s.refused(403);
    expect(s.output()?.reason).toBe('gave-up');
    expect(s.spawned).toBe(2);
  });

  it('is not consulted for the caller close()', async () => {
    let called = 0;
    const s = pureSupervisor({
      shouldReconnect: () => {
        called++;
        return true;
      },
    });
    s.actor.send({ type: 'api.open' });
    s.opened();
    await s.settle();
    s.hooks.shift()?.resolve();
    await s.settle();
    s.actor.send({ type: 'api.close', code: 1000, reason: 'bye' });
    s.closeCompletes();
    expect(s.output()?.reason).toBe('closed');
    expect(s.output()?.error).toBeUndefined();
    expect(called).toBe(0);
  });

  it('a throw means the default policy', () => {
    const s = pureSupervisor({
      random: () => 0,
      shouldReconnect: () => {
        throw new Error('bug');
      },
    });
    s.actor.send({ type: 'api.open' });
    s.refused(503);
    expect(s.value()).toBe('waiting');
  });
});

describe('reconnect: false', () => {
  it('ends at the first end, even a retried one', () => {
    const s = pureSupervisor({ reconnect: false });
    s.actor.send({ type: 'api.open' });
    s.refused(503);
    expect(s.output()?.reason).toBe('final-close');
    expect(s.states[0]?.detail.policy).toBe(false);
  });
});
