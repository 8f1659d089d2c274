/**
 * Where `connect` writes what happens. Human mode: data on stdout, the lifecycle on stderr (coloured on
 * a terminal). `--json` mode: every line on stdout is one JSON object, in the order things happened,
 * and stderr stays quiet.
 */
import type { CloseInfo } from '../../machines/types.js';
import type { AuditRecord } from '../audit/audit.js';
import type { MessageData } from '../connection.js';
import {
  binarySummary,
  closeInfoJson,
  formatCloseInfo,
  formatRecord,
  type Paint,
  painter,
  useColour,
} from './format.js';

export interface Reporter {
  /** A line for the person (`connecting to …`, hints, warnings). */
  note(kind: string, message: string, fields?: Record<string, unknown>): void;
  state(record: AuditRecord): void;
  message(data: MessageData): void;
  closed(info: CloseInfo, exitCode: number): void;
}

interface Streams {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

export function humanReporter({ stdout, stderr }: Streams): Reporter {
  const paint: Paint = painter(useColour(stderr));
  return {
    note(kind, message) {
      stderr.write(`${kind === 'warning' ? paint('yellow', message) : paint('dim', message)}\n`);
    },
    state(record) {
      stderr.write(`${formatRecord(record, paint)}\n`);
    },
    message(data) {
      stdout.write(`${typeof data === 'string' ? data : binarySummary(data)}\n`);
    },
    closed(info, exitCode) {
      stderr.write(`${paint('bold', 'closed:')} ${formatCloseInfo(info, paint)}\n`);
      stderr.write(`${paint('dim', `exit status ${exitCode}`)}\n`);
    },
  };
}

export function jsonReporter({ stdout }: Streams): Reporter {
  const line = (value: Record<string, unknown>) => stdout.write(`${JSON.stringify(value)}\n`);
  return {
    note(kind, message, fields) {
      line({ type: kind, message, ...fields });
    },
    state(record) {
      line({ type: 'state', ...record });
    },
    message(data) {
      if (typeof data === 'string') line({ type: 'text', data });
      else line({ type: 'binary', length: data.length, base64: Buffer.from(data).toString('base64') });
    },
    closed(info, exitCode) {
      line({ type: 'close', ...closeInfoJson(info), exitCode });
    },
  };
}
