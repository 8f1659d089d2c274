/**
 * `verifyTrail`: replays one connection's audit trail through the pure lifecycle machine and checks
 * that it is whole, in order, unaltered (when hash-chained) and possible.
 */
import { initialTransition, transition } from 'xstate';
import { isSendableCloseCode, MAX_CLOSE_REASON_BYTES } from '../../machines/close-codes.js';
import { ConnectionError } from '../../machines/connection-error.js';
import { connectionMachine } from '../../machines/connection-machine.js';
import {
  type ConnectionEvent,
  STATE_NAMES,
  type StateChangeEmitted,
  type StateName,
  type TransitionDetail,
} from '../../machines/types.js';
import { isSupervisorRecord } from '../managed/managed-trail.js';
import { verifyManagedTrail } from '../managed/verify-supervisor-trail.js';
import type { AuditRecord } from './audit.js';
import { AUDIT_SCHEMA_VERSION, canonicalJson, hashRecord, type JsonlAuditRecord } from './audit-chain.js';

/** What `verifyTrail` takes: `conn.trail` records, or parsed JSONL / pino lines (extra fields are ignored). */
export type TrailRecord = AuditRecord | JsonlAuditRecord;

/** Options of {@link verifyTrail}. */
export interface VerifyTrailOptions {
  /**
   * Require the trail to end with its `closed` record. Without it, a trail that stops early (a
   * connection still running, or a file cut short) verifies as far as it goes.
   * @default false
   */
  complete?: boolean;
  /**
   * Require the hash chain: every record must carry `prev` and `hash` (as `jsonlAudit` writes by
   * default). Without it, a trail whose first record has no `hash` is checked without the chain, so a
   * file whose hash fields were all removed, and whose lines were then edited consistently, verifies.
   * Leave it off for `conn.trail`, `hash: false` files and plain pino records, which carry no chain.
   * @default false
   */
  requireChain?: boolean;
}

/** Where and why verification failed. */
export interface TrailError {
  /**
   * The first seq that cannot be trusted: the record at this seq is missing, misplaced, altered, or
   * one the machine could not have produced. All records before it verified.
   */
  seq: number;
  /** Why, in words (e.g. which field was edited, or which seqs are missing). */
  reason: string;
  /** The trail's connection id, when known. */
  connectionId?: string;
  /**
   * Set when records are missing at this point (removed, or moved further down): seqs `first`…`last`
   * (`error.seq` is `first`). `last` is `null` when the trail ends before its closed record
   * (`complete`), so any number of records may be missing.
   */
  missing?: {
    /** The first missing seq. */
    first: number;
    /** The last missing seq; `null` when the trail ends before its closed record. */
    last: number | null;
  };
}

/** The outcome of {@link verifyTrail}. */
export interface TrailVerification {
  /** Every record verified (then `error` is absent). */
  ok: boolean;
  /** Records that verified, from seq 0. */
  checked: number;
  /** The first record that failed, and why; absent when `ok`. */
  error?: TrailError;
}

type Snapshot = ReturnType<typeof connectionMachine.getInitialSnapshot>;

interface Checked {
  raw: Record<string, unknown>;
  seq: number;
  connectionId: string;
  timeMs: number;
  elapsedMs: number;
  from: StateName | null;
  to: StateName;
  event: string;
  detail: TransitionDetail | undefined;
  prev: string | null | undefined;
  hash: string | undefined;
}

const STATES: ReadonlySet<string> = new Set(STATE_NAMES);
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;
const encoder = new TextEncoder();

/**
 * Verifies one connection's trail (records in the order they were written): seq runs 0, 1, 2… with
 * no gap or repeat; one connection id; neither `time` nor `elapsedMs` goes backwards; each record
 * starts where the previous one ended; the hash chain holds (when the records carry `hash`, and
 * always with `requireChain`); nothing follows `closed`; and the pure machine, fed the event each
 * record names (rebuilt from `event` and `detail`), makes exactly that change with exactly that detail.
 *
 * @example
 * const result = verifyTrail(conn.trail);
 * if (!result.ok) console.error(`seq ${result.error?.seq}: ${result.error?.reason}`);
 * // Records read back from a jsonlAudit file: refuse one whose hash fields were stripped.
 * verifyTrail(records, { requireChain: true, complete: true });
 */
