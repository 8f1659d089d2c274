/**
 * The stored form of an audit record (schema `v: 1`) and its tamper evidence: a sha256 hash chain per
 * connection over canonical JSON. docs/audit.md defines the schema and exactly what is hashed.
 */
import { createHash } from 'node:crypto';
import type { StateName, TransitionDetail } from '../../machines/types.js';
import type { AuditRecord } from './audit.js';

/** The schema version this library writes. */
export const AUDIT_SCHEMA_VERSION = 1;

/** One line of a JSONL audit trail (schema v1). */
export interface JsonlAuditRecord {
  /** Schema version: 1. */
  v: 1;
  connectionId: string;
  /** 0 for the initial `idle` record, then +1 per change of this connection. */
  seq: number;
  /** Wall clock, ISO-8601 UTC with ms (`Date#toISOString`). */
  time: string;
  /** Monotonic ms since `createConnection` (µs precision). */
  elapsedMs: number;
  from: StateName | null;
  to: StateName;
  event: string;
  detail?: TransitionDetail;
  /** `hash` of the previous record of the same connection; `null` for seq 0. Absent without hashing. */
  prev?: string | null;
  /** sha256 (lower-case hex) of the canonical JSON of this record's hashed fields. Absent without hashing. */
  hash?: string;
}

/** The fields of a v1 record that its hash covers, `prev` included; `hash` itself and any other field are not. */
export const HASHED_FIELDS = [
  'v',
  'connectionId',
  'seq',
  'time',
  'elapsedMs',
  'from',
  'to',
  'event',
  'detail',
  'prev',
] as const;

/**
 * Canonical JSON (RFC 8785, JCS, for the values a record holds): object keys sorted by UTF-16 code
 * units at every depth, no whitespace, strings and numbers as `JSON.stringify` writes them, `undefined`
 * members left out. This is the text a record's `hash` is computed over (docs/audit.md), so another
 * tool can recompute it. Throws a TypeError on values JSON cannot carry (non-finite numbers,
 * functions, bigints).
 *
 * @example
 * canonicalJson({ seq: 1, detail: { reason: '', code: 1000 }, from: null });
 * // '{"detail":{"code":1000,"reason":""},"from":null,"seq":1}'
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`canonicalJson: ${value} is not a JSON number`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item ?? null)).join(',')}]`;
  if (typeof value === 'object') {
    const members: string[] = [];
    for (const key of Object.keys(value).sort()) {
      const member = (value as Record<string, unknown>)[key];
      if (member !== undefined) members.push(`${JSON.stringify(key)}:${canonicalJson(member)}`);
    }
    return `{${members.join(',')}}`;
  }
  throw new TypeError(`canonicalJson: a ${typeof value} is not a JSON value`);
}

/**
 * The `hash` of a stored (v1) record: sha256, lower-case hex, of the UTF-8 bytes of
 * `canonicalJson` of its hashed fields (`v`, `connectionId`, `seq`, `time`, `elapsedMs`, `from`,
 * `to`, `event`, `detail`, `prev`), taken exactly as written. `hash` itself and any other field (pino's
 * `level`, `pid`, `hostname`) are ignored, so a parsed JSONL or pino line can be passed as it is.
 *
 * @example
 * const line = JSON.parse(text);
 * const intact = hashRecord(line) === line.hash;
 */
export function hashRecord(record: Readonly<Record<string, unknown>>): string {
  const hashed: Record<string, unknown> = {};
  for (const field of HASHED_FIELDS) hashed[field] = record[field];
  return createHash('sha256').update(canonicalJson(hashed)).digest('hex');
}

/** Turns an in-memory record into its stored v1 form, without a hash. */
export function toJsonlRecord(record: AuditRecord): JsonlAuditRecord {
  const line: JsonlAuditRecord = {
    v: AUDIT_SCHEMA_VERSION,
    connectionId: record.connectionId,
    seq: record.seq,
    time: new Date(record.time).toISOString(),
    elapsedMs: record.elapsedMs,
    from: record.from,
    to: record.to,
    event: record.event,
  };
  if (record.detail) line.detail = { ...record.detail };
  return line;
}

/** Turns records into hash-chained v1 records, keeping one hash per connection until it closes. */
export type AuditChain = (record: AuditRecord) => JsonlAuditRecord;

/**
 * Creates a chainer for any number of connections: each record gets `prev` (the previous hash of its
 * connection, `null` at seq 0) and `hash`. It forgets a connection once it recorded `closed`.
 *
 * @example
 * // Hash-chained records through pino:
 * const chain = createAuditChain();
 * createConnection(url, { audit: (record) => logger.info(chain(record)) });
 */
export function createAuditChain(): AuditChain {
  const last = new Map<string, string>();
  return (record) => {
    const line = toJsonlRecord(record);
    line.prev = record.seq === 0 ? null : (last.get(record.connectionId) ?? null);
    line.hash = hashRecord(line as unknown as Record<string, unknown>);
    if (record.to === 'closed') last.delete(record.connectionId);
    else last.set(record.connectionId, line.hash);
    return line;
  };
}
