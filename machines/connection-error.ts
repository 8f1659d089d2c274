/**
 * Every failure ws-lifecycle reports is one `ConnectionError`, told apart by its `code`.
 *
 * Pure: no I/O, importable from `ws-lifecycle/machine`.
 */

/** The codes a {@link ConnectionError} can carry. */
export const ERROR_CODES = [
  // Bad input, raised before anything touches the wire, state unchanged.
  'ERR_INVALID_STATE',
  'ERR_INVALID_CLOSE_CODE',
  'ERR_INVALID_CLOSE_REASON',
  'ERR_INVALID_URL',
  'ERR_INVALID_OPTIONS',
  'ERR_INVALID_DATA',
  // The opening handshake did not complete.
  'ERR_CONNECT_FAILED',
  'ERR_CONNECT_TIMEOUT',
  'ERR_CONNECT_ABORTED',
  // The closing handshake did not complete within our deadlines.
  'ERR_WRITE_DEADLINE',
  'ERR_READ_DEADLINE',
  // The connection broke.
  'ERR_SOCKET',
  'ERR_PROTOCOL',
  // The peer stopped answering: no frame within the keepalive interval + timeout.
  'ERR_KEEPALIVE_TIMEOUT',
  // A managed connection's send queue is full (nothing is dropped silently).
  'ERR_QUEUE_FULL',
  // A managed connection stopped retrying: maxAttempts failed attempts in a row, or a final answer.
  'ERR_GAVE_UP',
  'ERR_FINAL_CLOSE',
] as const;

export type ConnectionErrorCode = (typeof ERROR_CODES)[number];

export interface ConnectionErrorOptions {
  /** HTTP status of a refused upgrade (ERR_CONNECT_FAILED only). */
  status?: number;
  /** The Close code we sent when we failed the connection (ERR_PROTOCOL only). */
  closeCode?: number;
  /** How long the server asked us to wait (HTTP 429/503 `Retry-After`), in ms. */
  retryAfterMs?: number;
  /** The lower-level error, when there is one. Its message carries no URL credentials. */
  cause?: unknown;
}

export class ConnectionError extends Error {
  override readonly name = 'ConnectionError';
  readonly code: ConnectionErrorCode;
  /** HTTP status of a refused upgrade, when the server answered one. */
  declare readonly status?: number;
  /** The Close code we sent when failing the connection (RFC 6455 §7.1.7), e.g. 1002. */
  declare readonly closeCode?: number;
  /** The wait a refusing server asked for (`Retry-After` of an HTTP 429 or 503), in ms. */
  declare readonly retryAfterMs?: number;

  constructor(code: ConnectionErrorCode, message: string, options: ConnectionErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    if (options.status !== undefined) this.status = options.status;
    if (options.closeCode !== undefined) this.closeCode = options.closeCode;
    if (options.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
  }
}
