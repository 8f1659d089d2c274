import { describe, expect, it } from 'vitest';
import { isSendableCloseCode, validateCloseStatus } from '../../machines/index.js';

describe('RFC 6455 §7.4 close codes', () => {
  it.each([
    [1000, true],
    [1001, true],
    [1002, true],
    [1003, true],
    [1004, false], // reserved
    [1005, false], // reported only: no status
    [1006, false], // reported only: abnormal closure
    [1007, true],
    [1011, true],
    [1014, true],
    [1015, false], // reported only: TLS failure
    [1016, false], // reserved for future extensions
    [2999, false],
    [3000, true],
    [4999, true],
    [5000, false],
    [999, false],
    [0, false],
    [-1000, false],
    [1000.5, false],
    [Number.NaN, false],
  ])('code %s sendable: %s', (code, sendable) => {
    expect(isSendableCloseCode(code)).toBe(sendable);
    if (sendable) expect(validateCloseStatus(code, '')).toEqual({ code, reason: '' });
    else
      expect(() => validateCloseStatus(code, '')).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_CLOSE_CODE' }),
      );
  });

  it.each([['1000'], [null], [undefined], [{}]])('refuses a code that is not a number: %s', (code) => {
    expect(() => validateCloseStatus(code, '')).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_CLOSE_CODE' }),
    );
  });
});

describe('RFC 6455 §5.5 close reason', () => {
  it('accepts 123 UTF-8 bytes', () => {
    expect(validateCloseStatus(1000, 'a'.repeat(123)).reason).toHaveLength(123);
    expect(validateCloseStatus(1000, `${'é'.repeat(61)}a`).reason).toHaveLength(62); // 123 bytes
  });

  it.each([
    ['124 ASCII bytes', 'a'.repeat(124)],
    ['62 two-byte characters (124 bytes)', 'é'.repeat(62)],
    ['a lone surrogate', '\ud800'],
  ])('refuses %s', (_label, reason) => {
    expect(() => validateCloseStatus(1000, reason)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_CLOSE_REASON' }),
    );
  });

  it('refuses a reason that is not a string', () => {
    expect(() => validateCloseStatus(1000, 42)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_CLOSE_REASON' }),
    );
  });
});

describe('what a refused close status says', () => {
  it.each([
    [1005, '1005'],
    ['1000', 'a string ("1000")'],
    ['a long string of forty characters, cut', 'a string ("a long string of for")'],
    [null, 'null'],
    [undefined, 'undefined'],
    [{}, 'object'],
  ])('names the code it got (%j) as: %s', (code, described) => {
    expect(() => validateCloseStatus(code, '')).toThrow(
      `close code ${described} cannot be sent: use 1000–1003, 1007–1014 or 3000–4999 (RFC 6455 §7.4)`,
    );
  });

  it('names the type of a reason that is not a string', () => {
    expect(() => validateCloseStatus(1000, 42)).toThrow('close reason must be a string, got 42');
    expect(() => validateCloseStatus(1000, null)).toThrow('close reason must be a string, got null');
  });

  it('gives the size of a reason that is too long, and the limit', () => {
    expect(() => validateCloseStatus(1000, 'é'.repeat(62))).toThrow(
      'close reason is 124 UTF-8 bytes; at most 123 fit in a Close frame (RFC 6455 §5.5)',
    );
  });

  it('says why a lone surrogate is refused', () => {
    expect(() => validateCloseStatus(1000, 'a\udc00')).toThrow(
      'close reason has a lone surrogate: it is not valid UTF-8',
    );
  });
});
