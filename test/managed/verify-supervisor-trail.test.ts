/**
 * Replaying a supervisor trail: a real one verifies (a stable connection's reset included), and each kind
 * of tampering is found at its record: an edited delay, a retry earlier than its delay, a removed or
 * reordered record, an outcome the policy would not decide. Records read back from JSONL (no `machine`
 * field) are recognised by their `detail.attempt`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createManagedConnection } from '../../src/managed/managed-connection.js';
import type { ManagedConnection } from '../../src/managed/managed-core.js';
import { isSupervisorRecord, type SupervisorRecord } from '../../src/managed/managed-trail.js';
import { verifyManagedTrail, verifySupervisorTrail } from '../../src/managed/verify-supervisor-trail.js';
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

/** 503, then open and stay past minUptime, then a 1012, then open again: every kind of record. */
async function realTrail(): Promise<SupervisorRecord[]> {
  server = await startScriptedServer((n) => (n === 0 ? { kind: 'status', status: 503 } : { kind: 'accept' }));
  // random() = 1: every delay at its cap (20 ms for n = 0).
  feed = createManagedConnection(server.url, {
    reconnect: { initialDelay: 20, maxDelay: 40, minUptime: 50 },
    random: () => 1,
  });
  await feed.open();
  await new Promise((resolve) => setTimeout(resolve, 80));
  server.sockets[0]?.close(1012, 'restart');
  await waitFor(() => feed?.attempt === 3 && feed.state === 'open', 2000, 'attempt 3 open');
  await feed.close();
  return feed.trail.filter((r): r is SupervisorRecord => isSupervisorRecord(r));
}

describe('verifySupervisorTrail', () => {
  it('verifies a real trail, the reset after minUptime included (n back to 0)', async () => {
    const records = await realTrail();
    const waits = records.filter((r) => r.to === 'waiting');
    expect(waits.map((r) => r.detail.n)).toEqual([0, 0]);
    expect(verifySupervisorTrail(records, { complete: true })).toEqual({ ok: true, checked: records.length });
  });

  it('finds a delay above its cap; one within it is only caught by the hash chain', async () => {
    const records = await realTrail();
    const i = records.findIndex((r) => r.to === 'waiting');
    const edit = (delayMs: number) =>
      records.map((r, j) => (j === i ? { ...r, detail: { ...r.detail, delayMs } } : r));
    const above = verifySupervisorTrail(edit(21));
    expect(above.ok).toBe(false);
    expect(above.error?.seq).toBe(i);
    // The draw is not recorded, so any delay in [0, cap] is one the machine could have made.
    expect(verifySupervisorTrail(edit(5)).ok).toBe(true);
  });

  it('finds a retry earlier than its delay', async () => {
    const records = await realTrail();
    const i = records.findIndex((r) => r.to === 'waiting');
    const wait = records[i] as SupervisorRecord;
    const early = records.map((r, j) =>
      j === i + 1 ? { ...r, elapsedMs: wait.elapsedMs + (wait.detail.delayMs as number) - 10 } : r,
    );
    expect(wait.detail.delayMs).toBe(20);
    const result = verifySupervisorTrail(early);
    expect(result.ok).toBe(false);
    expect(result.error?.reason).toMatch(/before its delay/);
  });

  it('finds a removed record and a reordered one', async () => {
    const records = await realTrail();
    const removed = records.filter((_, j) => j !== 2);
    expect(verifySupervisorTrail(removed).error?.missing).toEqual({ first: 2, last: 2 });
    const swapped = [...records];
    [swapped[2], swapped[3]] = [swapped[3] as SupervisorRecord, swapped[2] as SupervisorRecord];
    expect(verifySupervisorTrail(swapped).ok).toBe(false);
  });

  it('finds an outcome the default policy would not decide (a 503 made final)', async () => {
    const records = await realTrail();
    const i = records.findIndex((r) => r.to === 'waiting');
    const wait = records[i] as SupervisorRecord;
    const forged = records.slice(0, i).concat({
      ...wait,
      to: 'closed',
      detail: {
        attempt: wait.detail.attempt,
        code: 1006,
        reason: '',
        wasClean: false,
        errorCode: 'ERR_CONNECT_FAILED',
        status: 503,
        outcome: 'final-close',
      },
    });
    expect(verifySupervisorTrail(forged).ok).toBe(false);
  });

  it('recognises supervisor records read back from JSONL by detail.attempt', async () => {
    const records = await realTrail();
    const stripped = records.map(({ machine: _machine, attempt: _attempt, ...rest }) => rest);
    expect(stripped.every((r) => isSupervisorRecord(r))).toBe(true);
    expect(verifyManagedTrail(stripped, { complete: true }).ok).toBe(true);
  });
});
