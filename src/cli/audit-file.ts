/**
 * `connect --audit <file.jsonl>`: the audit trail appended, hash-chained, to a JSON Lines file by
 * `jsonlAudit`. The file is opened up front so a bad path is a usage error, not a lost trail.
 */
import { closeSync, openSync } from 'node:fs';
import { type AuditError, type JsonlAuditSink, jsonlAudit } from '../audit/jsonl-audit.js';
import { UsageError } from './args.js';

export function openAuditFile(path: string, onError: (error: AuditError) => void): JsonlAuditSink {
  try {
    closeSync(openSync(path, 'a'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown error';
    throw new UsageError(`--audit: cannot append to ${JSON.stringify(path)} (${code})`, 'connect');
  }
  return jsonlAudit(path, { onError });
}
