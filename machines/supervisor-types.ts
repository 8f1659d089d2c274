/**
 * The values the supervisor machine (supervisor-machine.ts) takes in and gives out: a managed
 * connection that reconnects. Pure types and constants, no I/O.
 */
import type { ConnectionError } from './connection-error.js';
import type { CloseInfo } from './types.js';

/** The six top-level states of a managed connection, in lifecycle order. */
export const SUPERVISOR_STATE_NAMES = ['idle', 'connecting', 'open', 'waiting', 'closing', 'closed'] as const;
/** A top-level state of the supervisor: one of {@link SUPERVISOR_STATE_NAMES}. */
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

/** The backoff when none is given: 1 s, ×2, at most 30 s, no limit on attempts, reset after 5 s open. */
export const DEFAULT_BACKOFF: Readonly<Backoff> = Object.freeze({
  initialDelay: 1000,
  maxDelay: 30_000,
  factor: 2,
  maxAttempts: Number.POSITIVE_INFINITY,
  minUptime: 5000,
});

/** Decides whether an attempt that ended gets another; `attempt` is the number of the one that ended. */
export type ShouldReconnect = (info: CloseInfo, attempt: number) => boolean;

/** What the supervisor machine is created with (`createActor(supervisorMachine, { input })`). */
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
  /** Why it ended: your close(), maxAttempts reached, or a final close. */
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

/** The supervisor's context: its settings from the input, and what happened so far. */
export interface SupervisorContext {
  /** Names the managed connection in its trail (and prefixes its attempts' ids in the pure machine). */
  supervisorId: string;
  /** `null`: reconnect is off. */
  backoff: Backoff | null;
  /** The caller's override of the default policy, or `null`. */
  shouldReconnect: ShouldReconnect | null;
  /** The jitter's random source, in [0, 1). */
  random: () => number;
  /** Deadline for the onOpen hook, in ms. */
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
  closeRequest: {
    /** The Close code asked for. */
    code: number;
    /** The Close reason asked for. */
    reason: string;
  } | null;
  /** How it ended, once it did. */
  outcome: {
    /** Why it ended. */
    reason: ManagedCloseReason;
    /** Set for gave-up and final-close. */
    error?: ConnectionError;
  } | null;
}

/**
 * Events in: `api.*` from the caller; `xstate.snapshot.attempt` / `xstate.done.actor.attempt` /
 * `xstate.error.actor.attempt` from the connection actor the supervisor spawned (whatever its logic);
 * `xstate.done.actor.onOpen` / `xstate.error.actor.onOpen` from the invoked hook; `xstate.after.*` from timers.
 */
export type SupervisorEvent =
  | {
      /** The caller's open(). */
      type: 'api.open';
    }
  | {
      /** The caller's close(code, reason): final. */
      type: 'api.close';
      /** The Close code for the current attempt. */
      code: number;
      /** The Close reason for the current attempt. */
      reason: string;
    }
  | {
      /** The caller's reconnect(): skip the wait, or replace the connection. */
      type: 'api.reconnect';
    }
  | {
      /** A snapshot of the attempt actor (spawned with `syncSnapshot`). */
      type: 'xstate.snapshot.attempt';
      /** The attempt's snapshot: its `value` is the connection's state. */
      snapshot: {
        /** The connection's state value (`'open'`, or `{ open: 'quiet' }`). */
        value: unknown;
        /** The actor's status. */
        status?: string;
      };
    }
  | {
      /** The attempt ended. */
      type: 'xstate.done.actor.attempt';
      /** How it ended. */
      output: CloseInfo;
    }
  | {
      /** The attempt actor failed (a bug in its logic). */
      type: 'xstate.error.actor.attempt';
      /** What it threw. */
      error: unknown;
    }
  | {
      /** The onOpen hook resolved. */
      type: 'xstate.done.actor.onOpen';
      /** What it resolved with (ignored). */
      output: unknown;
    }
  | {
      /** The onOpen hook threw or rejected. */
      type: 'xstate.error.actor.onOpen';
      /** What it threw or rejected with. */
      error: unknown;
    };

/** The policy a trail records, so that a replay can check every decision. */
export interface RecordedPolicy {
  /** {@link Backoff.initialDelay}. */
  initialDelay: number;
  /** {@link Backoff.maxDelay}. */
  maxDelay: number;
  /** {@link Backoff.factor}. */
  factor: number;
  /** {@link Backoff.maxAttempts}; absent: Infinity. */
  maxAttempts?: number;
  /** {@link Backoff.minUptime}. */
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
  /** How the attempt that caused this change ended: its CloseInfo's code. */
  code?: number;
  /** …its reason. */
  reason?: string;
  /** …whether it was clean. */
  wasClean?: boolean;
  /** …its error's code. */
  errorCode?: string;
  /** …its error's HTTP status. */
  status?: number;
  /** From a 429/503 answer's Retry-After, in ms. */
  retryAfterMs?: number;
  /** Into waiting: the retry number n. */
  n?: number;
  /** Into waiting: the delay drawn, in ms. */
  delayMs?: number;
  /** Into closed: why. */
  outcome?: ManagedCloseReason;
  /** The caller's close(): its code. */
  closeCode?: number;
  /** The caller's close(): its reason. */
  closeReason?: string;
}

/** Emitted on every top-level state change (`actor.on('supervisor.state', …)`). */
export interface SupervisorStateEmitted {
  /** Always `'supervisor.state'`. */
  type: 'supervisor.state';
  /** The state entered. */
  to: SupervisorStateName;
  /** Type of the event that caused the change (`xstate.init` for the initial `idle`). */
  event: string;
  /** What decided it. */
  detail: SupervisorDetail;
}

/** Emitted when a wait begins (`actor.on('supervisor.retry', …)`). */
export interface SupervisorRetryEmitted {
  /** Always `'supervisor.retry'`. */
  type: 'supervisor.retry';
  /** The number of the attempt the wait comes before. */
  attempt: number;
  /** The wait, in ms. */
  delayMs: number;
  /** How the previous attempt ended. */
  info: CloseInfo;
}

/** What the supervisor emits (`actor.on(type, …)`). */
export type SupervisorEmitted = SupervisorStateEmitted | SupervisorRetryEmitted;
