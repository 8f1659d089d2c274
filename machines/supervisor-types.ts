/**
 * The values the supervisor machine (supervisor-machine.ts) takes in and gives out: a managed
 * connection that reconnects. Pure types and constants, no I/O.
 */
import type { ConnectionError } from './connection-error.js';
import type { CloseInfo } from './types.js';

/** The six top-level states of a managed connection, in lifecycle order. */
export const SUPERVISOR_STATE_NAMES = ['idle', 'connecting', 'open', 'waiting', 'closing', 'closed'] as const;
export type SupervisorStateName = (typeof SUPERVISOR_STATE_NAMES)[number];

/** The id of the one connection actor the supervisor runs at a time (RFC 6455 §4.1: one in CONNECTING). */
export const ATTEMPT_ID = 'attempt';
/** The id of the invoked `onOpen` hook. */
export const ON_OPEN_ID = 'onOpen';

/** Backoff between attempts: the delay before retry n is `random() × min(maxDelay, initialDelay × factor^n)`. */
export interface Backoff {
  /**
   * Cap of the first retry's delay, in ms: the first retry after a drop waits a random time in [0, initialDelay].
   * @default 1000
   */
  initialDelay: number;
  /**
   * Cap of every delay, in ms (a `Retry-After` wait included).
   * @default 30000
   */
  maxDelay: number;
  /**
   * Growth of the cap per retry.
   * @default 2
   */
  factor: number;
  /**
   * Failed attempts in a row since the last stable connection, the first one included, before giving up.
   * @default Infinity
   */
  maxAttempts: number;
  /**
   * How long, in ms, a connection must stay open before the attempt count and backoff reset.
   * @default 5000
   */
  minUptime: number;
}

export const DEFAULT_BACKOFF: Readonly<Backoff> = Object.freeze({
  initialDelay: 1000,
  maxDelay: 30_000,
  factor: 2,
  maxAttempts: Number.POSITIVE_INFINITY,
  minUptime: 5000,
});

/** Decides whether an attempt that ended gets another; `attempt` is the number of the one that ended. */
export type ShouldReconnect = (info: CloseInfo, attempt: number) => boolean;

export interface SupervisorInput {
  /** Names the managed connection in its trail. @default '' */
  supervisorId?: string;
  /** Backoff; `false` never reconnects (every end is final). @default DEFAULT_BACKOFF */
  reconnect?: Partial<Backoff> | false;
  /** Overrides the default policy (`retriedByDefault`); never the caller's close() or maxAttempts. */
  shouldReconnect?: ShouldReconnect;
  /**
   * The random source of the jitter, a number in [0, 1). Injected so the machine stays pure: the API
   * passes `Math.random`, tests a seeded generator.
   * @default () => 1 (no jitter: every delay at its cap)
   */
  random?: () => number;
  /**
   * Deadline for the `onOpen` hook, in ms (the connect deadline).
   * @default 10000
   */
  onOpenTimeout?: number;
}

/** Why a managed connection ended. */
export type ManagedCloseReason =
  /** The caller's close(). */
  | 'closed'
  /** `maxAttempts` failed attempts in a row. */
  | 'gave-up'
  /** An attempt ended in a way the policy does not retry (or reconnect is off). */
  | 'final-close';

/** The supervisor machine's output. The API adds `unsent` to make a `ManagedCloseInfo`. */
export interface SupervisorOutput {
  reason: ManagedCloseReason;
  /** Attempts made (connections started). */
  attempts: number;
  /** How the last attempt ended; `null` if none ever started. */
  last: CloseInfo | null;
  /** Set for 'gave-up' and 'final-close' (the last attempt's error, or one describing the close); never for 'closed'. */
  error?: ConnectionError;
}

/** How a managed connection ended. Delivered exactly once. */
export interface ManagedCloseInfo extends SupervisorOutput {
  /** Every queued message that never went out, in order. */
  unsent: Array<string | Uint8Array>;
}

export interface SupervisorContext {
  supervisorId: string;
  /** `null`: reconnect is off. */
  backoff: Backoff | null;
  shouldReconnect: ShouldReconnect | null;
  random: () => number;
  onOpenTimeout: number;
  /** Attempts started so far; the number of the current (or last) one. */
  attempt: number;
  /** Attempts started since the last stable connection (counted against maxAttempts). */
  streak: number;
  /** Retries (waits) since the last stable connection: `n` of the next delay. */
  retries: number;
  /** How the last attempt ended. */
  last: CloseInfo | null;
  /** The current wait, once computed. */
  delayMs: number;
  /** The caller's close(), once called. */
  closeRequest: { code: number; reason: string } | null;
  outcome: { reason: ManagedCloseReason; error?: ConnectionError } | null;
}

/**
 * Events in: `api.*` from the caller; `xstate.snapshot.attempt` / `xstate.done.actor.attempt` /
 * `xstate.error.actor.attempt` from the connection actor the supervisor spawned (whatever its logic);
 * `xstate.done.actor.onOpen` / `xstate.error.actor.onOpen` from the invoked hook; `xstate.after.*` from timers.
 */
export type SupervisorEvent =
  | { type: 'api.open' }
  | { type: 'api.close'; code: number; reason: string }
  | { type: 'api.reconnect' }
  | { type: 'xstate.snapshot.attempt'; snapshot: { value: unknown; status?: string } }
  | { type: 'xstate.done.actor.attempt'; output: CloseInfo }
  | { type: 'xstate.error.actor.attempt'; error: unknown }
  | { type: 'xstate.done.actor.onOpen'; output: unknown }
  | { type: 'xstate.error.actor.onOpen'; error: unknown };

/** The policy a trail records, so that a replay can check every decision. */
export interface RecordedPolicy {
  initialDelay: number;
  maxDelay: number;
  factor: number;
  /** Absent: Infinity. */
  maxAttempts?: number;
  minUptime: number;
  /** A `shouldReconnect` override decided; a replay takes its decisions from the trail. */
  custom?: true;
}

/** What decided a supervisor state change, as recorded in the trail. Always carries `attempt`. */
export interface SupervisorDetail {
  /** Attempts started so far (the current attempt's number). */
  attempt: number;
  /** On the idle record: the policy, or `false` when reconnect is off. */
  policy?: RecordedPolicy | false;
  /** How the attempt that caused this change ended (its CloseInfo). */
  code?: number;
  reason?: string;
  wasClean?: boolean;
  errorCode?: string;
  status?: number;
  /** From a 429/503 answer's Retry-After, in ms. */
  retryAfterMs?: number;
  /** Into waiting: the retry number n and the delay drawn. */
  n?: number;
  delayMs?: number;
  /** Into closed: why. */
  outcome?: ManagedCloseReason;
  /** The caller's close(): its code and reason. */
  closeCode?: number;
  closeReason?: string;
}

/** Emitted on every top-level state change (`actor.on('supervisor.state', …)`). */
export interface SupervisorStateEmitted {
  type: 'supervisor.state';
  to: SupervisorStateName;
  event: string;
  detail: SupervisorDetail;
}

/** Emitted when a wait begins (`actor.on('supervisor.retry', …)`). */
export interface SupervisorRetryEmitted {
  type: 'supervisor.retry';
  /** The number of the attempt the wait comes before. */
  attempt: number;
  delayMs: number;
  /** How the previous attempt ended. */
  info: CloseInfo;
}

export type SupervisorEmitted = SupervisorStateEmitted | SupervisorRetryEmitted;
