/**
 * `shutdown`: a whole ws server down, gracefully and fast, with one report.
 *
 * 1. Stops accepting at once: from the call on, every opening handshake not yet answered gets HTTP 503
 *    with `Connection: close` (src/server/refuse-upgrades.ts); the server keeps listening meanwhile,
 *    so a client trying now is told, not refused at the TCP level.
 * 2. Closes every connection in parallel (RFC 6455 §7.1.2, Close `code`/`reason`, 1001 "going away" by
 *    default), each under its write and read deadlines. Sockets never adopted are adopted for the close
 *    (keepalive off, no trail), so every one ends in a recorded outcome.
 * 3. Stragglers are cut at their deadlines by their own machines. For a connection adopted with
 *    longer deadlines the shutdown's apply: a Close still unwritten at `write` is terminated then,
 *    whatever still runs at `write + read` is terminated then.
 * 4. Closes the server: `wss.close()`, which for `{ port }` also closes the HTTP server ws created
 *    (with any plain HTTP connection still on it); a `{ server }` you passed stays yours, listening.
 *
 * Bounded: at most `write + read + 100` ms, whatever the number of connections. Resolves once, never
 * rejects once started; repeated calls share it.
 */
import type { Server as HttpServer } from 'node:http';
import WebSocket, { type WebSocketServer } from 'ws';
import { ConnectionError } from '../../machines/connection-error.js';
import type { CloseInfo } from '../../machines/types.js';
import type { Connection } from '../connection.js';
import { adopt, adoptedConnection } from './adopt.js';
import { type ResolvedShutdownOptions, resolveShutdownOptions, type ShutdownOptions } from './options.js';
import { refuseUpgrades } from './refuse-upgrades.js';
import { type ShutdownReport, Tally } from './shutdown-report.js';

/** Past every connection's end, the time left for the server itself to close. */
export const SERVER_CLOSE_GRACE_MS = 90;

const shutdowns = new WeakMap<WebSocketServer, Promise<ShutdownReport>>();

/**
 * Shuts `wss` down: refuses new handshakes with 503, closes every connection in parallel under the
 * deadlines, terminates the stragglers, closes the server, and resolves with the counts.
 *
 * Rejects, before anything happens, with ConnectionError ERR_INVALID_OPTIONS (not a WebSocketServer,
 * one without `clientTracking`, a bad option), ERR_INVALID_CLOSE_CODE or ERR_INVALID_CLOSE_REASON.
 * Repeated calls return the first call's promise (their options are checked, then ignored).
 *
 * @example
 * process.once('SIGTERM', async () => {
 *   const report = await shutdown(wss, { timeouts: { write: 2000, read: 2000 } });
 *   console.log(report); // { total, clean, unclean, terminated, durationMs, byCode }
 * });
 */
export function shutdown(wss: WebSocketServer, options?: ShutdownOptions): Promise<ShutdownReport> {
  let resolved: ResolvedShutdownOptions;
  try {
    checkServer(wss);
    resolved = resolveShutdownOptions(options);
  } catch (error) {
    const rejected = Promise.reject(error);
    rejected.catch(noop);
    return rejected;
  }
  let running = shutdowns.get(wss);
  if (!running) {
    running = run(wss, resolved);
    shutdowns.set(wss, running);
  }
  return running;
}

/** One connection being closed: its outcome, and how to cut it at the shutdown's cut-off. */
interface Closing {
  /** Resolves with the outcome; never rejects. */
  done: Promise<CloseInfo>;
  /** Our Close is not written yet (`closing-sent`). */
  writing(): boolean;
  /**
   * The connection's own deadlines are longer than the shutdown's: only then does the shutdown cut it
   * at `write` (otherwise its own write deadline does, and its outcome says ERR_WRITE_DEADLINE).
   */
  longer: { write: boolean };
  cut(): void;
  wasCut: boolean;
}

async function run(wss: WebSocketServer, options: ResolvedShutdownOptions): Promise<ShutdownReport> {
  const startedAt = performance.now();
  const refusal = refuseUpgrades(wss);
  const tally = new Tally(startedAt, options.onProgress);
  const { write, read } = options.timeouts;

  const closings: Closing[] = [];
  for (const ws of [...(wss.clients as Set<WebSocket>)]) {
    const closing = startClosing(ws, options);
    if (closing) closings.push(closing);
  }
  tally.total = closings.length;
  tally.progress();

  // The shutdown's own deadlines, for connections adopted with longer ones: a Close still unwritten at
  // `write` is cut then; everything still running at `write + read` is cut then.
  // Both are counted from the call, not from the end of the loop above (10 000 closes take a while).
  const writeCutoff = setTimeout(
    () => {
      for (const closing of closings) if (closing.writing() && closing.longer.write) closing.cut();
    },
    remaining(startedAt, write),
  );
  const cutoff = setTimeout(
    () => {
      for (const closing of closings) closing.cut();
    },
    remaining(startedAt, write + read),
  );
  await Promise.all(
    closings.map(async (closing) => {
      const info = await closing.done;
      tally.count(info, closing.wasCut);
    }),
  );
  clearTimeout(writeCutoff);
  clearTimeout(cutoff);

  const budget = remaining(startedAt, write + read + SERVER_CLOSE_GRACE_MS);
  await closeServer(wss, refusal.restore, Math.min(budget, SERVER_CLOSE_GRACE_MS));
  return tally.report();
}

