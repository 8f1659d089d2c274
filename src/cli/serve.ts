/**
 * `ws-lifecycle serve --port <n>`: a local WebSocket server on 127.0.0.1 that adopts every connection
 * and prints its lifecycle as it happens, like `wscat -l`. Ctrl-C (or SIGTERM) shuts it down
 * gracefully (`shutdown`: 503 for new handshakes, 1001 to everyone under the deadlines); a second
 * Ctrl-C terminates what is left.
 */
import type { IncomingMessage } from 'node:http';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { type WebSocket, WebSocketServer } from 'ws';
import type { Connection } from '../connection.js';
import { adopt } from '../server/adopt.js';
import { shutdown } from '../server/shutdown.js';
import type { ShutdownReport } from '../server/shutdown-report.js';
import { parsed, parseMs, UsageError } from './args.js';
import { EXIT, type ExitCode, exitTableText } from './exit-codes.js';
import { formatCloseInfo, painter, useColour } from './format.js';
import { humanReporter, type Reporter } from './reporter.js';

export const serveHelp = `Usage: ws-lifecycle serve --port <n> [options]

A local WebSocket server on 127.0.0.1 that adopts every connection and shows its lifecycle, like
wscat -l. Each line you type is sent to every open connection; messages received are printed on
stdout, each state change on stderr, both prefixed with the connection's number:

  [1] +0ms idle → open (api.adopt)
  [1] hello
  [1] +2104ms open → closing-sent (api.close 1001 "server shutting down")

Ctrl-C (or SIGTERM) shuts down gracefully: new handshakes get HTTP 503, every connection is closed
with 1001 under the write and read deadlines (a client that never answers is cut at them), then the
server closes and prints its report. A second Ctrl-C terminates every connection at once.

Options:
  --port <n>             port to listen on, on 127.0.0.1 (0: any free port; the one taken is printed)
  --echo                 send every message back to the connection it came from
  --write-timeout <ms>   deadline for our Close frame to be written (default 5000)
  --read-timeout <ms>    deadline for the client's Close and FIN after ours (default 5000)
  --no-keepalive         no pings (default: a ping after 20 s of silence, failed 10 s later)
  -h, --help             show this help

Exit status after the shutdown:
${exitTableText()}
  (0: every connection closed clean; 4: one was cut at a deadline; 6: one was lost;
  130: a second Ctrl-C terminated them)`;