export function verifyTrail(records: Iterable<unknown>, options: VerifyTrailOptions = {}): TrailVerification {
  const list = Array.isArray(records) ? records : [...records];
  // A managed connection's trail: the supervisor's records and each attempt's, each replayed through
  // its own machine (src/managed/verify-supervisor-trail.ts).
  if (list.some(isSupervisorRecord)) {
    const { connections: _connections, ...result } = verifyManagedTrail(list, options);
    return result;
  }
  let snapshot: Snapshot | null = null;
  let queued: StateChangeEmitted[] = [];
  let previous: Checked | null = null;
  let connectionId: string | undefined;
  let chained = false;
  let seq = 0;
  const failed = (reason: string, missing?: TrailError['missing']): TrailVerification => {
    const error: TrailError = { seq, reason };
    if (connectionId !== undefined) error.connectionId = connectionId;
    if (missing) error.missing = missing;
    return { ok: false, checked: seq, error };
  };

  for (const raw of list) {
    const record = parseRecord(raw);
    if (typeof record === 'string') return failed(record);
    if (previous === null) {
      connectionId = record.connectionId;
      chained = record.hash !== undefined;
    }
    const order = checkOrder(record, previous, seq, connectionId as string);
    if (order) return typeof order === 'string' ? failed(order) : failed(order.reason, order.missing);
    const reason =
      checkChain(record, previous, chained, options.requireChain === true) ?? checkFrom(record, previous);
    if (reason) return failed(reason);

    let changes: StateChangeEmitted[];
    if (snapshot === null) {
      const [initial, actions] = initialTransition(connectionMachine, { connectionId: record.connectionId });
      snapshot = initial;
      changes = stateChanges(actions);
    } else if (queued.length > 0) {
      changes = queued;
    } else {
      const event = eventOf(record);
      if (typeof event === 'string') return failed(event);
      snapshot = withKeepalivePing(withPeerClose(snapshot, record), event);
      const [next, actions] = transition(connectionMachine, snapshot, event);
      snapshot = next;
      changes = stateChanges(actions);
    }
    const [change, ...rest] = changes;
    queued = rest;
    const mismatch = compare(record, change);
    if (mismatch) return failed(mismatch);
    previous = record;
    seq++;
  }

  if (previous === null) return failed('the trail is empty: it must start with the idle record (seq 0)');
  if (options.complete && previous.to !== 'closed') {
    return failed(`the trail ends at seq ${previous.seq} in ${previous.to}: the closed record is missing`, {
      first: seq,
      last: null,
    });
  }
  return { ok: true, checked: seq };
}

function checkOrder(
  record: Checked,
  previous: Checked | null,
  seq: number,
  connectionId: string,
): string | { reason: string; missing: NonNullable<TrailError['missing']> } | null {
  if (previous?.to === 'closed') {
    return `a record (seq ${record.seq}) follows the closed record: closed is final`;
  }
  if (record.connectionId !== connectionId) {
    return `connection id ${record.connectionId} is not the trail's (${connectionId}): one trail per connection`;
  }
  if (record.seq > seq) {
    const missing = record.seq - 1 === seq ? `seq ${seq} is` : `seq ${seq}…${record.seq - 1} are`;
    return {
      reason: `seq ${record.seq} where ${seq} was expected: ${missing} missing`,
      missing: { first: seq, last: record.seq - 1 },
    };
  }
  if (record.seq < seq) return `seq ${record.seq} where ${seq} was expected: repeated or out of order`;
  if (previous && record.elapsedMs < previous.elapsedMs) {
    return `elapsedMs goes backwards (${record.elapsedMs} after ${previous.elapsedMs})`;
  }
  if (previous && record.timeMs < previous.timeMs) {
    return `time goes backwards (${String(record.raw.time)} after ${String(previous.raw.time)})`;
  }
  return null;
}

