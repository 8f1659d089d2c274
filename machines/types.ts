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

/**
 * Keepalive, activity-based: a ping goes out once `interval` ms have passed with no frame received, and
 * the connection fails (ERR_KEEPALIVE_TIMEOUT) if no frame arrives within `timeout` ms of it.
 */
export interface Keepalive {
  /**
   * Quiet time, in ms, before a ping is sent. Any frame received (data, ping, pong, Close) restarts it.
   * @default 20000
   */
  interval: number;
  /**
   * Deadline, in ms, from the ping for any frame to arrive; then the connection is failed.
   * @default 10000
   */
  timeout: number;
}

export const DEFAULT_KEEPALIVE: Readonly<Keepalive> = Object.freeze({ interval: 20_000, timeout: 10_000 });

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
  /** Names the connection in the audit trail. @default '' */
  connectionId?: string;
  timeouts?: Partial<Timeouts>;
  /** `null` turns keepalive off. @default DEFAULT_KEEPALIVE */
  keepalive?: Keepalive | null;
}

export interface ConnectionContext {
  connectionId: string;
  timeouts: Timeouts;
  /** Keepalive while open; `null` when off. */
  keepalive: Keepalive | null;
  /** Who first moved the connection out of connecting/open; null until then. */
  initiator: Initiator | null;
  /** The peer's Close frame, once it arrived. */
  received: CloseStatus | null;
  /** Our Close frame has been handed to the OS. */
  closeSent: boolean;
  /** The one failure of this connection, if any. */
  error: ConnectionError | null;
}

/**
 * Events in: from the caller (`api.*`) and from the WebSocket (`ws.*`, whatever transport drives it).
 * Timers add `xstate.after.*`.
 */
export type ConnectionEvent =
  | { type: 'api.open' }
  /** A server-side socket that is already open is handed to the machine (`adopt`). */
  | { type: 'api.adopt'; protocol: string }
  | { type: 'api.close'; code: number; reason: string }
  | { type: 'api.terminate' }
  | { type: 'api.ping' }
  | { type: 'ws.open'; protocol: string }
  | { type: 'ws.handshake-failed'; error: ConnectionError }
  | { type: 'ws.close-received'; code: number; reason: string }
  /** Our Close frame has been written to the OS (a real signal from the transport, never a guess). */
  | { type: 'ws.flushed' }
  /** TCP ended: the peer ended it, or the socket closed. */
  | { type: 'ws.closed'; code: number; reason: string }
  | { type: 'ws.protocol-error'; error: ConnectionError }
  /** A frame arrived (data, ping, pong): the peer is alive. Reported at most once per few ms. */
  | { type: 'ws.activity' };

/** Parameters of the `transport.close` command: a code and reason to send, or none to echo the peer's. */
export interface CloseCommand {
  code?: number;
  reason?: string;
}

/**
 * Commands out: the names of the actions by which the machine drives its socket. In the pure machine
 * they do nothing; a transport provides them (`machine.provide({ actions })`, see src/transports/).
 */
export const TRANSPORT_COMMANDS = [
  /** Start the opening handshake. */
  'transport.connect',
  /** Queue our Close behind the data already sent and report `ws.flushed` once it is written. */
  'transport.close',
  /** Destroy the socket at once, no handshake (aborts a handshake in progress). */
  'transport.destroy',
  /** Send a ping (or the application heartbeat); any frame back is `ws.activity`. */
  'transport.ping',
  /** The connection is over: remove every listener and timer, and end the socket if it is still there. */
  'transport.release',
] as const;
export type TransportCommand = (typeof TRANSPORT_COMMANDS)[number];
