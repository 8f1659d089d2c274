/**
 * The supervisor of a managed connection: reconnects with jittered backoff, as a pure XState v5 machine.
 *
 *   idle → connecting → open → (the attempt ends) → waiting → connecting → … → closing → closed
 *
 * Like an Erlang/OTP supervisor it never does the work itself: it spawns one connection actor per
 * attempt (child id `attempt`, so the inspector shows the tree), learns of it through the child's own
 * snapshots (`xstate.snapshot.attempt`, spawned with `syncSnapshot`) and its outcome
 * (`xstate.done.actor.attempt`, a CloseInfo), and commands it with the connection machine's own
 * `api.open` / `api.close` events. Here the child logic is the pure `connectionMachine`; the API
 * replaces it with `supervisorMachine.provide({ actors: { attempt } })` by one that drives a real
 * `Connection` (src/managed/attempt-logic.ts), and provides the caller's `onOpen` hook the same way.
 *
 * No I/O here: no socket, no clock, no `Math.random`. Waits are the named delays `backoff`,
 * `minUptime` and `prepare` (the onOpen deadline); the jitter's random source comes in with the input.
 * Never more than one attempt at a time (RFC 6455 §4.1): the next child is spawned only once the
 * previous one is done.
 */
import { assign, emit, fromPromise, sendTo, setup, spawnChild, stopChild } from 'xstate';
import { ConnectionError } from './connection-error.js';
import { connectionMachine } from './connection-machine.js';
import {
  ATTEMPT_ID,
  type Backoff,
  DEFAULT_BACKOFF,
  type ManagedCloseReason,
  ON_OPEN_ID,
  type RecordedPolicy,
  type SupervisorContext,
  type SupervisorDetail,
  type SupervisorEmitted,
  type SupervisorEvent,
  type SupervisorInput,
  type SupervisorOutput,
  type SupervisorStateName,
} from './supervisor-types.js';
import type { CloseInfo, ConnectionInput } from './types.js';

// ---------------------------------------------------------------------------------------------------
// The default policy (docs/managed.md has the table).

/** The peer's Close codes that are retried: normal, going away, none, abnormal, and the server-side trouble codes. */
export const RETRIED_CLOSE_CODES: readonly number[] = [1000, 1001, 1005, 1006, 1011, 1012, 1013, 1014];
/** The peer's Close codes that are final: the peer refuses what we sent or who we are (plus 4000–4999). */
export const FINAL_CLOSE_CODES: readonly number[] = [1002, 1003, 1007, 1008, 1009, 1010];

/** Error codes of a connection that broke or timed out: retried. */
const RETRIED_ERRORS: ReadonlySet<string> = new Set([
  'ERR_CONNECT_TIMEOUT',
  'ERR_SOCKET',
  'ERR_KEEPALIVE_TIMEOUT',
  'ERR_WRITE_DEADLINE',
  'ERR_READ_DEADLINE',
]);

/**
 * The default policy: whether an attempt that ended this way is retried.
 * - Retried: network failures and HTTP 5xx, 408, 429 (ERR_CONNECT_FAILED), the connect deadline, TCP
 *   loss, the keepalive timeout, the write and read deadlines; the peer's codes 1000, 1001, 1005, 1006,
 *   1011, 1012, 1013, 1014 (and any code not listed as final).
 * - Final: HTTP 4xx other than 408 and 429, protocol errors (ERR_PROTOCOL), any other error (an invalid
 *   URL or option), and the peer's codes 1002, 1003, 1007, 1008, 1009, 1010 and 4000–4999.
 */
export function retriedByDefault(info: CloseInfo): boolean {
  const error = info.error;
  if (error) {
    if (error.code === 'ERR_CONNECT_FAILED') {
      const status = error.status;
      // No status: the handshake never got an HTTP answer (refused, reset, DNS, TLS).
      if (status === undefined) return true;
      // RFC 9110 §15.5: a 4xx says the request itself is refused, except 408 (timeout) and 429 (rate).
      if (status >= 400 && status < 500) return status === 408 || status === 429;
      return true;
    }
    return RETRIED_ERRORS.has(error.code);
  }
  const code = info.code;
  if (code >= 4000 && code <= 4999) return false;
  return !FINAL_CLOSE_CODES.includes(code);
}

