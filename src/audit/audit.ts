/**
 * The audit trail: one record per top-level state change, built from what the machine emits.
 */
import type { StateName, TransitionDetail } from '../../machines/types.js';

/** One top-level state change. Later versions only add fields. */
export interface AuditRecord {
  /** 0 for the initial `idle` record, then +1 per change. */
  seq: number;
  /** Wall clock, epoch ms. */
  time: number;
  /** Monotonic ms since `createConnection` (µs precision). */
  elapsedMs: number;
  connectionId: string;
  /** `null` for the initial `idle` record. */
  from: StateName | null;
  to: StateName;
  /** Type of the event that caused the change: `api.*`, `ws.*`, `xstate.after.*` or `xstate.init`. */
  event: string;
  /** What decided it: close code and reason, error code, HTTP status, selected subprotocol. */
  detail?: TransitionDetail;
}
