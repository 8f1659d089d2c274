/**
 * One trail for a managed connection: the supervisor's own records and every attempt's connection
 * records, in the order they happened, each with its `attempt`.
 */
import type { SupervisorDetail, SupervisorStateName } from '../../machines/supervisor-types.js';
import type { AuditRecord } from '../audit/audit.js';

/** A top-level state change of the supervisor (the managed connection). */
export interface SupervisorRecord {
  /** Tells supervisor records from connection records. */
  machine: 'supervisor';
  /** 0 for the initial `idle` record, then +1 per change. */
  seq: number;
  /** Wall clock, epoch ms. */
  time: number;
  /** Monotonic ms since the managed connection was created (µs precision). */
  elapsedMs: number;
  /** The managed connection's id. */
  connectionId: string;
  /** Attempts started so far (the current attempt's number); also in `detail.attempt`. */
  attempt: number;
  /** `null` for the initial `idle` record. */
  from: SupervisorStateName | null;
  /** The state entered. */
  to: SupervisorStateName;
  /** `api.*`, `xstate.done.actor.*`, `xstate.error.actor.*`, `xstate.after.*` or `xstate.init`. */
  event: string;
  /** What decided it; always carries `attempt` (so it survives a JSONL audit, which keeps `detail`). */
  detail: SupervisorDetail;
}

/** A connection record of one attempt. */
export type AttemptRecord = AuditRecord & {
  /** The attempt this connection is (1 for the first). */
  attempt?: number;
};

/** What a managed connection's trail and audit hold. */
export type ManagedTrailRecord = SupervisorRecord | AttemptRecord;

/**
 * Whether a record (in memory, or read back from JSONL) is the supervisor's: `machine: 'supervisor'`,
 * or, where a JSONL audit kept only the v1 fields, a `detail.attempt` (no connection record has one).
 */
export function isSupervisorRecord(record: unknown): boolean {
  if (typeof record !== 'object' || record === null) return false;
  const r = record as { machine?: unknown; detail?: { attempt?: unknown } | null };
  if (r.machine !== undefined) return r.machine === 'supervisor';
  return typeof r.detail === 'object' && r.detail !== null && typeof r.detail.attempt === 'number';
}