/** `min(maxDelay, initialDelay × factor^n)`: the cap of retry n's delay (RFC 6455 §7.2.3: truncated exponential). */
export function backoffCap(backoff: Backoff, n: number): number {
  return Math.min(backoff.maxDelay, backoff.initialDelay * backoff.factor ** n);
}

/** Retry-After of a 429/503 answer, in ms, when the transport captured it (`error.retryAfterMs`). */
export function retryAfterOf(info: CloseInfo | null): number | undefined {
  const error = info?.error as (ConnectionError & { retryAfterMs?: unknown }) | undefined;
  if (!error || (error.status !== 429 && error.status !== 503)) return undefined;
  const ms = error.retryAfterMs;
  return typeof ms === 'number' && Number.isFinite(ms) && ms >= 0 ? ms : undefined;
}

/**
 * The delay before retry n: full jitter, `random() × cap(n)`, rounded to whole ms (RFC 6455 §7.2.3: a
 * random delay, truncated exponential backoff). A Retry-After waits at least that long, capped by maxDelay.
 */
export function retryDelay(backoff: Backoff, n: number, random: number, retryAfterMs?: number): number {
  const fraction = Number.isFinite(random) ? Math.min(Math.max(random, 0), 1) : 1;
  const jittered = Math.round(fraction * backoffCap(backoff, n));
  if (retryAfterMs === undefined) return jittered;
  return Math.min(backoff.maxDelay, Math.max(jittered, Math.ceil(retryAfterMs)));
}

function resolveBackoff(reconnect: SupervisorInput['reconnect']): Backoff | null {
  if (reconnect === false) return null;
  return { ...DEFAULT_BACKOFF, ...reconnect };
}

function recordedPolicy(context: SupervisorContext): RecordedPolicy | false {
  const backoff = context.backoff;
  if (!backoff) return false;
  const policy: RecordedPolicy = {
    initialDelay: backoff.initialDelay,
    maxDelay: backoff.maxDelay,
    factor: backoff.factor,
    minUptime: backoff.minUptime,
  };
  if (Number.isFinite(backoff.maxAttempts)) policy.maxAttempts = backoff.maxAttempts;
  if (context.shouldReconnect) policy.custom = true;
  return policy;
}

function retried(context: SupervisorContext, info: CloseInfo): boolean {
  if (context.backoff === null) return false;
  const override = context.shouldReconnect;
  if (!override) return retriedByDefault(info);
  try {
    return override(info, context.attempt) === true;
  } catch {
    // The API isolates the caller's function (and rethrows its exception); here a throw means the default.
    return retriedByDefault(info);
  }
}

function outcomeError(reason: ManagedCloseReason, info: CloseInfo, attempts: number): ConnectionError {
  if (info.error) return info.error;
  // A clean Close, so no ConnectionError of its own: one that says why the managed connection ended.
  return reason === 'gave-up'
    ? new ConnectionError(
        'ERR_GAVE_UP',
        `gave up after ${attempts} attempts in a row (maxAttempts); the last ended with ${info.code}`,
      )
    : new ConnectionError('ERR_FINAL_CLOSE', `the peer closed with ${info.code}, which is not retried`);
}

function closeDetail(detail: SupervisorDetail, info: CloseInfo): void {
  detail.code = info.code;
  detail.reason = info.reason;
  detail.wasClean = info.wasClean;
  if (info.error) {
    detail.errorCode = info.error.code;
    if (info.error.status !== undefined) detail.status = info.error.status;
  }
  const retryAfterMs = retryAfterOf(info);
  if (retryAfterMs !== undefined) detail.retryAfterMs = retryAfterMs;
}

