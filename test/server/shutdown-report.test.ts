/**
 * How the shutdown counts one outcome (src/server/shutdown-report.ts), table-driven from the rules in
 * docs/server.md: clean when Close frames went both ways, whatever else happened; terminated when a
 * deadline of ours (or the shutdown's cut-off) ended it; unclean otherwise.
 */
import { describe, expect, it } from 'vitest';
import { ConnectionError } from '../../machines/connection-error.js';
import type { CloseInfo } from '../../machines/types.js';
import { outcomeKind, Tally } from '../../src/server/shutdown-report.js';

const info = (fields: Partial<CloseInfo> & { errorCode?: ConnectionError['code'] }): CloseInfo => {
  const { errorCode, ...rest } = fields;
  const value: CloseInfo = { code: 1006, reason: '', wasClean: false, initiator: 'local', ...rest };
  if (errorCode) value.error = new ConnectionError(errorCode, 'test');
  return value;
};

describe('outcomeKind', () => {
  it.each([
    ['the client echoed our Close', info({ code: 1001, wasClean: true }), false, 'clean'],
    [
      'clean, then cut at the read deadline: the client never ended TCP',
      info({ code: 1001, wasClean: true }),
      true,
      'clean',
    ],
    [
      'our Close never written (the client stopped reading)',
      info({ errorCode: 'ERR_WRITE_DEADLINE' }),
      false,
      'terminated',
    ],
    [
      'no answer to our Close (a silent client)',
      info({ errorCode: 'ERR_READ_DEADLINE' }),
      false,
      'terminated',
    ],
    ["cut at the shutdown's cut-off (longer deadlines of its own)", info({}), true, 'terminated'],
    ['TCP lost before the handshake completed', info({ errorCode: 'ERR_SOCKET' }), false, 'unclean'],
    ['the client broke the protocol', info({ errorCode: 'ERR_PROTOCOL' }), false, 'unclean'],
    ["the client's Close came, ours never went (TCP ended first)", info({ code: 4000 }), false, 'unclean'],
  ] as const)('%s → %s', (_what, outcome, cut, kind) => {
    expect(outcomeKind(outcome, cut)).toBe(kind);
  });
});

describe('Tally', () => {
  it('counts each outcome once, by kind and by code, and reports progress after each', () => {
    const seen: number[] = [];
    const tally = new Tally(performance.now(), (p) => seen.push(p.closed));
    tally.total = 3;
    tally.count(info({ code: 1001, wasClean: true }), false);
    tally.count(info({ errorCode: 'ERR_READ_DEADLINE' }), false);
    tally.count(info({ errorCode: 'ERR_SOCKET' }), false);
    const report = tally.report();
    expect(report).toMatchObject({
      total: 3,
      clean: 1,
      unclean: 1,
      terminated: 1,
      byCode: { 1001: 1, 1006: 2 },
    });
    expect(report.durationMs).toBeGreaterThanOrEqual(0);
    expect(seen).toEqual([1, 2, 3]);
  });
});
