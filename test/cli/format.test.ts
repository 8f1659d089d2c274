/**
 * What the CLI prints: colour only on a terminal without NO_COLOR, state changes in the
 * `+12ms open → closing-sent (api.close 1000)` form, binary summaries, exit statuses per outcome.
 */
import { describe, expect, it } from 'vitest';
import { ConnectionError } from '../../machines/connection-error.js';
import { EXIT, exitCodeOf } from '../../src/cli/exit-codes.js';
import { binarySummary, eventLabel, formatRecord, painter, useColour, wrap } from '../../src/cli/format.js';

describe('colour', () => {
  it.each([
    { isTTY: true, env: {}, colour: true },
    { isTTY: true, env: { NO_COLOR: '1' }, colour: false },
    { isTTY: true, env: { NO_COLOR: '' }, colour: true },
    { isTTY: false, env: {}, colour: false },
    { isTTY: undefined, env: {}, colour: false },
  ])('isTTY $isTTY, env $env → $colour', ({ isTTY, env, colour }) => {
    expect(useColour({ isTTY }, env)).toBe(colour);
  });

  it('paints with ANSI codes only when asked', () => {
    expect(painter(true)('red', 'x')).toBe('\u001b[31mx\u001b[39m');
    expect(painter(false)('red', 'x')).toBe('x');
  });
});

describe('state changes', () => {
  const base = { seq: 3, time: 0, connectionId: 'c' } as const;
  it.each([
    [{ ...base, elapsedMs: 0.4, from: null, to: 'idle', event: 'xstate.init' }, '+0ms idle (start)'],
    [
      {
        ...base,
        elapsedMs: 12.3,
        from: 'open',
        to: 'closing-sent',
        event: 'api.close',
        detail: { code: 1000, reason: '' },
      },
      '+12ms open → closing-sent (api.close 1000)',
    ],
    [
      {
        ...base,
        elapsedMs: 5012,
        from: 'draining',
        to: 'closed',
        event: 'xstate.after.read.connection.draining',
        detail: { code: 1006, reason: '', errorCode: 'ERR_READ_DEADLINE' },
      },
      '+5012ms draining → closed (read deadline 1006 ERR_READ_DEADLINE)',
    ],
    [
      {
        ...base,
        elapsedMs: 7,
        from: 'connecting',
        to: 'closed',
        event: 'ws.handshake-failed',
        detail: { code: 1006, reason: '', errorCode: 'ERR_CONNECT_FAILED', status: 401 },
      },
      '+7ms connecting → closed (ws.handshake-failed 1006 ERR_CONNECT_FAILED HTTP 401)',
    ],
    [
      {
        ...base,
        elapsedMs: 3,
        from: 'connecting',
        to: 'open',
        event: 'ws.open',
        detail: { protocol: 'chat' },
      },
      '+3ms connecting → open (ws.open protocol chat)',
    ],
  ] as const)('%o', (record, line) => {
    expect(formatRecord(record, painter(false))).toBe(line);
  });

  it('names deadlines by their delay', () => {
    expect(eventLabel('xstate.after.write.connection.closing-sent')).toBe('write deadline');
    expect(eventLabel('ws.closed')).toBe('ws.closed');
  });
});

describe('binary summary', () => {
  it.each([
    [new Uint8Array(0), '<binary 0 bytes>'],
    [new Uint8Array([255]), '<binary 1 byte: ff>'],
    [new Uint8Array(17).fill(1), `<binary 17 bytes: ${'01 '.repeat(16).trim()} …>`],
  ])('%o → %s', (data, text) => {
    expect(binarySummary(data)).toBe(text);
  });
});

describe('exit status per outcome', () => {
  const info = (error?: ConnectionError, wasClean = false) => ({
    code: 1006,
    reason: '',
    wasClean,
    initiator: 'local' as const,
    ...(error ? { error } : {}),
  });
  it.each([
    [undefined, true, EXIT.ok],
    [undefined, false, EXIT.interrupted],
    ['ERR_CONNECT_FAILED', false, EXIT.connectFailed],
    ['ERR_CONNECT_TIMEOUT', false, EXIT.connectFailed],
    ['ERR_WRITE_DEADLINE', false, EXIT.deadline],
    ['ERR_READ_DEADLINE', false, EXIT.deadline],
    ['ERR_PROTOCOL', false, EXIT.protocol],
    ['ERR_SOCKET', false, EXIT.connectionLost],
  ] as const)('%s (clean %s) → %i', (code, clean, exit) => {
    expect(exitCodeOf(info(code ? new ConnectionError(code, 'x') : undefined, clean))).toBe(exit);
  });
});

it('wraps text at word boundaries', () => {
  expect(wrap('aaa bbb ccc', 7)).toEqual(['aaa bbb', 'ccc']);
});