function checkChain(
  record: Checked,
  previous: Checked | null,
  chained: boolean,
  required: boolean,
): string | null {
  if (!chained) {
    if (required) {
      return `no hash chain: seq ${record.seq} has no hash, and requireChain wants prev and hash on every record (were they removed?)`;
    }
    return record.hash === undefined && record.prev === undefined
      ? null
      : 'hash or prev appears in a trail whose first record has no hash';
  }
  if (record.hash === undefined) return 'hash missing in a hash-chained trail';
  if (hashRecord(record.raw) !== record.hash)
    return "hash does not match the record's content: the record was altered";
  const expected = previous ? previous.hash : null;
  if (record.prev !== expected) {
    return previous
      ? `prev does not match the hash of seq ${previous.seq}: the chain is broken`
      : 'prev of the first record must be null';
  }
  return null;
}

function checkFrom(record: Checked, previous: Checked | null): string | null {
  const expected = previous ? previous.to : null;
  return record.from === expected
    ? null
    : `from ${String(record.from)}, but the previous record ended in ${String(expected)}`;
}

/** The `lifecycle.state` events the machine emitted in `actions`. */
function stateChanges(actions: ReadonlyArray<{ type: string; params?: unknown }>): StateChangeEmitted[] {
  const changes: StateChangeEmitted[] = [];
  for (const action of actions) {
    const emitted = (action.params as { event?: StateChangeEmitted } | undefined)?.event;
    if (action.type === 'xstate.emit' && emitted?.type === 'lifecycle.state') changes.push(emitted);
  }
  return changes;
}

function compare(record: Checked, change: StateChangeEmitted | undefined): string | null {
  const on = `on ${record.event}`;
  if (!change) return `the machine cannot leave ${String(record.from)} ${on}`;
  if (change.to !== record.to || change.event !== record.event) {
    return `the machine goes from ${String(record.from)} to ${change.to} on ${change.event}, not to ${record.to} ${on}`;
  }
  const expected = canonicalJson(change.detail ?? null);
  const actual = canonicalJson(record.detail ?? null);
  return expected === actual ? null : `detail ${actual} is not what the machine decides ${on}: ${expected}`;
}

/**
 * The peer's Close can arrive while closing-sent or draining without a state change, so no record
 * shows it; the closed record's code tells (1006 means no Close arrived, RFC 6455 §7.1.5). Feed it.
 */
function withPeerClose(snapshot: Snapshot, record: Checked): Snapshot {
  const code = record.detail?.code;
  if (
    record.to !== 'closed' ||
    code === undefined ||
    code === 1006 ||
    snapshot.context.received !== null ||
    !(snapshot.value === 'closing-sent' || snapshot.value === 'draining')
  ) {
    return snapshot;
  }
  const [next] = transition(connectionMachine, snapshot, {
    type: 'ws.close-received',
    code,
    reason: record.detail?.reason ?? '',
  });
  return next;
}

/**
 * Keepalive's sub-states of open are not recorded: a closed record on the pong deadline means a ping
 * went out first, after the quiet interval. Feed that step (open.quiet → open.awaiting-pong).
 */
function withKeepalivePing(snapshot: Snapshot, event: ConnectionEvent): Snapshot {
  if (!event.type.startsWith('xstate.after.pong.')) return snapshot;
  if (!snapshot.matches({ open: 'quiet' } as never)) return snapshot;
  const [next] = transition(connectionMachine, snapshot, {
    type: 'xstate.after.interval.connection.open.quiet',
  } as unknown as ConnectionEvent);
  return next;
}