const OPTIONS = {
  port: { type: 'string' },
  echo: { type: 'boolean' },
  'write-timeout': { type: 'string' },
  'read-timeout': { type: 'string' },
  'no-keepalive': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const HOST = '127.0.0.1';

export async function serve(args: string[]): Promise<number> {
  const { values, positionals } = parsed('serve', () =>
    parseArgs({ args, options: OPTIONS, strict: true, allowPositionals: true }),
  );
  if (values.help) {
    process.stdout.write(`${serveHelp}\n`);
    return EXIT.ok;
  }
  if (positionals.length > 0)
    throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`, 'serve');
  const port = parsePort(values.port);
  const timeouts = {
    write: parseMs('write-timeout', values['write-timeout'], 'serve') ?? 5000,
    read: parseMs('read-timeout', values['read-timeout'], 'serve') ?? 5000,
  };
  const paint = painter(useColour(process.stderr));
  const note = (text: string) => process.stderr.write(`${paint('dim', text)}\n`);

  const wss = new WebSocketServer({ host: HOST, port });
  const listening = await new Promise<{ port: number } | Error>((resolve) => {
    wss.once('listening', () => resolve(wss.address() as { port: number }));
    wss.once('error', resolve);
  });
  if (listening instanceof Error) {
    process.stderr.write(
      `${paint('red', 'ws-lifecycle serve:')} cannot listen on ${HOST}:${port}: ${listening.message}\n`,
    );
    return EXIT.failure;
  }
  wss.on('error', (error) => note(`server error: ${error.message}`));
  note(`listening on ws://${HOST}:${listening.port} (Ctrl-C to stop)`);

  const conns: Connection[] = [];
  let count = 0;
  wss.on('connection', (ws: WebSocket, request: IncomingMessage) => {
    const n = ++count;
    const reporter = prefixedReporter(n);
    const from = `${request.socket.remoteAddress}:${request.socket.remotePort}`;
    reporter.note('connection', `connection from ${from}`);
    const conn = adopt(ws, {
      timeouts,
      keepalive: values['no-keepalive'] ? false : undefined,
      trail: false,
      audit: (record) => reporter.state(record),
    });
    conns.push(conn);
    conn.on('message', (data) => {
      reporter.message(data);
      if (values.echo && conn.state === 'open') conn.send(data);
    });
    conn.on('close', (info) => {
      prefixed(process.stderr, `[${n}] `).write(
        `${paint('bold', 'closed:')} ${formatCloseInfo(info, paint)}\n`,
      );
      conns.splice(conns.indexOf(conn), 1);
    });
  });

  const lines = createInterface({
    input: process.stdin,
    crlfDelay: Number.POSITIVE_INFINITY,
    terminal: false,
  });
  lines.on('line', (line) => {
    const open = conns.filter((conn) => conn.state === 'open');
    if (open.length === 0) note('not sent: no open connection');
    for (const conn of open) conn.send(line);
  });

  const outcome = await new Promise<{ report: ShutdownReport; interrupted: boolean }>((resolve) => {
    let signals = 0;
    let interrupted = false;
    const onSignal = () => {
      signals++;
      if (signals === 1) {
        note(
          `shutting down: closing ${conns.length} connection${conns.length === 1 ? '' : 's'} with 1001; Ctrl-C again to terminate`,
        );
        void shutdown(wss, { timeouts }).then((report) => {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
          resolve({ report, interrupted });
        });
      } else {
        interrupted = true;
        note('terminating every connection without a close handshake');
        for (const conn of conns.slice()) void conn.terminate();
      }
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  lines.close();
  process.stdin.destroy();

  const { report, interrupted } = outcome;
  const codes = Object.entries(report.byCode)
    .map(([code, n]) => `${code}×${n}`)
    .join(' ');
  process.stderr.write(
    `${paint('bold', 'shutdown:')} ${report.total} connection${report.total === 1 ? '' : 's'}: ${report.clean} clean, ${report.unclean} unclean, ${report.terminated} terminated in ${Math.round(report.durationMs)} ms${codes ? ` (${codes})` : ''}\n`,
  );
  const exitCode = exitCodeOfShutdown(report, interrupted);
  note(`exit status ${exitCode}`);
  return exitCode;
}

/** 0 when every connection closed clean; otherwise what went worst. */
function exitCodeOfShutdown(report: ShutdownReport, interrupted: boolean): ExitCode {
  if (interrupted) return EXIT.interrupted;
  if (report.terminated > 0) return EXIT.deadline;
  if (report.unclean > 0) return EXIT.connectionLost;
  return EXIT.ok;
}

function parsePort(value: string | undefined): number {
  if (value === undefined) throw new UsageError('missing --port <n>', 'serve');
  const port = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError('--port must be a whole number from 0 to 65535', 'serve');
  }
  return port;
}

/** The connect command's human reporter, every line prefixed with the connection's number. */
function prefixedReporter(n: number): Reporter {
  const tag = `[${n}] `;
  return humanReporter({ stdout: prefixed(process.stdout, tag), stderr: prefixed(process.stderr, tag) });
}

function prefixed<S extends NodeJS.WritableStream & { isTTY?: boolean }>(stream: S, tag: string) {
  return {
    isTTY: stream.isTTY,
    write(text: string): boolean {
      return stream.write(text.replace(/^(?=.)/gm, tag));
    },
  } as unknown as NodeJS.WritableStream & { isTTY?: boolean };
}
