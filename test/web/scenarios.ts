/**
 * The scenarios every runtime runs, written once: plain ESM once bundled (no `node:` import, no test
 * framework), so the same file runs in Chromium, Node 22/24, Deno and Bun against `ws-lifecycle/web`.
 * The host (test/web/harness.ts) starts the servers and fault peers, passes their URLs in a
 * {@link ScenarioConfig}, and asserts the results per runtime; nothing is asserted here. Each
 * scenario records what the connection reported (outcome, trail, events, messages, timings) and runs
 * under its own deadline.
 */
import { type Connection, createConnection, type WebConnectionOptions } from '../../src/web.js';

/** Every scenario, by name. */
export const SCENARIOS = [
  'clean-close',
  'peer-closes-first',
  'read-deadline',
  'connect-deadline',
  'connect-aborted',
  'refused',
  'http-error',
  'invalid-close-code',
  'data-while-closing',
  'heartbeat',
  'options',
  'terminate',
  'reset',
  'invalid-frame',
  'write-deadline',
] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

/** What the host gives: a URL per scenario, and the deadlines and heartbeat the scenarios use. */
export interface ScenarioConfig {
  urls: Record<ScenarioName, string>;
  /** Scenarios to run (all by default). */
  only?: ScenarioName[];
  /** The heartbeat the json-heartbeat peer answers. */
  heartbeat: { ping: string; pong: string };
  /** Deadlines, ms. */
  ms: {
    connect: number;
    read: number;
    write: number;
    interval: number;
    pongTimeout: number;
    /** Each scenario's own deadline. */
    scenario: number;
  };
  /** Bytes `write-deadline` sends before closing, to a peer that stopped reading. */
  floodBytes: number;
}

/** A ConnectionError, as plain data. */
export interface ErrorResult {
  name: string;
  code: string;
  message: string;
  status?: number;
}

/** One state change as recorded. */
export interface TrailStep {
  from: string | null;
  to: string;
  event: string;
  detail?: Record<string, unknown>;
}

/** What one scenario observed. */
export interface ScenarioResult {
  /** Set if the scenario itself broke (its deadline, an unexpected throw). */
  failure?: string;
  /** The CloseInfo, with its error as plain data. */
  info?: { code: number; reason: string; wasClean: boolean; initiator: string; error?: ErrorResult };
  trail?: TrailStep[];
  /** 'error' events heard, and 'close' events heard. */
  errorEvents?: number;
  closeEvents?: number;
  messages?: Array<string | { bytes: number }>;
  /** open()'s rejection, if it rejected. */
  openError?: ErrorResult;
  /** Errors thrown or rejected by the calls the scenario tries (named by the call). */
  refusals?: Record<string, ErrorResult | null>;
  /** States seen right after each refusal. */
  statesAfter?: Record<string, string>;
  /** Milliseconds, named by what they measure. */
  ms?: Record<string, number>;
}

type Run = (url: string, config: ScenarioConfig) => Promise<ScenarioResult>;

function errorData(error: unknown): ErrorResult {
  const e = error as { name?: unknown; code?: unknown; message?: unknown; status?: unknown };
  const out: ErrorResult = { name: String(e?.name), code: String(e?.code), message: String(e?.message) };
  if (typeof e?.status === 'number') out.status = e.status;
  return out;
}

/** Listens to everything a connection tells. */
function watch(conn: Connection) {
  const seen = { errorEvents: 0, closeEvents: 0, messages: [] as Array<string | { bytes: number }> };
  conn.on('error', () => {
    seen.errorEvents += 1;
  });
  conn.on('close', () => {
    seen.closeEvents += 1;
  });
  conn.on('message', (data) => {
    seen.messages.push(typeof data === 'string' ? data : { bytes: data.byteLength });
  });
  return seen;
}

