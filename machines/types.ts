/**
 * The values the lifecycle machine takes in and gives out. Pure types, no runtime code.
 */
import type { ConnectionError, ConnectionErrorCode } from './connection-error.js';

/** The six top-level states, in lifecycle order. */
export const STATE_NAMES = ['idle', 'connecting', 'open', 'closing-sent', 'draining', 'closed'] as const;
export type StateName = (typeof STATE_NAMES)[number];

/** Deadlines in milliseconds. */
export interface Timeouts {
  /**
   * From `open()` until the opening handshake completes; then the handshake is aborted.
   * @default 10000
   */
  connect: number;
  /**
   * From `close()` (or our reply to the peer's Close) until our Close frame has been handed to the OS;
   * then the socket is destroyed.
   * @default 5000
   */
  write: number;
  /**
   * From the moment our Close frame was written until the peer's Close has arrived and TCP has ended;
   * then the socket is destroyed. Never extended by incoming data.
   * @default 5000
   */
  read: number;
}

export const DEFAULT_TIMEOUTS: Readonly<Timeouts> = Object.freeze({
  connect: 10_000,
  write: 5_000,
  read: 5_000,
});

export type Initiator = 'local' | 'remote';

/** A Close frame's status: what the peer sent, or what we send. */
export interface CloseStatus {
  code: number;
  reason: string;
}

/** How a connection ended. Delivered exactly once, never changes. */
export interface CloseInfo {
  /** The peer's Close code; 1005 if its Close carried none; 1006 if no Close frame arrived. */
  code: number;
  /** The peer's Close reason ('' when none arrived). */
  reason: string;
  /** Close frames went both ways (and TCP ended, or we ended it after the peer's Close, RFC 6455 §7.1.1). */
  wasClean: boolean;
  /** Who first moved the connection out of connecting/open. */
  initiator: Initiator;
  /** Set if and only if the connection failed; the same instance `'error'` and `open()` report. */
  error?: ConnectionError;
}

/** What decided a state change, as recorded in the audit trail. */
export interface TransitionDetail {
  code?: number;
  reason?: string;
  errorCode?: ConnectionErrorCode;
  status?: number;
  protocol?: string;
}

/** Emitted by the machine on every top-level state change (`actor.on('lifecycle.state', …)`). */
export interface StateChangeEmitted {
  type: 'lifecycle.state';
  to: StateName;
  /** Type of the event that caused the change (`xstate.init` for the initial `idle`). */
  event: string;
  detail?: TransitionDetail;
}

export interface ConnectionInput {
  /** Names the connection to its socket actor and in the audit trail. @default '' */
  connectionId?: string;
  timeouts?: Partial<Timeouts>;
}

export interface ConnectionContext {
  connectionId: string;
  timeouts: Timeouts;
  /** Who first moved the connection out of connecting/open; null until then. */
  initiator: Initiator | null;
  /** The peer's Close frame, once it arrived. */
  received: CloseStatus | null;
  /** Our Close frame has been handed to the OS. */
  closeSent: boolean;
  /** The one failure of this connection, if any. */
  error: ConnectionError | null;
}

/** Events from the caller (`api.*`) and from the socket (`ws.*`). Timers add `xstate.after.*`. */
export type ConnectionEvent =
  | { type: 'api.open' }
  | { type: 'api.close'; code: number; reason: string }
  | { type: 'api.terminate' }
  | { type: 'ws.open'; protocol: string }
  | { type: 'ws.handshake-failed'; error: ConnectionError }
  | { type: 'ws.close-received'; code: number; reason: string }
  | { type: 'ws.flushed' }
  | { type: 'ws.closed'; code: number; reason: string }
  | { type: 'ws.protocol-error'; error: ConnectionError };

/** Commands the machine sends to its socket actor. */
export type SocketCommand =
  | { type: 'socket.connect' }
  /** Send our Close (with code and reason when we start the handshake; ws echoes the peer's by itself) and report `ws.flushed` once it is written. */
  | { type: 'socket.close'; code?: number; reason?: string }
  /** Destroy the socket at once, no handshake (aborts a handshake in progress). */
  | { type: 'socket.destroy' };

export interface SocketActorInput {
  connectionId: string;
  timeouts: Timeouts;
}
