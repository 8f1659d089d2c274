/**
 * Verifying a managed connection's trail: the supervisor's records are replayed through the pure
 * supervisor machine (this file), each attempt's connection records through the connection machine
 * (`verifyTrail`), and the two are held together by `attempt`.
 *
 * The supervisor records only its top-level changes; the steps between them that leave no record (the
 * attempt opening before its onOpen finished, the old attempt ending before a `reconnect()`'s new one,
 * a connection becoming stable after minUptime) are fed to the replay from what the records say.
 */
import { initialTransition, transition } from 'xstate';
import { ConnectionError, type ConnectionErrorCode } from '../../machines/connection-error.js';
import { backoffCap, supervisorMachine } from '../../machines/supervisor-machine.js';
import {
  ATTEMPT_ID,
  ON_OPEN_ID,
  type RecordedPolicy,
  SUPERVISOR_STATE_NAMES,
  type SupervisorDetail,
  type SupervisorEvent,
  type SupervisorInput,
  type SupervisorStateEmitted,
  type SupervisorStateName,
} from '../../machines/supervisor-types.js';
import type { CloseInfo } from '../../machines/types.js';
import { canonicalJson, hashRecord } from '../audit/audit-chain.js';
import {
  type TrailError,
  type TrailVerification,
  type VerifyTrailOptions,
  verifyTrail,
} from '../audit/verify-trail.js';
import { isSupervisorRecord } from './managed-trail.js';

type Snapshot = ReturnType<typeof supervisorMachine.getInitialSnapshot>;

interface Checked {
  raw: Record<string, unknown>;
  seq: number;
  connectionId: string;
  timeMs: number;
  elapsedMs: number;
  from: SupervisorStateName | null;
  to: SupervisorStateName;
  event: string;
  detail: SupervisorDetail;
  hash: string | undefined;
  prev: string | null | undefined;
}

const STATES: ReadonlySet<string> = new Set(SUPERVISOR_STATE_NAMES);
const SHA256_HEX = /^[0-9a-f]{64}$/;
/** Timers may fire this much before their delay as measured by the records' clock (ms rounding). */
const EARLY_MS = 2;

/** What the replay decides per record: the random draw and, with a custom policy, the decision. */
interface Oracle {
  random: number;
  retried: boolean;
}

/**
 * Verifies one supervisor trail (records in the order written): whole (seq 0, 1, 2…), one id, time
 * never backwards, each record starting where the last ended, the hash chain (when present, always with
 * `requireChain`), nothing after closed; the pure supervisor, fed the event each record names, makes
 * exactly that change with exactly that detail (the policy it ran with is on the idle record); and no
 * backoff fired before its delay.
 */
