/**
 * Reading and verifying a JSONL audit file (`jsonlAudit`'s output, or pino lines), which may hold
 * several connections: each connection's records are verified as their own trail.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import {
  type TrailError,
  type TrailVerification,
  type VerifyTrailOptions,
  verifyTrail,
} from './verify-trail.js';

/** A record read from a file, with the line it came from (1-based). */
export interface TrailLine {
  line: number;
  record: Record<string, unknown>;
}

/** Where and why verifying a file failed. */
export interface TrailFileError {
  /**
   * 1-based line of the record at fault. For missing records (see `gap`): the line of the connection's
   * record that follows the gap, or, when nothing follows it, of the record the gap comes after.
   */
  line: number;
  /** The connection whose trail failed; `null` when a line is not a record at all. */
  connectionId: string | null;
  /** The first seq of that connection that cannot be trusted (see `TrailError.seq`); `null` for a line that is not a record. */
  seq: number | null;
  /**
   * Why. For missing records it names the gap by its lines, e.g.
   * `record seq 2 missing between line 2 and line 3: seq 3 follows seq 1`.
   */
  reason: string;
  /**
   * Set when records of the connection are missing: the 1-based lines of its records on either side of
   * the gap (other connections' lines may lie between). `after` is `null` when the trail's first
   * records are missing, `before` when its last are (`complete`).
   */
  gap?: { after: number | null; before: number | null };
}

/** The outcome of {@link verifyTrailFile}. */
export interface TrailFileVerification {
  ok: boolean;
  /** Records that verified, all connections together. */
  checked: number;
  /** Connections found in the file. */
  connections: number;
  /** The failure that comes first in the file. */
  error?: TrailFileError;
}

/** Thrown by {@link readTrailFile} for a line that is not a JSON object. */
export class TrailFileSyntaxError extends Error {
  override readonly name = 'TrailFileSyntaxError';
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Reads a JSONL file into its records, in file order, with line numbers; blank lines are skipped.
 * Rejects with TrailFileSyntaxError for a line that is not a JSON object, and with the fs error if the
 * file cannot be read.
 */
export async function readTrailFileLines(path: string): Promise<TrailLine[]> {
  const lines: TrailLine[] = [];
  const input = createReadStream(path, { encoding: 'utf8' });
  const reader = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  let n = 0;
  try {
    for await (const text of reader) {
      n++;
      if (text.trim() === '') continue;
      let record: unknown;
      try {
        record = JSON.parse(text);
      } catch {
        throw new TrailFileSyntaxError(n, `line ${n} is not JSON`);
      }
      if (typeof record !== 'object' || record === null || Array.isArray(record)) {
        throw new TrailFileSyntaxError(n, `line ${n} is not a JSON object`);
      }
      lines.push({ line: n, record: record as Record<string, unknown> });
    }
  } finally {
    reader.close();
    input.destroy();
  }
  return lines;
}

/** Reads a JSONL file into its records, in file order (see {@link readTrailFileLines}). */
export async function readTrailFile(path: string): Promise<Record<string, unknown>[]> {
  return (await readTrailFileLines(path)).map((entry) => entry.record);
}

/**
 * Verifies every connection in a JSONL file, each as its own trail (`verifyTrail`), and reports the
 * failure that comes first in the file, with its line, connection id and seq. Never rejects for bad
 * content; rejects only if the file cannot be read.
 *
 * @example
 * const result = await verifyTrailFile('connections.jsonl', { complete: true });
 * if (!result.ok) console.error(`line ${result.error?.line}: ${result.error?.reason}`);
 */
export async function verifyTrailFile(
  path: string,
  options: VerifyTrailOptions = {},
): Promise<TrailFileVerification> {
  let lines: TrailLine[];
  try {
    lines = await readTrailFileLines(path);
  } catch (error) {
    if (!(error instanceof TrailFileSyntaxError)) throw error;
    return {
      ok: false,
      checked: 0,
      connections: 0,
      error: { line: error.line, connectionId: null, seq: null, reason: error.message },
    };
  }
  return verifyTrailLines(lines, options);
}

/** Verifies records already read (with their line numbers), grouped by connection. */
export function verifyTrailLines(
  lines: readonly TrailLine[],
  options: VerifyTrailOptions = {},
): TrailFileVerification {
  const byConnection = new Map<string, TrailLine[]>();
  for (const entry of lines) {
    const id = entry.record.connectionId;
    const key = typeof id === 'string' ? id : '';
    const group = byConnection.get(key) ?? [];
    group.push(entry);
    byConnection.set(key, group);
  }
  let checked = 0;
  let first: TrailFileError | undefined;
  let firstAt = Number.POSITIVE_INFINITY;
  for (const [connectionId, group] of byConnection) {
    const result: TrailVerification = verifyTrail(
      group.map((entry) => entry.record),
      options,
    );
    checked += result.checked;
    if (result.ok || !result.error) continue;
    const error = locate(group, result.checked, connectionId, result.error);
    // A gap starts right after the record before it; anything else is at its line.
    const at = error.gap ? (error.gap.after ?? 0) + 0.5 : error.line;
    if (at < firstAt) {
      first = error;
      firstAt = at;
    }
  }
  if (lines.length === 0) {
    return {
      ok: false,
      checked: 0,
      connections: 0,
      error: { line: 1, connectionId: null, seq: null, reason: 'the file holds no records' },
    };
  }
  return first
    ? { ok: false, checked, connections: byConnection.size, error: first }
    : { ok: true, checked, connections: byConnection.size };
}

/** Places a connection's failure in the file: the line at fault, or the lines around missing records. */
function locate(
  group: readonly TrailLine[],
  checked: number,
  connectionId: string,
  error: TrailError,
): TrailFileError {
  const { seq, reason, missing } = error;
  const at = group[checked];
  if (!missing) {
    // `checked` records verified, so group[checked] is the record at fault.
    return { line: (at ?? (group.at(-1) as TrailLine)).line, connectionId, seq, reason };
  }
  const after = checked > 0 ? (group[checked - 1] as TrailLine).line : null;
  const before = at ? at.line : null;
  const moved = group.slice(checked + 1).find((entry) => entry.record.seq === missing.first);
  if (moved && at) {
    // Not removed: further down the file (records swapped or reordered).
    return {
      line: at.line,
      connectionId,
      seq,
      reason: `seq ${String(at.record.seq)} where ${seq} was expected: seq ${seq} is out of order, at line ${moved.line}`,
    };
  }
  const seqs =
    missing.last === null
      ? `records from seq ${missing.first}`
      : missing.last === missing.first
        ? `record seq ${missing.first}`
        : `records seq ${missing.first}…${missing.last}`;
  let where: string;
  if (missing.last === null) where = `after line ${after}: ${reason}`;
  else if (after === null) where = `before line ${before}: the trail starts at seq ${missing.last + 1}`;
  else {
    where = `between line ${after} and line ${before}: seq ${missing.last + 1} follows seq ${missing.first - 1}`;
  }
  return {
    line: (before ?? after) as number,
    connectionId,
    seq,
    reason: `${seqs} missing ${where}`,
    gap: { after, before },
  };
}