/** Rebuilds the event a record names from its `event` and `detail`, or says why it cannot. */
function eventOf(record: Checked): ConnectionEvent | string {
  const detail = record.detail ?? {};
  switch (record.event) {
    case 'api.open':
    case 'api.terminate':
    case 'ws.flushed':
      return { type: record.event };
    case 'api.close': {
      // Into closed (never opened, or aborted) the detail is the outcome, not the arguments.
      if (record.to === 'closed') return { type: 'api.close', code: 1000, reason: '' };
      const { code, reason = '' } = detail;
      if (!isSendableCloseCode(code) || encoder.encode(reason).length > MAX_CLOSE_REASON_BYTES) {
        return `api.close with code ${String(code)}: close() refuses it (RFC 6455 §7.4)`;
      }
      return { type: 'api.close', code, reason };
    }
    case 'ws.open':
      return { type: 'ws.open', protocol: detail.protocol ?? '' };
    case 'api.adopt':
      return { type: 'api.adopt', protocol: detail.protocol ?? '' };
    case 'ws.handshake-failed': {
      const options = detail.status === undefined ? {} : { status: detail.status };
      return { type: record.event, error: new ConnectionError('ERR_CONNECT_FAILED', 'replayed', options) };
    }
    case 'ws.protocol-error':
      return { type: record.event, error: new ConnectionError('ERR_PROTOCOL', 'replayed') };
    case 'ws.close-received':
    case 'ws.closed':
      return { type: record.event, code: detail.code ?? 1006, reason: detail.reason ?? '' };
    default:
      if (record.event.startsWith('xstate.after.'))
        return { type: record.event } as unknown as ConnectionEvent;
      return `unknown event ${JSON.stringify(record.event)}`;
  }
}

/** Checks one record's shape; returns it typed, or why it is malformed. */
function parseRecord(raw: unknown): Checked | string {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return 'a record is not an object';
  const r = raw as Record<string, unknown>;
  if (r.v !== undefined && r.v !== AUDIT_SCHEMA_VERSION) return `unsupported schema version ${String(r.v)}`;
  if (!Number.isSafeInteger(r.seq) || (r.seq as number) < 0) return 'seq is not a non-negative integer';
  if (typeof r.connectionId !== 'string') return 'connectionId is not a string';
  const timeMs = timeOf(r.time);
  if (timeMs === null) return 'time is neither epoch ms nor an ISO-8601 string';
  if (typeof r.elapsedMs !== 'number' || !Number.isFinite(r.elapsedMs) || r.elapsedMs < 0) {
    return 'elapsedMs is not a non-negative number';
  }
  if (r.from !== null && !STATES.has(r.from as string))
    return `from ${JSON.stringify(r.from)} is not a state`;
  if (!STATES.has(r.to as string)) return `to ${JSON.stringify(r.to)} is not a state`;
  if (typeof r.event !== 'string' || r.event === '') return 'event is not a non-empty string';
  if (
    r.detail !== undefined &&
    (typeof r.detail !== 'object' || r.detail === null || Array.isArray(r.detail))
  ) {
    return 'detail is not an object';
  }
  if (r.prev !== undefined && r.prev !== null && !(typeof r.prev === 'string' && SHA256_HEX.test(r.prev))) {
    return 'prev is not a sha256 hex string';
  }
  if (r.hash !== undefined && !(typeof r.hash === 'string' && SHA256_HEX.test(r.hash))) {
    return 'hash is not a sha256 hex string';
  }
  return {
    raw: r,
    seq: r.seq as number,
    connectionId: r.connectionId,
    timeMs,
    elapsedMs: r.elapsedMs,
    from: r.from as StateName | null,
    to: r.to as StateName,
    event: r.event,
    detail: r.detail as TransitionDetail | undefined,
    prev: r.prev as string | null | undefined,
    hash: r.hash as string | undefined,
  };
}

function timeOf(time: unknown): number | null {
  if (typeof time === 'number') return Number.isFinite(time) ? time : null;
  if (typeof time !== 'string' || !ISO_TIME.test(time)) return null;
  const ms = Date.parse(time);
  return Number.isNaN(ms) ? null : ms;
}
