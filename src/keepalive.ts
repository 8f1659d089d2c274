/**
 * The `keepalive` option: checked and resolved before anything is created. The behaviour is the
 * machine's (`open`'s sub-states `quiet` and `awaiting-pong`); this file only validates.
 */
import { ConnectionError } from '../machines/connection-error.js';
import { DEFAULT_KEEPALIVE, type Keepalive } from '../machines/types.js';

/** The `keepalive` option. */
export interface KeepaliveOptions {
  /**
   * Quiet time in ms before a ping: any frame received (data, ping, pong, Close) restarts it, so a busy
   * feed sends no pings. Integer from 1 to 2^31−1.
   * @default 20000
   */
  interval?: number;
  /**
   * Deadline in ms from the ping for any frame to arrive; then the connection fails with
   * ERR_KEEPALIVE_TIMEOUT (Close 1011 as a best effort, then the socket goes). Integer from 1 to 2^31−1.
   * @default 10000
   */
  timeout?: number;
  /**
   * Application-level heartbeat, for servers that expect a message (Phoenix, many exchange feeds) and
   * transports without ping frames: sent instead of a ping frame. Requires `isPong`.
   * @default none (a ping frame)
   * @example () => JSON.stringify({ type: 'ping' })
   */
  message?: () => string | Uint8Array;
  /**
   * Tells the heartbeat's reply among received messages (for `conn.ping()` and `conn.latency`). Every
   * message still reaches 'message' listeners, and any message ends the deadline. Requires `message`.
   * @example (data) => typeof data === 'string' && data.includes('"pong"')
   */
  isPong?: (data: string | Uint8Array) => boolean;
}

/** Keepalive as a connection runs it. */
export interface ResolvedKeepalive {
  interval: number;
  timeout: number;
  message: (() => string | Uint8Array) | undefined;
  isPong: ((data: string | Uint8Array) => boolean) | undefined;
  /** Activity is reported to the machine at most once per this many ms (see `Driver.frame`). */
  sampleMs: number;
  /** What the machine needs (its input): the two delays, one frozen object shared by its connections. */
  limits: Keepalive;
}

const MAX_TIMEOUT = 2 ** 31 - 1;
const KEYS = new Set(['interval', 'timeout', 'message', 'isPong']);
/** The longest a ping may leave early because activity is sampled. */
const MAX_SAMPLE_MS = 50;

function invalid(message: string): ConnectionError {
  return new ConnectionError('ERR_INVALID_OPTIONS', message);
}

/**
 * `undefined` gives the default; `false` turns keepalive off. `requireHeartbeat` is for transports that
 * cannot send ping frames (the standard WebSocket): there keepalive must be the heartbeat.
 */
export function resolveKeepalive(
  value: unknown,
  { requireHeartbeat = false, defaultOn = true }: { requireHeartbeat?: boolean; defaultOn?: boolean } = {},
): ResolvedKeepalive | null {
  if (value === false) return null;
  if (value === undefined) {
    if (!defaultOn) return null;
    return DEFAULT_RESOLVED;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalid(`keepalive must be an object or false, got ${value === null ? 'null' : typeof value}`);
  }
  const options = value as Record<string, unknown>;
  for (const key of Object.keys(options)) {
    if (!KEYS.has(key))
      throw invalid(`unknown keepalive option ${JSON.stringify(key)} (interval, timeout, message, isPong)`);
  }
  const resolved: ResolvedKeepalive = {
    interval: ms(options.interval, 'interval', DEFAULT_KEEPALIVE.interval),
    timeout: ms(options.timeout, 'timeout', DEFAULT_KEEPALIVE.timeout),
    message: fn(options.message, 'message') as ResolvedKeepalive['message'],
    isPong: fn(options.isPong, 'isPong') as ResolvedKeepalive['isPong'],
    sampleMs: 0,
    limits: DEFAULT_KEEPALIVE,
  };
  if ((resolved.message === undefined) !== (resolved.isPong === undefined)) {
    throw invalid('keepalive.message and keepalive.isPong go together: the heartbeat needs both');
  }
  if (requireHeartbeat && resolved.message === undefined) {
    throw invalid(
      'keepalive on the standard WebSocket needs an application heartbeat: it cannot send ping frames, so give keepalive.message and keepalive.isPong (or keepalive: false)',
    );
  }
  return withSample(resolved);
}

function withSample(keepalive: ResolvedKeepalive): ResolvedKeepalive {
  keepalive.sampleMs = Math.min(MAX_SAMPLE_MS, Math.floor(keepalive.interval / 4));
  keepalive.limits = Object.freeze({ interval: keepalive.interval, timeout: keepalive.timeout });
  return Object.freeze(keepalive);
}

/** The default, shared by every connection that does not set keepalive. */
const DEFAULT_RESOLVED: ResolvedKeepalive = withSample({
  ...DEFAULT_KEEPALIVE,
  message: undefined,
  isPong: undefined,
  sampleMs: 0,
  limits: DEFAULT_KEEPALIVE,
});

function ms(value: unknown, key: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_TIMEOUT) {
    throw invalid(
      `keepalive.${key} must be an integer number of ms from 1 to ${MAX_TIMEOUT}, got ${typeof value === 'number' ? String(value) : value === null ? 'null' : typeof value}`,
    );
  }
  return value;
}

function fn(value: unknown, key: string): unknown {
  if (value === undefined || typeof value === 'function') return value;
  throw invalid(`keepalive.${key} must be a function, got ${value === null ? 'null' : typeof value}`);
}
