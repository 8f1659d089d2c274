/**
 * The options a managed connection adds to those of each attempt's connection, checked before anything
 * is created (ConnectionError ERR_INVALID_OPTIONS).
 */
import type { InspectionEvent, Observer } from 'xstate';
import { ConnectionError } from '../../machines/connection-error.js';
import { type Backoff, DEFAULT_BACKOFF, type ShouldReconnect } from '../../machines/supervisor-types.js';
import { DEFAULT_TIMEOUTS } from '../../machines/types.js';
import type { Connection } from '../core/connection-core.js';
import type { ManagedTrailRecord } from './managed-trail.js';
import { DEFAULT_QUEUE, type QueueOptions } from './send-queue.js';

/** The `reconnect` option. Delays in ms. */
export interface ReconnectOptions {
  /**
   * Cap of the first retry's delay: the first retry after a drop waits a random time in [0, initialDelay].
   * Integer from 0 to 2^31−1.
   * @default 1000
   */
  initialDelay?: number;
  /**
   * Cap of every delay, a Retry-After wait included. Integer from 0 to 2^31−1.
   * @default 30000
   */
  maxDelay?: number;
  /**
   * Growth of the cap per retry: retry n waits `random() × min(maxDelay, initialDelay × factor^n)`.
   * A finite number ≥ 1.
   * @default 2
   */
  factor?: number;
  /**
   * Attempts in a row since the last stable connection, the first one included, before giving up
   * (`'gave-up'`). With 3, a server that refuses gets exactly three handshakes. Integer ≥ 1, or Infinity.
   * @default Infinity
   */
  maxAttempts?: number;
  /**
   * How long a connection must stay open before the attempt count and backoff reset; one that drops
   * sooner counts as a failed attempt (an accept-then-close server backs off instead of spinning).
   * Integer from 0 to 2^31−1.
   * @default 5000
   */
  minUptime?: number;
  /**
   * Overrides the default policy (docs/managed.md): return true to retry. Never consulted for your own
   * close(), and cannot go past maxAttempts. A throw means the default policy (and is rethrown
   * asynchronously). `attempt` is the number of the attempt that ended.
   * @default the default policy
   * @example (info) => info.code !== 4001 // 4001: our app's "session revoked"
   */
  shouldReconnect?: ShouldReconnect;
}

/** What a managed connection takes besides each attempt's connection options. */
export interface ManagedOwnOptions {
  /**
   * Reconnection with full-jitter backoff; `false` never reconnects (the first end is final).
   * @default { initialDelay: 1000, maxDelay: 30000, factor: 2, maxAttempts: Infinity, minUptime: 5000 }
   */
  reconnect?: ReconnectOptions | false;
  /**
   * The send queue while not open, bounded by count and bytes; `false`: `send` throws ERR_INVALID_STATE
   * unless open.
   * @default { maxMessages: 1000, maxBytes: 1048576 }
   */
  queue?: QueueOptions | false;
  /**
   * Runs on every open, before the queue is flushed (re-authenticate, resubscribe), and is awaited
   * under the connect deadline. If it throws, rejects or takes longer, the attempt is closed with 1011
   * and counts as failed.
   * @default none
   * @example async (conn) => { conn.send(JSON.stringify({ op: 'auth', token })); }
   */
  onOpen?: (connection: Connection, attempt: number) => void | Promise<void>;
  /**
   * Every record, as it happens: the managed connection's (`machine: 'supervisor'`) and each attempt's
   * connection records (with `attempt`). `jsonlAudit(...)` fits.
   * @default none
   */
  audit?(record: ManagedTrailRecord): void;
  /**
   * Keep `feed.trail` (every record of every attempt: about ten per attempt). `false` keeps nothing.
   * @default true
   */
  trail?: boolean;
  /**
   * XState inspection observer: the supervisor and its attempt children, and each attempt's connection.
   * @default none
   */
  inspect?: ((event: InspectionEvent) => void) | Observer<InspectionEvent>;
  /**
   * The jitter's random source, a number in [0, 1).
   * @default Math.random
   */
  random?: () => number;
}

export interface ResolvedManagedOptions {
  backoff: Backoff | null;
  shouldReconnect: ShouldReconnect | undefined;
  queue: { maxMessages: number; maxBytes: number } | null;
  onOpen: ManagedOwnOptions['onOpen'];
  audit: ((record: ManagedTrailRecord) => void) | undefined;
  trail: boolean;
  inspect: ManagedOwnOptions['inspect'];
  random: () => number;
  /** The connect deadline of each attempt, which also bounds onOpen. */
  connectTimeout: number;
  /** Everything else: each attempt's connection options. */
  connection: Record<string, unknown>;
}

const OWN_KEYS = new Set(['reconnect', 'queue', 'onOpen', 'audit', 'trail', 'inspect', 'random']);
const RECONNECT_KEYS = new Set([
  'initialDelay',
  'maxDelay',
  'factor',
  'maxAttempts',
  'minUptime',
  'shouldReconnect',
]);
const QUEUE_KEYS = new Set(['maxMessages', 'maxBytes']);
const MAX_DELAY = 2 ** 31 - 1;

function invalid(message: string): ConnectionError {
  return new ConnectionError('ERR_INVALID_OPTIONS', message);
}