/** Ms left until `ms` after `startedAt` (performance.now()), at least 0. */
function remaining(startedAt: number, ms: number): number {
  return Math.max(0, startedAt + ms - performance.now());
}

function startClosing(ws: WebSocket, options: ResolvedShutdownOptions): Closing | null {
  let conn: Connection | undefined = adoptedConnection(ws);
  if (!conn && ws.readyState === WebSocket.OPEN) {
    conn = adopt(ws, {
      timeouts: { write: options.timeouts.write, read: options.timeouts.read },
      keepalive: false,
      trail: false,
    });
  }
  if (conn) {
    if (conn.state === 'closed') return null; // ended before the shutdown: not one of its outcomes
    const adopted = conn;
    const closing: Closing = {
      done: adopted.closed,
      wasCut: false,
      writing: () => adopted.state === 'closing-sent',
      longer: { write: adopted.actor.getSnapshot().context.timeouts.write > options.timeouts.write },
      cut() {
        if (adopted.state === 'closed') return;
        closing.wasCut = true;
        void adopted.terminate();
      },
    };
    // Shares a handshake already under way (the application's own close()).
    void adopted.close(options.code, options.reason);
    return closing;
  }
  if (ws.readyState === WebSocket.CLOSED) return null;
  return closingUnadoptable(ws);
}

/**
 * A socket never adopted that is already closing (the application called ws's close() itself): it
 * cannot be adopted any more, so its outcome is what ws reports, and it is cut like the rest.
 */
function closingUnadoptable(ws: WebSocket): Closing {
  const closing: Closing = {
    done: new Promise<CloseInfo>((resolve) => {
      ws.addEventListener(
        'close',
        (event) => {
          resolve({ code: event.code, reason: event.reason, wasClean: event.wasClean, initiator: 'local' });
        },
        { once: true },
      );
    }),
    wasCut: false,
    writing: () => false,
    longer: { write: false },
    cut() {
      if (ws.readyState === WebSocket.CLOSED) return;
      closing.wasCut = true;
      ws.terminate();
    },
  };
  return closing;
}

/**
 * `wss.close()`, then the 503 refusal goes (its sockets with it) and, for `{ port }`, any plain HTTP
 * connection on the server ws made. Waits for the server's 'close' at most `ms`.
 */
function closeServer(wss: WebSocketServer, restoreUpgrades: () => void, ms: number): Promise<void> {
  const own = ownHttpServer(wss);
  return new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      resolve();
    }
    // From here ws refuses on its own: its server is closing (503 in noServer mode, no listener else).
    wss.close(() => done());
    restoreUpgrades();
    own?.closeAllConnections();
  });
}

function checkServer(wss: unknown): asserts wss is WebSocketServer {
  const candidate = wss as Partial<WebSocketServer> | null;
  if (
    typeof candidate !== 'object' ||
    candidate === null ||
    typeof candidate.handleUpgrade !== 'function' ||
    typeof candidate.close !== 'function'
  ) {
    throw new ConnectionError('ERR_INVALID_OPTIONS', 'shutdown takes a ws WebSocketServer');
  }
  if (!(candidate.clients instanceof Set)) {
    throw new ConnectionError(
      'ERR_INVALID_OPTIONS',
      'shutdown needs the server to track its clients (clientTracking: true, the default)',
    );
  }
}

function noop(): void {}

// ---------------------------------------------------------------------------------------------------
// ws internals; test/transports/ws-server.test.ts fails loudly if a ws upgrade changes them.

/** The HTTP server ws created for `{ port }` (its private `_server`); null for `{ server }`/`noServer`. */
export function ownHttpServer(wss: WebSocketServer): HttpServer | null {
  const options = (wss as unknown as { options?: { port?: unknown } }).options;
  if (options?.port == null) return null;
  const server = (wss as unknown as { _server?: unknown })._server;
  return server && typeof (server as HttpServer).closeAllConnections === 'function'
    ? (server as HttpServer)
    : null;
}
