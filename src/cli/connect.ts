/**
 * `ws-lifecycle connect <url>`: an interactive client that shows the lifecycle as it happens.
 * stdin lines → text messages; messages → stdout; state changes → stderr. End of input or Ctrl-C closes
 * gracefully under the deadlines; a second Ctrl-C terminates.
 */

import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import type { InspectionEvent } from 'xstate';
import { validateCloseStatus } from '../../machines/close-codes.js';
import { ConnectionError } from '../../machines/connection-error.js';
import type { CloseInfo } from '../../machines/types.js';
import type { JsonlAuditSink } from '../audit/jsonl-audit.js';
import { type Connection, createConnection } from '../connection.js';
import { type ConnectionOptions, resolveOptions } from '../options.js';
import { parsed, parseHeaders, parseInteger, parseKeepalive, parseMs, UsageError } from './args.js';
import { openAuditFile } from './audit-file.js';
import { EXIT, exitCodeOf, exitTableText } from './exit-codes.js';
import { humanReporter, jsonReporter, type Reporter } from './reporter.js';

export const connectHelp = `Usage: ws-lifecycle connect <url> [options]

Connects to a WebSocket server (ws:, wss:, or http(s): mapped to ws(s):) and shows its lifecycle.
Each line you type is sent as a text message; messages received are printed on stdout (binary ones
as a short hex summary); every state change is printed on stderr as it happens:

  +3ms connecting → open (ws.open)
  +2104ms open → closing-sent (api.close 1000)

End of input (Ctrl-D) or Ctrl-C closes gracefully: our Close frame under the write deadline, then
the peer's Close under the read deadline. A second Ctrl-C terminates at once, without a handshake.

Options:
  --protocol <name>        offer a subprotocol (repeatable)
  -H, --header "K: V"      add a request header (repeatable); values are never printed
  --connect-timeout <ms>   connect deadline (default 10000)
  --write-timeout <ms>     deadline for our Close frame to be written (default 5000)
  --read-timeout <ms>      deadline for the peer's Close after ours (default 5000)
  --close-code <code>      code of our Close frame (default 1000)
  --close-reason <text>    reason of our Close frame (default none, at most 123 UTF-8 bytes)
  --keepalive <i>:<t>      ping after <i> ms with nothing received; fail the connection if nothing
                           arrives within <t> ms of the ping (default 20000:10000)
  --no-keepalive           no pings and no deadline while open
  -P, --show-ping-pong     show pings and pongs on stderr: ours (> ping, < pong with the round trip)
                           and the peer's (< ping, answered > pong)
  --audit <file.jsonl>     append the audit trail to a JSON Lines file (check it with verify)
  --json                   every output line is one JSON object, all on stdout, in order
  -h, --help               show this help

Exit status:
${exitTableText()}

URL credentials and query values are redacted in everything printed.`;

