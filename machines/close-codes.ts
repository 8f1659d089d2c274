/**
 * Close status as a value, validated before it goes on the wire (RFC 6455 §5.5.1, §7.4).
 *
 * Pure: no I/O, importable from `ws-lifecycle/machine`.
 */
import { ConnectionError } from './connection-error.js';

/** RFC 6455 §5.5: control frame payloads are at most 125 bytes; 2 go to the status code. */
export const MAX_CLOSE_REASON_BYTES = 123;

/** Normal closure (RFC 6455 §7.4.1). */
export const NORMAL_CLOSURE = 1000;
/** Reported, never sent: the peer's Close carried no status code (RFC 6455 §7.4.1). */
export const NO_STATUS_RECEIVED = 1005;
/** Reported, never sent: the connection closed without a Close frame (RFC 6455 §7.4.1). */
export const ABNORMAL_CLOSURE = 1006;
/** Sent when the peer violates the protocol (RFC 6455 §7.4.1). */
export const PROTOCOL_ERROR = 1002;

/**
 * Can an application send this code in a Close frame?
 *
 * RFC 6455 §7.4.1–7.4.2 and the IANA registry: 1000–1003 and 1007–1014 are defined, 3000–4999 are
 * for libraries and applications. 1004 is reserved; 1005, 1006 and 1015 "MUST NOT be set as a status
 * code in a Close control frame by an endpoint"; 1016–2999 are reserved for future extensions.
 */
export function isSendableCloseCode(code: unknown): code is number {
  if (typeof code !== 'number' || !Number.isInteger(code)) return false;
  if (code >= 3000 && code <= 4999) return true;
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014);
}

const encoder = new TextEncoder();

/** Throws ERR_INVALID_CLOSE_CODE / ERR_INVALID_CLOSE_REASON for a status we must not send. */
export function validateCloseStatus(code: unknown, reason: unknown): { code: number; reason: string } {
  if (!isSendableCloseCode(code)) {
    throw new ConnectionError(
      'ERR_INVALID_CLOSE_CODE',
      `close code ${describe(code)} cannot be sent: use 1000–1003, 1007–1014 or 3000–4999 (RFC 6455 §7.4)`,
    );
  }
  if (typeof reason !== 'string') {
    throw new ConnectionError(
      'ERR_INVALID_CLOSE_REASON',
      `close reason must be a string, got ${describe(reason)}`,
    );
  }
  const bytes = encoder.encode(reason).length;
  if (bytes > MAX_CLOSE_REASON_BYTES) {
    throw new ConnectionError(
      'ERR_INVALID_CLOSE_REASON',
      `close reason is ${bytes} UTF-8 bytes; at most ${MAX_CLOSE_REASON_BYTES} fit in a Close frame (RFC 6455 §5.5)`,
    );
  }
  if (!reason.isWellFormed()) {
    throw new ConnectionError(
      'ERR_INVALID_CLOSE_REASON',
      'close reason has a lone surrogate: it is not valid UTF-8',
    );
  }
  return { code, reason };
}

function describe(value: unknown): string {
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return `a string (${JSON.stringify(value.slice(0, 20))})`;
  return value === null ? 'null' : typeof value;
}
