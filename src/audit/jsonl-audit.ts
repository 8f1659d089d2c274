/**
 * `jsonlAudit`: an `audit` sink that writes one JSON object per line (schema v1, hash-chained) to a file
 * or a writable stream. Appends, never truncates; keeps the order of records; buffers a bounded amount;
 * reports the first failure once and never throws into the connection.
 */
import { createWriteStream } from 'node:fs';
import type { AuditRecord } from './audit.js';
import { createAuditChain, type JsonlAuditRecord, toJsonlRecord } from './audit-chain.js';

/** Why a JSONL audit sink stopped writing. */
export type AuditErrorCode =
  /** The file or stream failed (open, write, close). */
  | 'ERR_AUDIT_WRITE'
  /** More than `maxBufferedBytes` were waiting to be written: the target is too slow or stuck. */
  | 'ERR_AUDIT_OVERFLOW'
  /** A record arrived after `close()`. */
  | 'ERR_AUDIT_CLOSED'
  /** `close()` gave up waiting for buffered records after `closeTimeoutMs`. */
  | 'ERR_AUDIT_CLOSE_TIMEOUT';

/** The one failure a JSONL audit sink reports. After it, the sink writes nothing more. */
export class AuditError extends Error {
  override readonly name = 'AuditError';
  readonly code: AuditErrorCode;
  constructor(code: AuditErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** Options of {@link jsonlAudit}. */
export interface JsonlAuditOptions {
  /**
   * Chain each record to the previous one of its connection with `prev` and a sha256 `hash`
   * (tamper evidence, docs/audit.md).
   * @default true
   */
  hash?: boolean;
  /**
   * Bytes that may wait to be written. A record that would go past it is not written: the sink fails
   * with ERR_AUDIT_OVERFLOW (reported once) and writes nothing more.
   * @default 1048576 (1 MiB)
   */
  maxBufferedBytes?: number;
  /**
   * How long `close()` waits for buffered records before it reports ERR_AUDIT_CLOSE_TIMEOUT, in ms.
   * @default 5000
   */
  closeTimeoutMs?: number;
  /**
   * Called once, asynchronously, with the first failure. Without it the AuditError itself is emitted
   * once as a process warning (`process.emitWarning(error)`): its name `AuditError` is the warning's
   * type and its code (`ERR_AUDIT_WRITE`, …) the warning's code, so Node prints
   * `(node:PID) [ERR_AUDIT_WRITE] AuditError: …` and `node --disable-warning=AuditError` silences it.
   * Either way it is kept in `sink.error`.
   * @default (error) => process.emitWarning(error)
   */
  onError?: (error: AuditError) => void;
}

/** An `audit` sink writing JSONL, with a handle to flush, close and learn of a failure. */
export interface JsonlAuditSink {
  /** Pass as the `audit` option. Never throws. */
  (record: AuditRecord): void;
  /** Resolves once every record taken so far was handed to the OS, or the sink failed. Never rejects. */
  flush(): Promise<void>;
  /**
   * Takes no more records, flushes (at most `closeTimeoutMs`) and, for a path, closes the file. A
   * stream passed in is left open: it is yours. Safe to repeat. Never rejects.
   */
  close(): Promise<void>;
  /** The first failure, or `null`. */
  readonly error: AuditError | null;
  /** Records handed to the OS. */
  readonly written: number;
  /** Records taken but not written: refused after a failure or close(), or failed by the target. */
  readonly dropped: number;
}

const DEFAULT_MAX_BUFFERED_BYTES = 1024 * 1024;
const DEFAULT_CLOSE_TIMEOUT_MS = 5000;

/** Node takes an Error's own `name` and `code` for the warning (it ignores options given with one). */
function reportWarning(error: AuditError): void {
  process.emitWarning(error);
}

/**
 * Creates an `audit` sink writing JSON Lines to `target`: a file path (opened for appending, created if
 * missing) or a writable stream.
 *
 * @example
 * const audit = jsonlAudit('connections.jsonl');
 * const conn = createConnection(url, { audit });
 * // ... later, before exit:
 * await audit.close();
 * const result = await verifyTrailFile('connections.jsonl');
 */
export function jsonlAudit(
  target: string | NodeJS.WritableStream,
  options: JsonlAuditOptions = {},
): JsonlAuditSink {
  const maxBufferedBytes = positive(options.maxBufferedBytes, DEFAULT_MAX_BUFFERED_BYTES, 'maxBufferedBytes');
  const closeTimeoutMs = positive(options.closeTimeoutMs, DEFAULT_CLOSE_TIMEOUT_MS, 'closeTimeoutMs');
  const onError = options.onError ?? reportWarning;
  const toLine: (record: AuditRecord) => JsonlAuditRecord =
    options.hash === false ? toJsonlRecord : createAuditChain();
  const owned = typeof target === 'string';
  const stream: NodeJS.WritableStream = owned ? createWriteStream(target, { flags: 'a' }) : target;

  let error: AuditError | null = null;
  let closing: Promise<void> | null = null;
  let pendingBytes = 0;
  let pendingWrites = 0;
  let written = 0;
  let dropped = 0;
  let idle: Array<() => void> = [];

  const wakeIdle = () => {
    const waiting = idle;
    idle = [];
    for (const resolve of waiting) resolve();
  };
  const fail = (code: AuditErrorCode, message: string, cause?: unknown) => {
    if (error) return;
    error = new AuditError(code, message, cause === undefined ? undefined : { cause });
    const reported = error;
    wakeIdle();
    queueMicrotask(() => onError(reported));
  };
  const onStreamError = (cause: Error) =>
    fail('ERR_AUDIT_WRITE', `audit trail write failed: ${cause.message}`, cause);
  stream.on('error', onStreamError);

  const sink = ((record: AuditRecord) => {
    if (error) {
      dropped++;
      return;
    }
    if (closing) {
      dropped++;
      fail(
        'ERR_AUDIT_CLOSED',
        `audit record seq ${record.seq} of ${record.connectionId} arrived after close()`,
      );
      return;
    }
    let line: string;
    try {
      line = `${JSON.stringify(toLine(record))}\n`;
    } catch (cause) {
      dropped++;
      fail('ERR_AUDIT_WRITE', 'audit record could not be serialized', cause);
      return;
    }
    const bytes = Buffer.byteLength(line);
    if (pendingBytes + bytes > maxBufferedBytes) {
      dropped++;
      fail(
        'ERR_AUDIT_OVERFLOW',
        `audit trail target is not keeping up: ${pendingBytes} bytes waiting, limit ${maxBufferedBytes}`,
      );
      return;
    }
    pendingBytes += bytes;
    pendingWrites++;
    try {
      stream.write(line, (cause?: Error | null) => {
        pendingBytes -= bytes;
        pendingWrites--;
        if (cause) {
          dropped++;
          onStreamError(cause);
        } else {
          written++;
        }
        if (pendingWrites === 0) wakeIdle();
      });
    } catch (cause) {
      pendingBytes -= bytes;
      pendingWrites--;
      dropped++;
      onStreamError(cause as Error);
    }
  }) as JsonlAuditSink;

  const flush = (): Promise<void> =>
    error || pendingWrites === 0 ? Promise.resolve() : new Promise<void>((resolve) => idle.push(resolve));

  const close = (): Promise<void> => {
    closing ??= (async () => {
      const flushed = await within(flush(), closeTimeoutMs);
      if (!flushed) {
        fail(
          'ERR_AUDIT_CLOSE_TIMEOUT',
          `${pendingWrites} audit records not written after ${closeTimeoutMs} ms`,
        );
      }
      if (owned) {
        const file = stream as NodeJS.WritableStream & { destroy?: () => void; closed?: boolean };
        if (!flushed) file.destroy?.();
        else if (!(await within(ended(file), closeTimeoutMs))) file.destroy?.();
      }
      stream.removeListener('error', onStreamError);
      // A late 'error' from a file we destroyed must not crash the process.
      if (owned) stream.on('error', noop);
    })();
    return closing;
  };

  return Object.defineProperties(sink, {
    flush: { value: flush },
    close: { value: close },
    error: { get: () => error },
    written: { get: () => written },
    dropped: { get: () => dropped },
  });
}

function noop(): void {}

function ended(stream: NodeJS.WritableStream & { closed?: boolean }): Promise<void> {
  if (stream.closed) return Promise.resolve();
  return new Promise((resolve) => {
    stream.once('close', resolve);
    stream.once('error', () => resolve());
    stream.end();
  });
}

/** Resolves true when `promise` settles within `ms`, false otherwise; clears its timer either way. */
async function within(promise: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(resolve, ms, false);
  });
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) {
    throw new TypeError(`jsonlAudit: ${name} must be a positive integer, got ${String(value)}`);
  }
  return value;
}