const OPTIONS = {
  protocol: { type: 'string', multiple: true },
  header: { type: 'string', short: 'H', multiple: true },
  'connect-timeout': { type: 'string' },
  'write-timeout': { type: 'string' },
  'read-timeout': { type: 'string' },
  'close-code': { type: 'string' },
  'close-reason': { type: 'string' },
  keepalive: { type: 'string' },
  'no-keepalive': { type: 'boolean' },
  'show-ping-pong': { type: 'boolean', short: 'P' },
  audit: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function connect(args: string[]): Promise<number> {
  const { values, positionals } = parsed('connect', () =>
    parseArgs({ args, options: OPTIONS, strict: true, allowPositionals: true }),
  );
  if (values.help) {
    process.stdout.write(`${connectHelp}\n`);
    return EXIT.ok;
  }
  if (positionals.length !== 1) {
    throw new UsageError(positionals.length === 0 ? 'missing <url>' : 'expected one <url>', 'connect');
  }
  const url = positionals[0] as string;
  const closeStatus = closeStatusOf(values['close-code'], values['close-reason']);
  const timeouts = {
    connect: parseMs('connect-timeout', values['connect-timeout'], 'connect'),
    write: parseMs('write-timeout', values['write-timeout'], 'connect'),
    read: parseMs('read-timeout', values['read-timeout'], 'connect'),
  };
  const headers = parseHeaders(values.header, 'connect');
  const keepalive = parseKeepalive(values.keepalive, values['no-keepalive'], 'connect');
  const showPingPong = values['show-ping-pong'] === true;
  const reporter = values.json
    ? jsonReporter(process)
    : humanReporter({ stdout: process.stdout, stderr: process.stderr });
  let audit: JsonlAuditSink | undefined;
  const pingPong = pingPongReporter();
  const options: ConnectionOptions = {
    ...(values.protocol ? { protocols: values.protocol } : {}),
    timeouts: Object.fromEntries(Object.entries(timeouts).filter(([, ms]) => ms !== undefined)),
    ws: { headers },
    ...(keepalive === undefined ? {} : { keepalive }),
    // Our pings are the machine's `transport.ping` commands (keepalive or conn.ping()), seen by inspection.
    ...(showPingPong ? { inspect: (event: InspectionEvent) => pingPong.command(event) } : {}),
    // The audit option sees every record, the initial idle one included.
    audit: (record) => {
      reporter.state(record);
      audit?.(record);
    },
    trail: false,
  };
  // Bad input is a usage error before anything is printed or opened.
  const { safeUrl, keepalive: resolvedKeepalive } = usable(() => resolveOptions(url, options));
  if (values.audit !== undefined) {
    audit = openAuditFile(values.audit, (error) => reporter.note('warning', `audit trail: ${error.message}`));
  }
  const keepaliveText = resolvedKeepalive
    ? `keepalive ${resolvedKeepalive.interval}:${resolvedKeepalive.timeout} ms`
    : 'keepalive off';
  reporter.note('connecting', `connecting to ${safeUrl} (${keepaliveText})`, {
    url: safeUrl,
    keepalive: resolvedKeepalive
      ? { interval: resolvedKeepalive.interval, timeout: resolvedKeepalive.timeout }
      : false,
  });
  pingPong.start(reporter);
  const conn = createConnection(url, options);
  if (showPingPong) pingPong.watch(conn);
  const info = await run(conn, reporter, closeStatus);
  await audit?.close();
  const exitCode = exitCodeOf(info);
  reporter.closed(info, exitCode);
  return exitCode;
}

/**
 * `-P`: pings and pongs as they happen, like wscat's `--show-ping-pong`, on stderr (or as JSON lines
 * with `--json`): `> ping` is ours (a keepalive ping, RFC 6455 §5.5.2), `< pong` its answer with the
 * round trip; `< ping` is the peer's, and `> pong` the answer ws sends by itself.
 */
function pingPongReporter() {
  let reporter: Reporter | undefined;
  let t0 = 0;
  const show = (kind: 'ping' | 'pong', direction: 'in' | 'out', text: string, fields = {}) => {
    const elapsedMs = Math.round((performance.now() - t0) * 1000) / 1000;
    reporter?.note(kind, `+${Math.round(elapsedMs)}ms ${direction === 'in' ? '<' : '>'} ${text}`, {
      direction,
      elapsedMs,
      ...fields,
    });
  };
  return {
    start(to: Reporter) {
      reporter = to;
      t0 = performance.now();
    },
    command(event: InspectionEvent) {
      if (event.type === '@xstate.action' && event.action.type === 'transport.ping')
        show('ping', 'out', 'ping');
    },
    watch(conn: Connection) {
      conn.on('pong', (rttMs) =>
        show('pong', 'in', rttMs === null ? 'pong (unsolicited)' : `pong (${rttMs} ms)`, { rttMs }),
      );
      conn.on('ping', (data) => {
        show('ping', 'in', data.length ? `ping (${data.length} bytes)` : 'ping', { length: data.length });
        show('pong', 'out', 'pong (answered by ws)');
      });
    },
  };
}

/** Drives one connection from stdin and signals until it has closed. */
async function run(conn: Connection, reporter: Reporter, status: { code: number; reason: string }) {
  const pending: string[] = [];
  let inputEnded = false;
  let interrupts = 0;

  const close = () => {
    void conn.close(status.code, status.reason);
  };
  conn.on('message', (data) => reporter.message(data));

  const lines = createInterface({
    input: process.stdin,
    crlfDelay: Number.POSITIVE_INFINITY,
    terminal: false,
  });
  lines.on('line', (line) => {
    const state = conn.state;
    if (state === 'idle' || state === 'connecting') pending.push(line);
    else if (state === 'open') conn.send(line);
    else reporter.note('warning', `not sent: the connection is ${state}`, { state });
  });
  lines.on('close', () => {
    inputEnded = true;
    // End of input closes, once open (lines typed before are sent first).
    if (conn.state === 'open') close();
  });

  const onSignal = () => {
    interrupts++;
    const state = conn.state;
    if (interrupts === 1 && state === 'open') {
      reporter.note('hint', 'closing gracefully; Ctrl-C again to terminate at once');
      close();
    } else if (interrupts === 1 && (state === 'idle' || state === 'connecting')) {
      reporter.note('hint', 'aborting the connect');
      close();
    } else {
      reporter.note('hint', 'terminating without a close handshake');
      void conn.terminate();
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  conn.open().then(
    () => {
      for (const line of pending.splice(0)) if (conn.state === 'open') conn.send(line);
      if (inputEnded) close();
      else if (process.stdin.isTTY) {
        reporter.note(
          'hint',
          'open: type a line to send it; Ctrl-D or Ctrl-C closes, Ctrl-C twice terminates',
        );
      }
    },
    () => {}, // The outcome arrives through conn.closed.
  );

  const info: CloseInfo = await conn.closed;
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  lines.close();
  process.stdin.destroy();
  return info;
}

function closeStatusOf(rawCode: string | undefined, rawReason: string | undefined) {
  const code = parseInteger('close-code', rawCode, 'connect') ?? 1000;
  return usable(() => validateCloseStatus(code, rawReason ?? ''));
}

/** Runs `make`; a ConnectionError for bad input (URL, options, close status) becomes a UsageError. */
function usable<T>(make: () => T): T {
  try {
    return make();
  } catch (error) {
    if (error instanceof ConnectionError) throw new UsageError(error.message, 'connect');
    throw error;
  }
}