function summary(conn: Connection, info: Awaited<Connection['closed']>, seen: ReturnType<typeof watch>) {
  const result: ScenarioResult = {
    info: {
      code: info.code,
      reason: info.reason,
      wasClean: info.wasClean,
      initiator: info.initiator,
      ...(info.error ? { error: errorData(info.error) } : {}),
    },
    trail: conn.trail.map((r) => ({
      from: r.from,
      to: r.to,
      event: r.event,
      ...(r.detail ? { detail: { ...r.detail } } : {}),
    })),
    errorEvents: seen.errorEvents,
    closeEvents: seen.closeEvents,
    messages: seen.messages,
  };
  return result;
}

async function rejection(promise: Promise<unknown>): Promise<ErrorResult | null> {
  try {
    await promise;
    return null;
  } catch (error) {
    return errorData(error);
  }
}

function thrown(fn: () => unknown): ErrorResult | null {
  try {
    fn();
    return null;
  } catch (error) {
    return errorData(error);
  }
}

/** Opens, then runs `after`; returns the summary once closed, with `ms` filled in by `after`. */
async function openThen(
  url: string,
  options: WebConnectionOptions,
  after: (conn: Connection, ms: Record<string, number>) => Promise<void>,
): Promise<ScenarioResult> {
  const conn = createConnection(url, options);
  const seen = watch(conn);
  const ms: Record<string, number> = {};
  await conn.open();
  await after(conn, ms);
  const info = await conn.closed;
  return { ...summary(conn, info, seen), ms };
}

/** Starts the handshake and reports how open() ended, and when. */
async function failedOpen(url: string, options: WebConnectionOptions, then?: (conn: Connection) => void) {
  const conn = createConnection(url, options);
  const seen = watch(conn);
  const t0 = performance.now();
  const opened = rejection(conn.open());
  then?.(conn);
  const openError = await opened;
  const openMs = performance.now() - t0;
  const info = await conn.closed;
  const result: ScenarioResult = { ...summary(conn, info, seen), ms: { open: openMs } };
  if (openError) result.openError = openError;
  return result;
}

