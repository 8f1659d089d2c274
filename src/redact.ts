/**
 * Keeps secrets out of trails, error messages and logs: URL userinfo, query values and the values of
 * credential headers. The real URL and headers go to the ws actor only; everything shown to people or
 * stored goes through these functions first.
 */

/** What replaces a hidden value. */
export const MASK = '***';

/** Headers whose values are always hidden, whatever `redact.headers` says (lower case). */
export const ALWAYS_HIDDEN_HEADERS: readonly string[] = Object.freeze([
  'authorization',
  'cookie',
  'proxy-authorization',
]);

/** The `redact` option of `createConnection`. */
export interface RedactOptions {
  /**
   * Query keys whose values stay visible (case-sensitive, as URL query keys are). Every other query
   * value shows as `***`; keys always stay, so the URL's shape is visible.
   * @default []
   * @example { keepQuery: ['page', 'v'] }
   */
  keepQuery?: readonly string[];
  /**
   * Header names (case-insensitive) whose values are hidden in addition to Authorization, Cookie and
   * Proxy-Authorization.
   * @default []
   * @example { headers: ['X-Api-Key'] }
   */
  headers?: readonly string[];
}

/** `RedactOptions`, checked and normalized. */
export interface Redaction {
  readonly keepQuery: ReadonlySet<string>;
  /** Lower-case header names whose values are hidden, the always-hidden ones included. */
  readonly hiddenHeaders: ReadonlySet<string>;
}

/** Builds a {@link Redaction}; the caller has checked the types. */
export function redaction(options: RedactOptions = {}): Redaction {
  return {
    keepQuery: new Set(options.keepQuery ?? []),
    hiddenHeaders: new Set([
      ...ALWAYS_HIDDEN_HEADERS,
      ...(options.headers ?? []).map((h) => h.toLowerCase()),
    ]),
  };
}

/** Nothing kept visible beyond the defaults; shared, so a connection without `redact` builds nothing. */
export const DEFAULT_REDACTION: Redaction = redaction();

/**
 * The URL with userinfo and every query value replaced by `***` (keys stay, so the shape is visible),
 * except the values of the query keys `redact.keepQuery` lists.
 *
 * @example
 * redactUrl(new URL('ws://u:pw@host/p?apikey=S&page=2'), { keepQuery: ['page'] });
 * // 'ws://***:***@host/p?apikey=***&page=2'
 */
export function redactUrl(url: URL, redact: RedactOptions | Redaction = DEFAULT_REDACTION): string {
  if (!url.username && !url.password && !url.search) return url.href;
  const { keepQuery } = toRedaction(redact);
  const copy = new URL(url.href);
  if (copy.username) copy.username = MASK;
  if (copy.password) copy.password = MASK;
  if (copy.search) {
    const parts: string[] = [];
    for (const [key, value] of copy.searchParams) {
      const shown = keepQuery.has(key) ? encodeURIComponent(value) : MASK;
      parts.push(`${encodeURIComponent(key)}=${shown}`);
    }
    copy.search = parts.join('&');
  }
  return copy.href;
}

/**
 * A copy of `headers` with the values of Authorization, Cookie, Proxy-Authorization and every header
 * `redact.headers` names replaced by `***` (names compared case-insensitively).
 */
export function redactHeaders(
  headers: Readonly<Record<string, string | readonly string[] | number | undefined>>,
  redact: RedactOptions | Redaction = DEFAULT_REDACTION,
): Record<string, string | string[] | number | undefined> {
  const { hiddenHeaders } = toRedaction(redact);
  const copy: Record<string, string | string[] | number | undefined> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) copy[name] = value;
    else if (hiddenHeaders.has(name.toLowerCase())) copy[name] = MASK;
    else copy[name] = Array.isArray(value) ? [...value] : (value as string | number);
  }
  return copy;
}

function toRedaction(redact: RedactOptions | Redaction): Redaction {
  return redact.keepQuery instanceof Set ? (redact as Redaction) : redaction(redact as RedactOptions);
}

const ABSOLUTE_URL = /\b[a-z][a-z0-9+.-]*:\/\/[^\s'"<>]+/gi;

/**
 * A lower-level error message made safe to show: absolute URLs in it are redacted, and ws's
 * `Invalid URL: <Location>` (a redirect target the server chose) is not quoted at all.
 */
export function redactMessage(message: string): string {
  if (message.startsWith('Invalid URL')) return 'the server redirected to an invalid URL';
  return message.replace(ABSOLUTE_URL, (match) => {
    try {
      return redactUrl(new URL(match));
    } catch {
      return MASK;
    }
  });
}

/** Escapes of the control characters people recognise; the rest show as `\xNN`. */
const CONTROL_ESCAPES: Readonly<Record<number, string>> = {
  0: '\\0',
  8: '\\b',
  10: '\\n',
  11: '\\v',
  12: '\\f',
  13: '\\r',
};

/**
 * Names the character at `index` of `text` for an error message without quoting `text`, which may be
 * a secret (a header value, a token passed as a subprotocol): a control character by its escape, a
 * space or tab by name, an ASCII separator by itself, anything else only by its class. The caller has
 * found that this character is not allowed there.
 *
 * @example
 * describeCharAt('Bearer abc', 6); // 'a space (at index 6)'
 * describeCharAt('abcde\nf', 5); // 'a control character (\\n at index 5)'
 */
export function describeCharAt(text: string, index: number): string {
  const code = text.charCodeAt(index);
  const at = `at index ${index}`;
  if (code === 0x20) return `a space (${at})`;
  if (code === 0x09) return `a tab (${at})`;
  if (code < 0x20 || code === 0x7f) {
    const shown = CONTROL_ESCAPES[code] ?? `\\x${code.toString(16).padStart(2, '0')}`;
    return `a control character (${shown} ${at})`;
  }
  if (code < 0x7f) return `a separator ('${String.fromCharCode(code)}' ${at})`;
  if (code <= 0xff) return `a non-ASCII character (${at})`;
  return `a character above U+00FF (${at})`;
}
