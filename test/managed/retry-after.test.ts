/** Retry-After (RFC 9110 §10.2.3): delay-seconds or an HTTP-date, relative to when it arrived. */
import { describe, expect, it } from 'vitest';
import { parseRetryAfter } from '../../src/managed/retry-after.js';

const now = Date.parse('2026-12-01T12:00:00Z');

describe('parseRetryAfter', () => {
  it.each([
    ['120', 120_000],
    ['0', 0],
    [' 5 ', 5000],
    ['Tue, 01 Dec 2026 12:00:30 GMT', 30_000], // IMF-fixdate
    ['Tuesday, 01-Dec-26 12:01:00 GMT', 60_000], // obsolete RFC 850
    ['Tue Dec  1 12:00:10 2026', 10_000], // asctime, GMT though it says no zone
    ['Tue, 01 Dec 2026 11:00:00 GMT', 0], // in the past
    ['-1', undefined],
    ['1.5', undefined],
    ['soon', undefined],
    ['', undefined],
    [undefined, undefined],
  ])('%j → %j', (value, expected) => {
    expect(parseRetryAfter(value, now)).toBe(expected);
  });

  it('takes the first of repeated headers, and caps at what a timer holds', () => {
    expect(parseRetryAfter(['7', '9'], now)).toBe(7000);
    expect(parseRetryAfter('99999999999', now)).toBe(2 ** 31 - 1);
  });
});
