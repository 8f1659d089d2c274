/**
 * fast-check arbitraries for fault scenarios (see ./scenarios.ts).
 */
import fc from 'fast-check';
import type { Scenario } from './scenarios.js';

/** Close codes an endpoint may send (RFC 6455 §7.4). */
export const sendableCode = fc.oneof(
  fc.constantFrom(1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011),
  fc.integer({ min: 3000, max: 4999 }),
);

/** Reasons that fit a Close frame (≤ 123 UTF-8 bytes), ASCII and not. */
export const closeReason = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.constantFrom('déjà vu', '終了', '👋 bye'),
);

export const scenario: fc.Arbitrary<Scenario> = fc.oneof(
  fc.record({
    kind: fc.constant('idle' as const),
    verb: fc.constantFrom('close' as const, 'terminate' as const),
  }),
  fc.record({
    kind: fc.constant('abort-connecting' as const),
    verb: fc.constantFrom('close' as const, 'terminate' as const),
  }),
  fc.constant({ kind: 'refused' as const }),
  fc.constant({ kind: 'dns-failure' as const }),
  fc.record({
    kind: fc.constant('http-error' as const),
    status: fc.constantFrom(400, 401, 403, 404, 500, 503),
  }),
  fc.constant({ kind: 'no-upgrade' as const }),
  fc.record({
    kind: fc.constant('echo' as const),
    messages: fc.integer({ min: 0, max: 5 }),
    end: fc.constantFrom('close' as const, 'terminate' as const, 'close-then-terminate' as const),
    code: sendableCode,
    reason: closeReason,
  }),
  fc.record({ kind: fc.constant('close-first' as const), code: sendableCode, reason: closeReason }),
  fc.record({ kind: fc.constant('server-close' as const), code: sendableCode, reason: closeReason }),
  fc.record({ kind: fc.constant('reset' as const), afterMs: fc.integer({ min: 0, max: 10 }) }),
  fc.constant({ kind: 'invalid-frame' as const }),
  fc.constant({ kind: 'silent' as const }),
  fc.constant({ kind: 'stop-reading' as const }),
  fc.record({ kind: fc.constant('data-after-close' as const), late: fc.integer({ min: 0, max: 3 }) }),
  fc.record({
    kind: fc.constant('after-close' as const),
    peer: fc.constantFrom('keep-tcp' as const, 'invalid-frame' as const, 'reset' as const),
    code: sendableCode,
  }),
);
