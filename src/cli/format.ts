/**
 * How the CLI shows things to a person: state changes, messages, outcomes. Colour only when the
 * stream is a terminal and NO_COLOR is unset (https://no-color.org); plain ANSI, no dependency.
 */
import type { CloseInfo, TransitionDetail } from '../../machines/types.js';
import type { AuditRecord } from '../audit/audit.js';

const CODES = {
  bold: [1, 22],
  dim: [2, 22],
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
  cyan: [36, 39],
} as const;

export type Style = keyof typeof CODES;
export type Paint = (style: Style, text: string) => string;

/** Should output to this stream be coloured? */
export function useColour(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  return stream.isTTY === true && !('NO_COLOR' in env && env.NO_COLOR !== '');
}

/** A painter that colours, or leaves text alone. */
export function painter(colour: boolean): Paint {
  if (!colour) return (_style, text) => text;
  return (style, text) => {
    const [open, close] = CODES[style];
    return `\u001b[${open}m${text}\u001b[${close}m`;
  };
}

/** `xstate.after.read.connection.draining` → `read deadline`; other event types stay as they are. */
export function eventLabel(event: string): string {
  const after = /^xstate\.after\.([^.]+)\./.exec(event);
  if (after) return `${after[1]} deadline`;
  if (event === 'xstate.init') return 'start';
  return event;
}

function detailText(detail: TransitionDetail | undefined): string {
  if (!detail) return '';
  const parts: string[] = [];
  if (detail.code !== undefined) parts.push(String(detail.code));
  if (detail.reason) parts.push(JSON.stringify(detail.reason));
  if (detail.errorCode) parts.push(detail.errorCode);
  if (detail.status !== undefined) parts.push(`HTTP ${detail.status}`);
  if (detail.protocol) parts.push(`protocol ${detail.protocol}`);
  return parts.join(' ');
}

/** `+12ms open → closing-sent (api.close 1000)` */
export function formatRecord(record: AuditRecord, paint: Paint): string {
  const time = paint('dim', `+${Math.round(record.elapsedMs)}ms`);
  const to = paint(record.to === 'closed' ? (record.detail?.errorCode ? 'red' : 'green') : 'cyan', record.to);
  const move = record.from === null ? to : `${record.from} → ${to}`;
  const cause = [eventLabel(record.event), detailText(record.detail)].filter(Boolean).join(' ');
  return `${time} ${move} ${paint('dim', `(${cause})`)}`;
}

const HEX_BYTES = 16;

/** Binary data as a short summary: `<binary 300 bytes: 01 02 … >`. */
export function binarySummary(data: Uint8Array): string {
  const shown = Array.from(data.subarray(0, HEX_BYTES), (b) => b.toString(16).padStart(2, '0')).join(' ');
  const more = data.length > HEX_BYTES ? ' …' : '';
  const unit = data.length === 1 ? 'byte' : 'bytes';
  return `<binary ${data.length} ${unit}${data.length ? `: ${shown}${more}` : ''}>`;
}

/** The first bytes as hex, for JSON output. */
export function hexPrefix(data: Uint8Array): string {
  return Buffer.from(data.subarray(0, HEX_BYTES)).toString('hex');
}

/** `closed: 1000 "bye", clean, started by us` (+ the error, if any). */
export function formatCloseInfo(info: CloseInfo, paint: Paint): string {
  const status = `${info.code}${info.reason ? ` ${JSON.stringify(info.reason)}` : ''}`;
  const clean = info.wasClean ? paint('green', 'clean') : paint('yellow', 'not clean');
  const who = info.initiator === 'local' ? 'started by us' : 'started by the peer';
  const line = `code ${status}, ${clean}, ${who}`;
  return info.error ? `${line}\n  ${paint('red', info.error.code)}: ${info.error.message}` : line;
}

/** CloseInfo as plain JSON (the error as `{ code, message, status? }`). */
export function closeInfoJson(info: CloseInfo): Record<string, unknown> {
  const { error, ...rest } = info;
  if (!error) return { ...rest };
  const json: Record<string, unknown> = { code: error.code, message: error.message };
  if (error.status !== undefined) json.status = error.status;
  return { ...rest, error: json };
}

/** `{ code: 1000, reason: "bye", wasClean: true, initiator: "local" }`, the error by its code. */
export function closeInfoLiteral(info: CloseInfo, paint: Paint): string {
  const fields = [
    `code: ${info.code}`,
    `reason: ${JSON.stringify(info.reason)}`,
    `wasClean: ${info.wasClean ? paint('green', 'true') : paint('yellow', 'false')}`,
    `initiator: "${info.initiator}"`,
  ];
  if (info.error) fields.push(`error: ${paint('red', info.error.code)}`);
  return `{ ${fields.join(', ')} }`;
}

/** Word-wraps `text` to lines of at most `width` characters (longer words stay whole). */
export function wrap(text: string, width = 100): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}
