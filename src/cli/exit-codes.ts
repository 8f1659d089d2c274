/**
 * The CLI's exit statuses: one per kind of outcome, so scripts can tell failures apart.
 */
import type { CloseInfo } from '../../machines/types.js';

export const EXIT = {
  /** The connection closed cleanly (Close frames went both ways), whoever started it; or success. */
  ok: 0,
  /** `verify`: the trail is invalid. Any command: an unexpected internal error. */
  failure: 1,
  /** Bad command line: unknown command, bad flag, bad value, bad URL. */
  usage: 2,
  /** The opening handshake failed: refused, DNS, HTTP answer other than 101, connect deadline. */
  connectFailed: 3,
  /** Our closing handshake missed a deadline (write or read): the socket was destroyed. */
  deadline: 4,
  /** The peer broke the WebSocket protocol; we sent Close 1002 (or 1007/1009) and dropped it. */
  protocol: 5,
  /** TCP ended or reset without a Close frame (1006), or the peer went silent (keepalive timeout). */
  connectionLost: 6,
  /** Interrupted: a second Ctrl-C terminated without a handshake, or Ctrl-C aborted the connect. */
  interrupted: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** The exit status for how a connection ended. */
export function exitCodeOf(info: CloseInfo): ExitCode {
  switch (info.error?.code) {
    case undefined:
      return info.wasClean ? EXIT.ok : EXIT.interrupted;
    case 'ERR_CONNECT_FAILED':
    case 'ERR_CONNECT_TIMEOUT':
      return EXIT.connectFailed;
    case 'ERR_WRITE_DEADLINE':
    case 'ERR_READ_DEADLINE':
      return EXIT.deadline;
    case 'ERR_PROTOCOL':
      return EXIT.protocol;
    case 'ERR_SOCKET':
    case 'ERR_KEEPALIVE_TIMEOUT':
      return EXIT.connectionLost;
    default:
      return EXIT.failure;
  }
}

/** Rows for `--help` and docs/cli.md. */
export const EXIT_TABLE: ReadonlyArray<readonly [ExitCode, string]> = [
  [EXIT.ok, 'clean close (Close frames went both ways); verify: trail valid'],
  [EXIT.failure, 'verify: trail invalid; otherwise an internal error'],
  [EXIT.usage, 'usage error: unknown command, bad flag or value'],
  [EXIT.connectFailed, 'connect failed: refused, DNS, HTTP error, connect deadline'],
  [EXIT.deadline, 'close deadline exceeded (write or read): socket destroyed'],
  [EXIT.protocol, 'protocol error: the peer sent something invalid'],
  [EXIT.connectionLost, 'connection lost: TCP ended without a Close frame (1006), or keepalive timeout'],
  [EXIT.interrupted, 'interrupted: second Ctrl-C terminated, or Ctrl-C during connect'],
];

/** The exit table as help text. */
export function exitTableText(): string {
  return EXIT_TABLE.map(([code, meaning]) => `  ${String(code).padStart(3)}  ${meaning}`).join('\n');
}