function kind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'number' ? String(value) : typeof value;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function integer(value: unknown, name: string, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(`${name} must be an integer from ${min} to ${max}, got ${kind(value)}`);
  }
  return value;
}

function fn<T>(value: unknown, name: string): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function') throw invalid(`${name} must be a function, got ${kind(value)}`);
  return value as T;
}

function resolveReconnect(value: unknown): { backoff: Backoff | null; shouldReconnect?: ShouldReconnect } {
  if (value === false) return { backoff: null };
  if (value === undefined) return { backoff: { ...DEFAULT_BACKOFF } };
  if (!isPlainObject(value)) throw invalid(`reconnect must be an object or false, got ${kind(value)}`);
  for (const key of Object.keys(value)) {
    if (!RECONNECT_KEYS.has(key)) {
      throw invalid(`unknown reconnect option ${JSON.stringify(key)} (${[...RECONNECT_KEYS].join(', ')})`);
    }
  }
  const factor = value.factor ?? DEFAULT_BACKOFF.factor;
  if (typeof factor !== 'number' || !Number.isFinite(factor) || factor < 1) {
    throw invalid(`reconnect.factor must be a finite number of at least 1, got ${kind(factor)}`);
  }
  const maxAttempts = value.maxAttempts ?? DEFAULT_BACKOFF.maxAttempts;
  if (
    typeof maxAttempts !== 'number' ||
    !(maxAttempts === Number.POSITIVE_INFINITY || (Number.isInteger(maxAttempts) && maxAttempts >= 1))
  ) {
    throw invalid(
      `reconnect.maxAttempts must be an integer of at least 1 or Infinity, got ${kind(maxAttempts)}`,
    );
  }
  const backoff: Backoff = {
    initialDelay: integer(
      value.initialDelay,
      'reconnect.initialDelay',
      0,
      MAX_DELAY,
      DEFAULT_BACKOFF.initialDelay,
    ),
    maxDelay: integer(value.maxDelay, 'reconnect.maxDelay', 0, MAX_DELAY, DEFAULT_BACKOFF.maxDelay),
    factor,
    maxAttempts,
    minUptime: integer(value.minUptime, 'reconnect.minUptime', 0, MAX_DELAY, DEFAULT_BACKOFF.minUptime),
  };
  const shouldReconnect = fn<ShouldReconnect>(value.shouldReconnect, 'reconnect.shouldReconnect');
  return shouldReconnect ? { backoff, shouldReconnect } : { backoff };
}

function resolveQueue(value: unknown): ResolvedManagedOptions['queue'] {
  if (value === false) return null;
  if (value === undefined) return { ...DEFAULT_QUEUE };
  if (!isPlainObject(value)) throw invalid(`queue must be an object or false, got ${kind(value)}`);
  for (const key of Object.keys(value)) {
    if (!QUEUE_KEYS.has(key))
      throw invalid(`unknown queue option ${JSON.stringify(key)} (maxMessages, maxBytes)`);
  }
  return {
    maxMessages: integer(value.maxMessages, 'queue.maxMessages', 1, 2 ** 32 - 1, DEFAULT_QUEUE.maxMessages),
    maxBytes: integer(value.maxBytes, 'queue.maxBytes', 1, Number.MAX_SAFE_INTEGER, DEFAULT_QUEUE.maxBytes),
  };
}

function resolveInspect(value: unknown): ManagedOwnOptions['inspect'] {
  if (value === undefined || typeof value === 'function') return value as ManagedOwnOptions['inspect'];
  if (isPlainObject(value) || (typeof value === 'object' && value !== null)) {
    if (typeof (value as { next?: unknown }).next === 'function') return value as Observer<InspectionEvent>;
  }
  throw invalid(`inspect must be a function or an observer with next(), got ${kind(value)}`);
}

/** The connect deadline the attempts will run with (checked by the connection factory itself). */
function connectTimeoutOf(connection: Record<string, unknown>): number {
  const timeouts = connection.timeouts;
  const connect = isPlainObject(timeouts) ? timeouts.connect : undefined;
  return typeof connect === 'number' && Number.isInteger(connect) && connect >= 1 && connect <= MAX_DELAY
    ? connect
    : DEFAULT_TIMEOUTS.connect;
}

/** Splits and checks the options; throws ConnectionError ERR_INVALID_OPTIONS. */
export function resolveManagedOptions(options: unknown): ResolvedManagedOptions {
  if (options === undefined) options = {};
  if (!isPlainObject(options)) throw invalid(`options must be an object, got ${kind(options)}`);
  const connection: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) if (!OWN_KEYS.has(key)) connection[key] = value;
  const { backoff, shouldReconnect } = resolveReconnect(options.reconnect);
  const trail = options.trail ?? true;
  if (typeof trail !== 'boolean') throw invalid(`trail must be a boolean, got ${kind(trail)}`);
  return {
    backoff,
    shouldReconnect,
    queue: resolveQueue(options.queue),
    onOpen: fn(options.onOpen, 'onOpen'),
    audit: fn(options.audit, 'audit'),
    trail,
    inspect: resolveInspect(options.inspect),
    random: fn<() => number>(options.random, 'random') ?? Math.random,
    connectTimeout: connectTimeoutOf(connection),
    connection,
  };
}
