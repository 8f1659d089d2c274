/**
 * `createManagedConnection`: a managed connection (managed-core.ts) whose attempts are ws client
 * connections (`createConnection`), with the Retry-After of a 429/503 answer captured for the backoff.
 */
import type { Connection } from '../connection.js';
import { createConnection } from '../connection.js';
import type { ConnectionOptions } from '../options.js';
import {
  type AttemptConnectionOptions,
  type ConnectionFactory,
  createManagedConnectionWith,
  type ManagedConnection,
  type UrlSource,
} from './managed-core.js';
import type { ManagedOwnOptions } from './managed-options.js';
import { captureRetryAfter } from './retry-after.js';

/** Options of {@link createManagedConnection}: everything `createConnection` takes, plus the managed ones. */
export type ManagedConnectionOptions = Omit<ConnectionOptions, 'audit' | 'trail' | 'inspect'> &
  ManagedOwnOptions;

/** Each attempt: a ws client connection. */
export const wsClientFactory: ConnectionFactory<Omit<ConnectionOptions, keyof AttemptConnectionOptions>> = (
  url,
  options,
): Connection => {
  const { ws, attach } = captureRetryAfter(options.ws);
  const connection = createConnection(url, { ...options, ws } as ConnectionOptions);
  // Registered first: the error carries retryAfterMs before anyone else hears of the close.
  connection.on('close', attach);
  return connection;
};

const create = createManagedConnectionWith(wsClientFactory);

/**
 * Creates a managed connection: a WebSocket that reconnects after every drop, with full-jitter
 * backoff, a bounded send queue, an `onOpen` hook before the queue flushes, and one trail across
 * attempts. `url` is a `ws:`/`wss:` URL or a function returning one (or a promise of one), called before
 * every attempt. Nothing touches the network until `open()`. Throws ConnectionError ERR_INVALID_URL /
 * ERR_INVALID_OPTIONS synchronously for bad input (with a function URL, its URL is checked at each
 * attempt, where a bad one is final).
 *
 * @example
 * const feed = createManagedConnection('wss://feed.example.com/ticks', {
 *   reconnect: { initialDelay: 1000, maxDelay: 30000 },
 *   onOpen: (conn) => conn.send(JSON.stringify({ op: 'subscribe', channel: 'BTC-USD' })),
 * });
 * feed.on('message', (data) => console.log(data));
 * await feed.open();
 * // …
 * const info = await feed.close(1000, 'bye'); // { reason: 'closed', attempts, last, unsent }
 */
export function createManagedConnection(
  url: UrlSource,
  options?: ManagedConnectionOptions,
): ManagedConnection {
  return create(url, options) as unknown as ManagedConnection;
}
