/**
 * Validation of `adopt`'s and `shutdown`'s options: bad input gets a ConnectionError
 * (ERR_INVALID_OPTIONS, ERR_INVALID_CLOSE_CODE, ERR_INVALID_CLOSE_REASON) before anything is created or
 * sent. The checks are createConnection's (src/core/options-core.ts, src/keepalive.ts); only the
 * option sets differ.
 */

import type { InspectionEvent, Observer } from 'xstate';
import { validateCloseStatus } from '../../machines/close-codes.js';
import type { Timeouts } from '../../machines/types.js';
import type { AuditRecord } from '../audit/audit.js';
import {
  type InspectOption,
  invalid,
  isPlainObject,
  optionalFunction,
  resolveInspect,
  resolveTimeouts,
  resolveTrail,
  typeName,
} from '../core/options-core.js';
import { type KeepaliveOptions, type ResolvedKeepalive, resolveKeepalive } from '../keepalive.js';

/** The closing deadlines a server-side connection runs under. */
export type ServerTimeouts = Pick<Timeouts, 'write' | 'read'>;

/** Options of {@link adopt}. */
export interface AdoptOptions {
  /**
   * The closing deadlines in ms, integers from 1 to 2^31−1: `write` for our Close frame to be written,
   * `read` for the client's Close and FIN after it. No `connect`: an adopted socket is open already.
   * @default { write: 5000, read: 5000 }
   */
  timeouts?: Partial<ServerTimeouts>;
  /**
   * Keepalive while open, activity-based, as on a client: a ping once `interval` ms passed with no frame
   * received; the connection fails with ERR_KEEPALIVE_TIMEOUT if nothing arrives within `timeout` ms of
   * it. `false` turns it off. With `message`/`isPong`, an application heartbeat instead of ping frames.
   * @default { interval: 20000, timeout: 10000 }
   */
  keepalive?: KeepaliveOptions | false;
  /**
   * Called with every state change, as it happens (the first is `idle`, then `idle → open` on
   * `api.adopt`).
   * @default none
   */
  audit?: (record: AuditRecord) => void;
  /**
   * Keep `conn.trail`. `false` keeps nothing per connection.
   * @default true
   */
  trail?: boolean;
  /**
   * XState inspection observer, passed to `createActor` (e.g. `@statelyai/inspect`'s `inspect`).
   * @default none
   */
  inspect?: ((event: InspectionEvent) => void) | Observer<InspectionEvent>;
}

/** {@link AdoptOptions}, checked. */
export interface ResolvedAdoptOptions {
  timeouts: Timeouts;
  keepalive: ResolvedKeepalive | null;
  audit: ((record: AuditRecord) => void) | undefined;
  inspect: InspectOption | undefined;
  trail: boolean;
}

const ADOPT_KEYS = new Set(['timeouts', 'keepalive', 'audit', 'trail', 'inspect']);

export function resolveAdoptOptions(options: unknown): ResolvedAdoptOptions {
  const o = optionsObject(options, ADOPT_KEYS, 'adopt');
  return {
    timeouts: resolveServerTimeouts(o.timeouts),
    keepalive: resolveKeepalive(o.keepalive),
    audit: optionalFunction(o.audit, 'audit') as ResolvedAdoptOptions['audit'],
    inspect: resolveInspect(o.inspect),
    trail: resolveTrail(o.trail),
  };
}

/** Counts while a shutdown runs: what `onProgress` receives. */
export interface ShutdownProgress {
  /** Connections the shutdown is closing (open or closing when it began). */
  total: number;
  /** Those that have ended so far: `clean + unclean + terminated`. */
  closed: number;
  /** Ended with Close frames both ways, so far (see {@link ShutdownReport}). */
  clean: number;
  /** Ended by the client or the network before the handshake completed, so far. */
  unclean: number;
  /** Cut at a deadline, so far. */
  terminated: number;
  /** `total − closed`. */
  pending: number;
  /** Ms since the shutdown began. */
  elapsedMs: number;
}

/** Options of {@link shutdown}. */
export interface ShutdownOptions {
  /**
   * Close code sent to every client (RFC 6455 §7.4.1: 1001, "going away", a server going down).
   * Sendable codes only: 1000–1003, 1007–1014, 3000–4999.
   * @default 1001
   */
  code?: number;
  /**
   * Close reason sent to every client, at most 123 UTF-8 bytes.
   * @default 'server shutting down'
   */
  reason?: string;
  /**
   * The closing deadlines in ms for every connection, and so the bound of the whole shutdown: it ends
   * within `write + read + 100` ms. Sockets never adopted are adopted with them. A connection adopted
   * with longer deadlines is terminated at `write` if its Close is still unwritten, and at
   * `write + read` if it is still running.
   * @default { write: 5000, read: 5000 }
   */
  timeouts?: Partial<ServerTimeouts>;
  /**
   * Called with the counts once the closes have started and again each time a connection ends. An
   * exception it throws is rethrown asynchronously and does not stop the shutdown.
   * @default none
   */
  onProgress?: (progress: ShutdownProgress) => void;
}

/** {@link ShutdownOptions}, checked. */
export interface ResolvedShutdownOptions {
  code: number;
  reason: string;
  timeouts: Timeouts;
  onProgress: ((progress: ShutdownProgress) => void) | undefined;
}

/** RFC 6455 §7.4.1: 1001 indicates that an endpoint is "going away", such as a server going down. */
export const DEFAULT_SHUTDOWN_CODE = 1001;
export const DEFAULT_SHUTDOWN_REASON = 'server shutting down';

const SHUTDOWN_KEYS = new Set(['code', 'reason', 'timeouts', 'onProgress']);

export function resolveShutdownOptions(options: unknown): ResolvedShutdownOptions {
  const o = optionsObject(options, SHUTDOWN_KEYS, 'shutdown');
  const status = validateCloseStatus(o.code ?? DEFAULT_SHUTDOWN_CODE, o.reason ?? DEFAULT_SHUTDOWN_REASON);
  return {
    code: status.code,
    reason: status.reason,
    timeouts: resolveServerTimeouts(o.timeouts),
    onProgress: optionalFunction(o.onProgress, 'onProgress') as ResolvedShutdownOptions['onProgress'],
  };
}

function optionsObject(options: unknown, keys: ReadonlySet<string>, what: string): Record<string, unknown> {
  if (options === undefined) return {};
  if (!isPlainObject(options)) throw invalid(`${what} options must be an object, got ${typeName(options)}`);
  for (const key of Object.keys(options)) {
    if (!keys.has(key))
      throw invalid(`unknown ${what} option ${JSON.stringify(key)} (${[...keys].join(', ')})`);
  }
  return options;
}

/** `write` and `read` only: a server-side connection has no opening handshake of ours to bound. */
function resolveServerTimeouts(value: unknown): Timeouts {
  if (isPlainObject(value) && 'connect' in value) {
    throw invalid(
      'timeouts.connect does not apply on the server side: the socket is open already (write, read)',
    );
  }
  return resolveTimeouts(value);
}