const RUNS: Record<ScenarioName, Run> = {
  // A ws server echoes; we close normally (RFC 6455 §7.1.2).
  'clean-close': (url) =>
    openThen(url, {}, async (conn, ms) => {
      const echoed = new Promise<void>((resolve) => conn.on('message', () => resolve()));
      conn.send('hello');
      await echoed;
      const t0 = performance.now();
      await conn.close(1000, 'bye');
      ms.close = performance.now() - t0;
    }),

  // The peer sends Close 4001 first (RFC 6455 §7.1.3); the runtime answers it.
  'peer-closes-first': (url) => openThen(url, {}, async () => {}),

  // A peer that never answers our Close: ended at the read deadline.
  'read-deadline': (url, { ms: d }) =>
    openThen(url, { timeouts: { read: d.read } }, async (conn, ms) => {
      const t0 = performance.now();
      await conn.close();
      ms.close = performance.now() - t0;
    }),

  // A server that never answers the upgrade: ended at the connect deadline.
  'connect-deadline': (url, { ms: d }) => failedOpen(url, { timeouts: { connect: d.connect } }),

  // close() while connecting aborts the handshake.
  'connect-aborted': (url) =>
    failedOpen(url, {}, (conn) => {
      setTimeout(() => void conn.close(), 50);
    }),

  // Nothing listens: the runtime's error ends it at once, well before the connect deadline.
  refused: (url) => failedOpen(url, { timeouts: { connect: 5000 } }),

  // HTTP 403 instead of 101.
  'http-error': (url) => failedOpen(url, { timeouts: { connect: 5000 } }),

  // Codes the standard API cannot send are refused before anything happens; then a 3001 goes out.
  'invalid-close-code': async (url) => {
    const conn = createConnection(url, {});
    const seen = watch(conn);
    await conn.open();
    const refusals: Record<string, ErrorResult | null> = {};
    const statesAfter: Record<string, string> = {};
    for (const code of [1001, 1011, 1003, 2999, 1005, 5000]) {
      refusals[`close(${code})`] = await rejection(conn.close(code));
      statesAfter[`close(${code})`] = conn.state;
    }
    refusals['close(3001, 124 bytes)'] = await rejection(conn.close(3001, 'x'.repeat(124)));
    statesAfter['close(3001, 124 bytes)'] = conn.state;
    const info = await conn.close(3001, 'custom');
    return { ...summary(conn, info, seen), refusals, statesAfter };
  },

  // The peer sends late-1..3 after our Close, then its own Close.
  'data-while-closing': (url) =>
    openThen(url, {}, async (conn) => {
      await conn.close(1000, 'done');
    }),

  // The peer answers two heartbeats, then stays silent: the pong deadline fails the connection.
  heartbeat: async (url, { heartbeat, ms: d }) => {
    const conn = createConnection(url, {
      keepalive: {
        interval: d.interval,
        timeout: d.pongTimeout,
        message: () => heartbeat.ping,
        isPong: (data) => data === heartbeat.pong,
      },
    });
    const seen = watch(conn);
    await conn.open();
    const t0 = performance.now();
    const info = await conn.closed;
    return { ...summary(conn, info, seen), ms: { sinceOpen: performance.now() - t0 } };
  },

  // Options the standard WebSocket cannot honour are refused; ping() needs the heartbeat.
  options: async (url) => {
    const refusals: Record<string, ErrorResult | null> = {
      'keepalive without heartbeat': thrown(() => createConnection(url, { keepalive: { interval: 1000 } })),
      'keepalive {}': thrown(() => createConnection(url, { keepalive: {} })),
      'ws option': thrown(() => createConnection(url, { ws: {} } as never)),
      'headers option': thrown(() => createConnection(url, { headers: { a: 'b' } } as never)),
      'WebSocket not a constructor': thrown(() => createConnection(url, { WebSocket: 42 } as never)),
      'keepalive false': thrown(() => createConnection(url, { keepalive: false })),
    };
    const conn = createConnection(url);
    const seen = watch(conn);
    await conn.open();
    refusals['ping() without heartbeat'] = await rejection(conn.ping());
    const info = await conn.close();
    return { ...summary(conn, info, seen), refusals };
  },

  // No terminate in the standard API: close and detach at once.
  terminate: (url) =>
    openThen(url, {}, async (conn, ms) => {
      const t0 = performance.now();
      await conn.terminate();
      ms.terminate = performance.now() - t0;
    }),

  // The peer resets TCP while open.
  reset: (url) => openThen(url, {}, async () => {}),

  // The peer sends a frame with a reserved opcode: the runtime fails the connection.
  'invalid-frame': (url) => openThen(url, {}, async () => {}),

  // The peer stopped reading; our Close waits behind what we sent.
  'write-deadline': (url, { ms: d, floodBytes }) =>
    openThen(url, { timeouts: { write: d.write, read: d.read } }, async (conn, ms) => {
      const chunk = new Uint8Array(1 << 20);
      for (let sent = 0; sent < floodBytes; sent += chunk.byteLength) conn.send(chunk);
      const t0 = performance.now();
      await conn.close();
      ms.close = performance.now() - t0;
    }),
};

/** Runs the scenarios at once, each under its deadline; never rejects. */
export async function runScenarios(config: ScenarioConfig): Promise<Record<string, ScenarioResult>> {
  const names = config.only ?? SCENARIOS;
  const entries = await Promise.all(
    names.map(async (name): Promise<[string, ScenarioResult]> => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const deadline = new Promise<ScenarioResult>((resolve) => {
        timer = setTimeout(
          () => resolve({ failure: `scenario deadline (${config.ms.scenario} ms) passed` }),
          config.ms.scenario,
        );
      });
      try {
        const run = RUNS[name](config.urls[name], config).catch(
          (error: unknown): ScenarioResult => ({ failure: `threw: ${describe(error)}` }),
        );
        return [name, await Promise.race([run, deadline])];
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  return Object.fromEntries(entries);
}

function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