function detailOf(
  to: SupervisorStateName,
  context: SupervisorContext,
  event: SupervisorEvent,
): SupervisorDetail {
  const detail: SupervisorDetail = { attempt: context.attempt };
  if (to === 'idle') detail.policy = recordedPolicy(context);
  if (event.type === 'xstate.done.actor.attempt') closeDetail(detail, event.output);
  if (event.type === 'api.close') {
    detail.closeCode = event.code;
    detail.closeReason = event.reason;
  }
  if (to === 'waiting') {
    detail.n = context.retries - 1;
    detail.delayMs = context.delayMs;
  }
  if (to === 'closed' && context.outcome) detail.outcome = context.outcome.reason;
  return detail;
}

const topLevel = (value: unknown): string =>
  typeof value === 'string' ? value : (Object.keys((value ?? {}) as object)[0] ?? '');

const doneInfo = (event: SupervisorEvent): CloseInfo | null =>
  event.type === 'xstate.done.actor.attempt' ? event.output : null;

/**
 * The supervisor machine: `createActor(supervisorMachine, { input })` with a {@link SupervisorInput}. Its
 * child logic `attempt` (the connection machine) and its `onOpen` hook are placeholders the API replaces
 * with `provide({ actors })`; its delays are `backoff`, `minUptime` and `prepare`.
 */