export function verifySupervisorTrail(
  records: Iterable<unknown>,
  options: VerifyTrailOptions = {},
): TrailVerification {
  let snapshot: Snapshot | null = null;
  let previous: Checked | null = null;
  let openedAt: number | null = null;
  let policy: RecordedPolicy | false = false;
  let connectionId: string | undefined;
  let chained = false;
  let seq = 0;
  const oracle: Oracle = { random: 1, retried: true };
  const failed = (reason: string, missing?: TrailError['missing']): TrailVerification => {
    const error: TrailError = { seq, reason };
    if (connectionId !== undefined) error.connectionId = connectionId;
    if (missing) error.missing = missing;
    return { ok: false, checked: seq, error };
  };

  for (const raw of records) {
    const record = parseRecord(raw);
    if (typeof record === 'string') return failed(record);
    if (previous === null) {
      connectionId = record.connectionId;
      chained = record.hash !== undefined;
    }
    const order = checkOrder(record, previous, seq, connectionId as string);
    if (order) return typeof order === 'string' ? failed(order) : failed(order.reason, order.missing);
    const reason = checkChain(record, previous, chained, options.requireChain === true);
    if (reason) return failed(reason);
    const expectedFrom = previous ? previous.to : null;
    if (record.from !== expectedFrom) {
      return failed(`from ${String(record.from)}, but the previous record ended in ${String(expectedFrom)}`);
    }

    let change: SupervisorStateEmitted | undefined;
    if (snapshot === null) {
      if (record.event !== 'xstate.init' || record.to !== 'idle') {
        return failed('a supervisor trail starts with its idle record (xstate.init)');
      }
      const recorded = record.detail.policy;
      if (recorded === undefined) return failed('the idle record does not carry the policy');
      policy = recorded;
      const [initial, actions] = initialTransition(
        supervisorMachine,
        replayInput(record.connectionId, recorded, oracle),
      );
      snapshot = initial;
      change = stateChanges(actions)[0];
    } else {
      const event = eventOf(record);
      if (typeof event === 'string') return failed(event);
      if (record.to === 'waiting' && policy) {
        const n = record.detail.n ?? 0;
        const cap = backoffCap(fullPolicy(policy), n);
        oracle.random = cap > 0 ? (record.detail.delayMs ?? 0) / cap : 0;
      }
      oracle.retried = !(record.to === 'closed' && record.detail.outcome === 'final-close');
      const stable =
        openedAt !== null && policy !== false && record.elapsedMs - openedAt >= policy.minUptime - EARLY_MS;
      const result = replay(snapshot, event, record, stable);
      if (typeof result === 'string') return failed(result);
      snapshot = result.snapshot;
      change = result.change;
    }
    const mismatch = compare(record, change);
    if (mismatch) return failed(mismatch);
    if (previous?.to === 'waiting' && record.event.startsWith('xstate.after.backoff.')) {
      const waited = record.elapsedMs - previous.elapsedMs;
      const delay = previous.detail.delayMs ?? 0;
      if (waited < delay - EARLY_MS) {
        return failed(`the backoff fired after ${waited} ms, before its delay of ${delay} ms`);
      }
    }
    openedAt = record.to === 'open' ? record.elapsedMs : record.from === 'open' ? null : openedAt;
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

/** The outcome of {@link verifyManagedTrail}. */
export interface ManagedTrailVerification extends TrailVerification {
  /** Trails found: the supervisor's and one per attempt's connection. */
  connections: number;
}

/**
 * Verifies a managed connection's whole trail (`feed.trail`, or the records of a JSONL audit): the
 * supervisor's records with {@link verifySupervisorTrail}, each connection's with `verifyTrail`, and,
 * where records carry `attempt`, that every attempt is one connection and was started by the supervisor.
 */
export function verifyManagedTrail(
  records: Iterable<unknown>,
  options: VerifyTrailOptions = {},
): ManagedTrailVerification {
  const groups = new Map<string, unknown[]>();
  const supervisors = new Set<string>();
  for (const record of records) {
    const id = (record as { connectionId?: unknown } | null)?.connectionId;
    const key = typeof id === 'string' ? id : '';
    const group = groups.get(key) ?? [];
    group.push(record);
    groups.set(key, group);
    if (isSupervisorRecord(record)) supervisors.add(key);
  }
  let checked = 0;
  let attempts = 0;
  const attemptOf = new Map<number, string>();
  for (const [id, group] of groups) {
    const result = supervisors.has(id) ? verifySupervisorTrail(group, options) : verifyTrail(group, options);
    checked += result.checked;
    if (!result.ok) return { ...result, checked, connections: groups.size };
    if (supervisors.has(id)) {
      const last = group.at(-1) as { detail?: { attempt?: number } };
      attempts = Math.max(attempts, last.detail?.attempt ?? 0);
      continue;
    }
    const attempt = (group[0] as { attempt?: unknown }).attempt;
    if (typeof attempt !== 'number') continue;
    const other = attemptOf.get(attempt);
    if (other !== undefined) {
      return {
        ok: false,
        checked,
        connections: groups.size,
        error: { seq: 0, connectionId: id, reason: `attempt ${attempt} is also connection ${other}` },
      };
    }
    attemptOf.set(attempt, id);
    if (group.some((record) => (record as { attempt?: unknown }).attempt !== attempt)) {
      return {
        ok: false,
        checked,
        connections: groups.size,
        error: { seq: 0, connectionId: id, reason: 'the records of one connection name different attempts' },
      };
    }
  }
  for (const [attempt, id] of attemptOf) {
    if (supervisors.size > 0 && (attempt < 1 || attempt > attempts)) {
      return {
        ok: false,
        checked,
        connections: groups.size,
        error: {
          seq: 0,
          connectionId: id,
          reason: `attempt ${attempt} was never started: the supervisor started ${attempts}`,
        },
      };
    }
  }
  return { ok: true, checked, connections: groups.size };
}

function fullPolicy(policy: RecordedPolicy) {
  return {
    initialDelay: policy.initialDelay,
    maxDelay: policy.maxDelay,
    factor: policy.factor,
    maxAttempts: policy.maxAttempts ?? Number.POSITIVE_INFINITY,
    minUptime: policy.minUptime,
  };
}

function replayInput(id: string, policy: RecordedPolicy | false, oracle: Oracle): SupervisorInput {
  const input: SupervisorInput = {
    supervisorId: id,
    reconnect: policy === false ? false : fullPolicy(policy),
    random: () => oracle.random,
  };
  if (policy !== false && policy.custom) input.shouldReconnect = () => oracle.retried;
  return input;
}

const topLevel = (snapshot: Snapshot): string =>
  typeof snapshot.value === 'string' ? snapshot.value : (Object.keys(snapshot.value)[0] ?? '');

const subState = (snapshot: Snapshot): string => {
  const value = snapshot.value as unknown;
  if (typeof value === 'string') return '';
  const inner = Object.values(value as Record<string, unknown>)[0];
  return typeof inner === 'string' ? inner : '';
};

const OPENED: SupervisorEvent = {
  type: 'xstate.snapshot.attempt',
  snapshot: { value: 'open', status: 'active' },
};
const RECONNECT: SupervisorEvent = { type: 'api.reconnect' };
const RELEASED: SupervisorEvent = {
  type: 'xstate.done.actor.attempt',
  output: { code: 1000, reason: 'reconnect', wasClean: true, initiator: 'local' },
};

/** Feeds the unrecorded steps the record implies, then its own event; returns the change it made. */
function replay(
  start: Snapshot,
  event: SupervisorEvent,
  record: Checked,
  stable: boolean,
): { snapshot: Snapshot; change: SupervisorStateEmitted | undefined } | string {
  let snapshot = start;
  const step = (implied: SupervisorEvent): SupervisorStateEmitted[] => {
    const [next, actions] = transition(supervisorMachine, snapshot, implied);
    snapshot = next;
    return stateChanges(actions);
  };
  // An open connection that lasted minUptime became stable (a delayed transition with no record).
  if (stable && topLevel(snapshot) === 'open' && subState(snapshot) === 'unstable') {
    step({ type: 'xstate.after.minUptime.supervisor.open.unstable' } as unknown as SupervisorEvent);
  }
  // reconnect() while connecting: no record shows it, but the record names a later attempt. The old
  // attempt ended (no record either) and the next one started, as many times as it takes.
  for (
    let guard = 0;
    topLevel(snapshot) === 'connecting' && record.detail.attempt > snapshot.context.attempt;
    guard++
  ) {
    if (guard > record.detail.attempt)
      return `attempt ${record.detail.attempt} cannot follow ${snapshot.context.attempt}`;
    if (subState(snapshot) !== 'releasing') step(RECONNECT);
    step(RELEASED);
  }
  // The attempt opened before its onOpen finished (no record).
  if (record.event === `xstate.done.actor.${ON_OPEN_ID}` && subState(snapshot) === 'handshake') step(OPENED);
  const changes = step(event);
  if (changes.length > 1) return `one event made ${changes.length} state changes`;
  return { snapshot, change: changes[0] };
}

function stateChanges(actions: ReadonlyArray<{ type: string; params?: unknown }>): SupervisorStateEmitted[] {
  const changes: SupervisorStateEmitted[] = [];
  for (const action of actions) {
    const emitted = (action.params as { event?: SupervisorStateEmitted } | undefined)?.event;
    if (action.type === 'xstate.emit' && emitted?.type === 'supervisor.state') changes.push(emitted);
  }
  return changes;
}

function compare(record: Checked, change: SupervisorStateEmitted | undefined): string | null {
  const on = `on ${record.event}`;
  if (!change) return `the supervisor cannot leave ${String(record.from)} ${on}`;
  if (change.to !== record.to || change.event !== record.event) {
    return `the supervisor goes from ${String(record.from)} to ${change.to} on ${change.event}, not to ${record.to} ${on}`;
  }
  const expected = canonicalJson(change.detail);
  const actual = canonicalJson(record.detail);
  return expected === actual
    ? null
    : `detail ${actual} is not what the supervisor decides ${on}: ${expected}`;
}

/** Rebuilds the event a record names from its `event` and `detail`, or says why it cannot. */
function eventOf(record: Checked): SupervisorEvent | string {
  const detail = record.detail;
  switch (record.event) {
    case 'api.open':
    case 'api.reconnect':
      return { type: record.event };
    case 'api.close':
      return { type: 'api.close', code: detail.closeCode ?? 1000, reason: detail.closeReason ?? '' };
    case `xstate.done.actor.${ATTEMPT_ID}`:
      return { type: 'xstate.done.actor.attempt', output: closeInfoOf(detail) };
    case `xstate.error.actor.${ATTEMPT_ID}`:
      return { type: 'xstate.error.actor.attempt', error: new Error('replayed') };
    case `xstate.done.actor.${ON_OPEN_ID}`:
      return { type: 'xstate.done.actor.onOpen', output: undefined };
    default:
      if (record.event.startsWith('xstate.after.'))
        return { type: record.event } as unknown as SupervisorEvent;
      return `unknown event ${JSON.stringify(record.event)}`;
  }
}

function closeInfoOf(detail: SupervisorDetail): CloseInfo {
  const info: CloseInfo = {
    code: detail.code ?? 1006,
    reason: detail.reason ?? '',
    wasClean: detail.wasClean === true,
    initiator: 'remote',
  };
  if (detail.errorCode !== undefined) {
    const error = new ConnectionError(
      detail.errorCode as ConnectionErrorCode,
      'replayed',
      detail.status === undefined ? {} : { status: detail.status },
    );
    if (detail.retryAfterMs !== undefined)
      Object.defineProperty(error, 'retryAfterMs', { value: detail.retryAfterMs });
    info.error = error;
  }
  return info;
}

function checkOrder(
  record: Checked,
  previous: Checked | null,
  seq: number,
  connectionId: string,
): string | { reason: string; missing: NonNullable<TrailError['missing']> } | null {
  if (previous?.to === 'closed')
    return `a record (seq ${record.seq}) follows the closed record: closed is final`;
  if (record.connectionId !== connectionId) {
    return `connection id ${record.connectionId} is not the trail's (${connectionId}): one trail per managed connection`;
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
  if (previous && record.timeMs < previous.timeMs) return 'time goes backwards';
  return null;
}

function checkChain(
  record: Checked,
  previous: Checked | null,
  chained: boolean,
  required: boolean,
): string | null {
  if (!chained) {
    if (required)
      return `no hash chain: seq ${record.seq} has no hash, and requireChain wants prev and hash on every record`;
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

function parseRecord(raw: unknown): Checked | string {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return 'a record is not an object';
  const r = raw as Record<string, unknown>;
  if (!Number.isSafeInteger(r.seq) || (r.seq as number) < 0) return 'seq is not a non-negative integer';
  if (typeof r.connectionId !== 'string') return 'connectionId is not a string';
  const timeMs =
    typeof r.time === 'number' ? r.time : typeof r.time === 'string' ? Date.parse(r.time) : Number.NaN;
  if (!Number.isFinite(timeMs)) return 'time is neither epoch ms nor an ISO-8601 string';
  if (typeof r.elapsedMs !== 'number' || !Number.isFinite(r.elapsedMs) || r.elapsedMs < 0) {
    return 'elapsedMs is not a non-negative number';
  }
  if (r.from !== null && !STATES.has(r.from as string))
    return `from ${JSON.stringify(r.from)} is not a supervisor state`;
  if (!STATES.has(r.to as string)) return `to ${JSON.stringify(r.to)} is not a supervisor state`;
  if (typeof r.event !== 'string' || r.event === '') return 'event is not a non-empty string';
  const detail = r.detail as SupervisorDetail | undefined;
  if (typeof detail !== 'object' || detail === null || !Number.isSafeInteger(detail.attempt)) {
    return 'detail.attempt is missing: every supervisor record carries it';
  }
  if (r.attempt !== undefined && r.attempt !== detail.attempt) return 'attempt differs from detail.attempt';
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
    from: r.from as SupervisorStateName | null,
    to: r.to as SupervisorStateName,
    event: r.event,
    detail,
    prev: r.prev as string | null | undefined,
    hash: r.hash as string | undefined,
  };
}
