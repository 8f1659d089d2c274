/**
 * Retry-After (RFC 9110 §10.2.3) of a 429 or 503 answer to the opening handshake, for the ws client
 * transport: captured from the HTTP response before ws reports the failure, and set on the
 * ConnectionError as `retryAfterMs`, where the supervisor reads it (`retryAfterOf`).
 *
 * This lives here, through ws's public `finishRequest` option, until src/transports/ws-client.ts sets
 * `retryAfterMs` itself (docs/managed.md); it then becomes a no-op: a value already set is kept.
 */
import type { ClientRequest, IncomingMessage } from 'node:http';
import type { ConnectionError } from '../../machines/connection-error.js';
import type { CloseInfo } from '../../machines/types.js';
import type { ClientOptions } from '../transports/ws-client.js';

/** Largest wait kept, in ms (a Node timer's limit); the supervisor caps it by maxDelay anyway. */
const MAX_MS = 2 ** 31 - 1;

/**
 * A Retry-After value in ms from `now` (epoch ms): delay-seconds, or an HTTP-date (a date in the past
 * is 0). `undefined` for anything else.
 */
export function parseRetryAfter(value: string | string[] | undefined, now: number): number | undefined {
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!text) return undefined;
  if (/^\d+$/.test(text)) return Math.min(Number(text) * 1000, MAX_MS);
  // IMF-fixdate and the two obsolete forms (RFC 9110 §5.6.7: a recipient accepts all three); asctime
  // carries no zone but is GMT, as they all are.
  if (!/^[A-Za-z]{3,9},? /.test(text)) return undefined;
  const at = Date.parse(/ GMT$/.test(text) ? text : `${text} GMT`);
  if (Number.isNaN(at)) return undefined;
  return Math.min(Math.max(at - now, 0), MAX_MS);
}

interface Capture {
  retryAfterMs: number | undefined;
}

/**
 * ws options for one connection that capture the Retry-After of a 429/503 answer (the caller's own
 * `finishRequest` still runs), and `attach`, which sets it on the connection's error once it closed.
 */
export function captureRetryAfter(ws: ClientOptions | undefined): {
  ws: ClientOptions;
  attach: (info: CloseInfo) => void;
} {
  const capture: Capture = { retryAfterMs: undefined };
  const own = ws?.finishRequest;
  const finishRequest = (request: ClientRequest, websocket: unknown) => {
    // Before ws's own 'response' listener, which reports the failure synchronously.
    request.prependListener('response', (response: IncomingMessage) => {
      const status = response.statusCode;
      if (status === 429 || status === 503) {
        capture.retryAfterMs = parseRetryAfter(response.headers['retry-after'], Date.now());
      }
    });
    if (own) (own as (request: ClientRequest, websocket: unknown) => void)(request, websocket);
    else request.end();
  };
  return {
    ws: { ...ws, finishRequest } as ClientOptions,
    attach: (info) => {
      const error = info.error as (ConnectionError & { retryAfterMs?: number }) | undefined;
      if (!error || capture.retryAfterMs === undefined || error.retryAfterMs !== undefined) return;
      if (error.status !== 429 && error.status !== 503) return;
      Object.defineProperty(error, 'retryAfterMs', { value: capture.retryAfterMs, enumerable: true });
    },
  };
}
