/**
 * Trails built by hand, without a socket: the records a clean local close leaves (idle → connecting →
 * open → closing-sent → draining → closed), for tests of verification alone.
 */
import type { AuditRecord } from '../../src/audit/audit.js';
import { createAuditChain } from '../../src/audit/audit-chain.js';

const CLEAN_CLOSE = [
  [null, 'idle', 'xstate.init', undefined],
  ['idle', 'connecting', 'api.open', undefined],
  ['connecting', 'open', 'ws.open', undefined],
  ['open', 'closing-sent', 'api.close', { code: 1000, reason: 'done' }],
  ['closing-sent', 'draining', 'ws.flushed', undefined],
  ['draining', 'closed', 'ws.closed', { code: 1000, reason: 'done' }],
] as const;

/** The six records of connection `connectionId` closing cleanly, starting at wall time `t0`. */
export function cleanCloseTrail(connectionId: string, t0 = 1_767_225_600_000): AuditRecord[] {
  return CLEAN_CLOSE.map(([from, to, event, detail], seq) => ({
    seq,
    time: t0 + seq,
    elapsedMs: seq * 1.25,
    connectionId,
    from,
    to,
    event,
    ...(detail ? { detail: { ...detail } } : {}),
  }));
}

/**
 * JSONL lines (hash-chained, as jsonlAudit writes them) of connections `a` and `b` interleaved as two
 * concurrent connections leave them: a0 a1 b0 b1 a2 b2 a3 a4 b3 b4 b5 a5.
 */
export function interleavedLines(): { lines: string[]; owners: Array<{ id: 'a' | 'b'; seq: number }> } {
  const chain = createAuditChain();
  const trails = { a: cleanCloseTrail('a'), b: cleanCloseTrail('b', 1_767_225_600_002) };
  const order = ['a', 'a', 'b', 'b', 'a', 'b', 'a', 'a', 'b', 'b', 'b', 'a'] as const;
  const next = { a: 0, b: 0 };
  const owners = order.map((id) => ({ id, seq: next[id]++ }));
  const lines = owners.map(({ id, seq }) => JSON.stringify(chain(trails[id][seq] as AuditRecord)));
  return { lines, owners };
}