export const supervisorMachine = setup({
  types: {
    context: {} as SupervisorContext,
    events: {} as SupervisorEvent,
    input: {} as SupervisorInput,
    output: {} as SupervisorOutput,
    emitted: {} as SupervisorEmitted,
  },
  actors: {
    // Placeholders: the API provides a child that drives a real Connection, and the caller's hook.
    attempt: connectionMachine,
    onOpen: fromPromise<void, { attempt: number }>(async () => {}),
  },
  delays: {
    backoff: ({ context }) => context.delayMs,
    minUptime: ({ context }) => (context.backoff ?? DEFAULT_BACKOFF).minUptime,
    prepare: ({ context }) => context.onOpenTimeout,
  },
  guards: {
    attemptOpen: ({ event }) =>
      event.type === 'xstate.snapshot.attempt' && topLevel(event.snapshot.value) === 'open',
    finalClose: ({ context, event }) => {
      const info = doneInfo(event);
      return info !== null && !retried(context, info);
    },
    attemptsExhausted: ({ context }) =>
      context.backoff !== null && context.streak >= context.backoff.maxAttempts,
  },
  actions: {
    recordState: emit(
      ({ context, event }, params: { to: SupervisorStateName }): SupervisorEmitted => ({
        type: 'supervisor.state',
        to: params.to,
        event: event.type,
        detail: detailOf(params.to, context, event),
      }),
    ),
    announceRetry: emit(
      ({ context }): SupervisorEmitted => ({
        type: 'supervisor.retry',
        attempt: context.attempt + 1,
        delayMs: context.delayMs,
        info: context.last as CloseInfo,
      }),
    ),
    /** One more attempt: counted in total and in the streak since the last stable connection. */
    startAttempt: assign({
      attempt: ({ context }) => context.attempt + 1,
      streak: ({ context }) => context.streak + 1,
    }),
    // RFC 6455 §4.1: one connection in CONNECTING at a time; this runs only once the previous is done.
    spawnAttempt: spawnChild('attempt', {
      id: ATTEMPT_ID,
      syncSnapshot: true,
      input: ({ context }) => {
        const input: ConnectionInput & { attempt: number } = {
          connectionId: `${context.supervisorId}/${context.attempt}`,
          attempt: context.attempt,
        };
        return input;
      },
    }),
    openAttempt: sendTo(ATTEMPT_ID, { type: 'api.open' }),
    closeAttempt: sendTo(ATTEMPT_ID, (_, params: { code: number; reason: string }) => ({
      type: 'api.close' as const,
      code: params.code,
      reason: params.reason,
    })),
    /** The caller's close(), passed on to the attempt (RFC 6455 §7.1.2 is the connection's to run). */
    closeAttemptAsAsked: sendTo(ATTEMPT_ID, ({ event }) => ({
      type: 'api.close' as const,
      code: event.type === 'api.close' ? event.code : 1000,
      reason: event.type === 'api.close' ? event.reason : '',
    })),
    releaseAttempt: stopChild(ATTEMPT_ID),
    recordLast: assign({ last: ({ context, event }) => doneInfo(event) ?? context.last }),
    requestClose: assign({
      closeRequest: ({ event }) =>
        event.type === 'api.close' ? { code: event.code, reason: event.reason } : { code: 1000, reason: '' },
    }),
    /** The connection stayed open minUptime: the attempt count and the backoff start over. */
    resetBackoff: assign({ streak: 0, retries: 0 }),
    scheduleRetry: assign(({ context }) => {
      const backoff = context.backoff ?? DEFAULT_BACKOFF;
      const delayMs = retryDelay(backoff, context.retries, context.random(), retryAfterOf(context.last));
      return { delayMs, retries: context.retries + 1 };
    }),
    outcomeClosed: assign({ outcome: { reason: 'closed' as const } }),
    outcomeFinal: assign({
      outcome: ({ context }) => ({
        reason: 'final-close' as const,
        error: outcomeError('final-close', context.last as CloseInfo, context.attempt),
      }),
    }),
    outcomeGaveUp: assign({
      outcome: ({ context }) => ({
        reason: 'gave-up' as const,
        error: outcomeError('gave-up', context.last as CloseInfo, context.streak),
      }),
    }),
    outcomeInternal: assign({
      outcome: ({ event }) => ({
        reason: 'final-close' as const,
        error: new ConnectionError('ERR_SOCKET', 'the connection actor failed internally', {
          cause: event.type === 'xstate.error.actor.attempt' ? event.error : undefined,
        }),
      }),
    }),
  },
}).createMachine({
  id: 'supervisor',
  context: ({ input }) => ({
    supervisorId: input?.supervisorId ?? '',
    backoff: resolveBackoff(input?.reconnect),
    shouldReconnect: input?.shouldReconnect ?? null,
    random: input?.random ?? (() => 1),
    onOpenTimeout: input?.onOpenTimeout ?? 10_000,
    attempt: 0,
    streak: 0,
    retries: 0,
    last: null,
    delayMs: 0,
    closeRequest: null,
    outcome: null,
  }),
  initial: 'idle',
  output: ({ context }) => {
    const outcome = context.outcome ?? { reason: 'closed' as const };
    const output: SupervisorOutput = {
      reason: outcome.reason,
      attempts: context.attempt,
      last: context.last,
    };
    if (outcome.error) output.error = outcome.error;
    return output;
  },
  on: {
    // A bug in the child logic: the managed connection ends, with an error, exactly once.
    'xstate.error.actor.attempt': {
      target: '.closed',
      actions: ['releaseAttempt', 'outcomeInternal'],
    },
  },
  states: {
    idle: {
      entry: { type: 'recordState', params: { to: 'idle' } },
      on: {
        'api.open': { target: 'connecting', actions: 'startAttempt' },
        'api.close': { target: 'closed', actions: ['requestClose', 'outcomeClosed'] },
      },
    },

    connecting: {
      entry: { type: 'recordState', params: { to: 'connecting' } },
      initial: 'handshake',
      states: {
        // The attempt's opening handshake (RFC 6455 §4.1), under its own connect deadline.
        handshake: {
          entry: ['spawnAttempt', 'openAttempt'],
          on: {
            'xstate.snapshot.attempt': { guard: 'attemptOpen', target: 'preparing' },
            'api.reconnect': {
              target: 'releasing',
              actions: { type: 'closeAttempt', params: { code: 1000, reason: 'reconnect' } },
            },
          },
        },
        // Open: the caller's onOpen (re-auth, resubscribe) runs before anything queued is flushed.
        preparing: {
          invoke: {
            id: ON_OPEN_ID,
            src: 'onOpen',
            input: ({ context }) => ({ attempt: context.attempt }),
            onDone: { target: '#supervisor.open' },
            // RFC 6455 §7.4.1: 1011, the endpoint met a condition that prevented it from going on.
            onError: {
              target: 'failing',
              actions: { type: 'closeAttempt', params: { code: 1011, reason: 'onOpen failed' } },
            },
          },
          after: {
            prepare: {
              target: 'failing',
              actions: { type: 'closeAttempt', params: { code: 1011, reason: 'onOpen timed out' } },
            },
          },
          on: {
            'api.reconnect': {
              target: 'releasing',
              actions: { type: 'closeAttempt', params: { code: 1000, reason: 'reconnect' } },
            },
          },
        },
        // onOpen failed: the attempt is closing with 1011 and counts as failed.
        failing: {
          on: { 'api.reconnect': { target: 'releasing' } },
        },
        // reconnect(): the current attempt is closing; the next starts once it is done, at once.
        releasing: {
          on: {
            'xstate.done.actor.attempt': {
              target: 'handshake',
              actions: ['releaseAttempt', 'recordLast', 'startAttempt'],
            },
          },
        },
      },
      on: {
        'xstate.done.actor.attempt': [
          {
            guard: 'finalClose',
            target: 'closed',
            actions: ['releaseAttempt', 'recordLast', 'outcomeFinal'],
          },
          {
            guard: 'attemptsExhausted',
            target: 'closed',
            actions: ['releaseAttempt', 'recordLast', 'outcomeGaveUp'],
          },
          { target: 'waiting', actions: ['releaseAttempt', 'recordLast', 'scheduleRetry'] },
        ],
        'api.close': { target: 'closing', actions: ['requestClose', 'closeAttemptAsAsked'] },
      },
    },

    open: {
      entry: { type: 'recordState', params: { to: 'open' } },
      initial: 'unstable',
      states: {
        unstable: { after: { minUptime: { target: 'stable', actions: 'resetBackoff' } } },
        stable: {},
      },
      on: {
        'xstate.done.actor.attempt': [
          {
            guard: 'finalClose',
            target: 'closed',
            actions: ['releaseAttempt', 'recordLast', 'outcomeFinal'],
          },
          {
            guard: 'attemptsExhausted',
            target: 'closed',
            actions: ['releaseAttempt', 'recordLast', 'outcomeGaveUp'],
          },
          { target: 'waiting', actions: ['releaseAttempt', 'recordLast', 'scheduleRetry'] },
        ],
        'api.close': { target: 'closing', actions: ['requestClose', 'closeAttemptAsAsked'] },
        // Replace the connection cleanly: its closing handshake first, then the next attempt at once.
        'api.reconnect': {
          target: 'connecting.releasing',
          actions: { type: 'closeAttempt', params: { code: 1000, reason: 'reconnect' } },
        },
      },
    },

    // RFC 6455 §7.2.3: wait a random time (full jitter) under a truncated exponential backoff.
    waiting: {
      entry: [{ type: 'recordState', params: { to: 'waiting' } }, 'announceRetry'],
      after: { backoff: { target: 'connecting', actions: 'startAttempt' } },
      on: {
        'api.reconnect': { target: 'connecting', actions: 'startAttempt' },
        // No connection exists: nothing to close on the wire.
        'api.close': { target: 'closed', actions: ['requestClose', 'outcomeClosed'] },
      },
    },

    // The caller's close(): the attempt runs its closing handshake under its own deadlines.
    closing: {
      entry: { type: 'recordState', params: { to: 'closing' } },
      on: {
        'xstate.done.actor.attempt': {
          target: 'closed',
          actions: ['releaseAttempt', 'recordLast', 'outcomeClosed'],
        },
      },
    },

    closed: {
      type: 'final',
      entry: { type: 'recordState', params: { to: 'closed' } },
    },
  },
});

/** The type of {@link supervisorMachine}. */
export type SupervisorMachine = typeof supervisorMachine;
