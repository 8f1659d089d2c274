/**
 * Command-line parsing on `node:util` `parseArgs` (strict): every bad flag or value becomes a
 * {@link UsageError}, which main turns into a clear message and exit status 2.
 */

/** A mistake on the command line: printed with a pointer to `--help`, exit status 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  constructor(
    message: string,
    /** The command whose `--help` to point at, if any. */
    readonly command?: string,
  ) {
    super(message);
  }
}

/**
 * Runs `parseArgs` (call it with `strict: true`); its errors become UsageErrors naming the command.
 *
 * @example
 * const { values } = parsed('demo', () => parseArgs({ args, options, strict: true, allowPositionals: true }));
 */
export function parsed<T>(command: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new UsageError((error as Error).message.split('\n')[0] ?? 'bad arguments', command);
  }
}

/** A whole number of milliseconds, from 1 to 2^31−1; undefined stays undefined. */
export function parseMs(flag: string, value: string | undefined, command: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(ms) || ms < 1 || ms > 2 ** 31 - 1) {
    throw new UsageError(`--${flag} must be a whole number of milliseconds from 1 to 2147483647`, command);
  }
  return ms;
}

/**
 * `--keepalive <interval>:<timeout>` (whole ms, each from 1 to 2^31−1) and `--no-keepalive` → the
 * `keepalive` option: `undefined` (the library's default) when neither is given, `false` when off.
 *
 * @example parseKeepalive('20000:10000', undefined, 'connect') // { interval: 20000, timeout: 10000 }
 */
export function parseKeepalive(
  value: string | undefined,
  off: boolean | undefined,
  command: string,
): { interval: number; timeout: number } | false | undefined {
  if (off && value !== undefined) {
    throw new UsageError('--keepalive and --no-keepalive exclude each other', command);
  }
  if (off) return false;
  if (value === undefined) return undefined;
  const match = /^(\d+):(\d+)$/.exec(value);
  if (!match) {
    throw new UsageError(
      '--keepalive must be <interval>:<timeout> in whole milliseconds, e.g. 20000:10000',
      command,
    );
  }
  return {
    interval: parseMs('keepalive interval', match[1], command) as number,
    timeout: parseMs('keepalive timeout', match[2], command) as number,
  };
}

/** A whole number (close codes); undefined stays undefined. */
export function parseInteger(flag: string, value: string | undefined, command: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new UsageError(`--${flag} must be a whole number`, command);
  return Number(value);
}

/** RFC 7230 token: the syntax of a header name. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * `--header "Name: value"` (repeatable) → a headers object. Messages name the header, never its value:
 * values are often credentials.
 */
export function parseHeaders(values: string[] | undefined, command: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [index, raw] of (values ?? []).entries()) {
    const colon = raw.indexOf(':');
    const name = colon === -1 ? '' : raw.slice(0, colon).trim();
    if (!TOKEN.test(name)) {
      throw new UsageError(`--header #${index + 1} must look like "Name: value" (value not shown)`, command);
    }
    const value = raw.slice(colon + 1).trim();
    if (/[\r\n\0]/.test(value)) {
      throw new UsageError(`--header ${name}: the value has a line break or NUL (value not shown)`, command);
    }
    headers[name] = value;
  }
  return headers;
}
