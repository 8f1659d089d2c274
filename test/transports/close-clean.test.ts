/**
 * A clean close is reported clean on every kind of connection (RFC 6455 §7.1.2, §7.1.4: Close frames
 * went both ways, the server ended TCP), however late our Close frame really leaves the socket.
 *
 * Over plain loopback TCP the Close is written at once. Over TLS it leaves a tick after `ws.close()`
 * (behind the TLS write), and with permessage-deflate it waits in ws's sender queue behind the compressor
 * when a `send()` came just before; a nearby peer's echo and its TCP end then arrive before any poll. Each
 * kind is run many times: one unlucky ordering in 200 is the bug a user sees.
 *
 * Expectations are written out literally, never taken from the library's code.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { CloseInfo } from '../../machines/index.js';
import type { Connection, ConnectionOptions } from '../../src/index.js';
import { captureSupport, startRstCapture } from '../support/rst-capture.js';
import {
  type AbruptCloseServer,
  CONNECTION_KINDS,
  type ConnectionKind,
  startAbruptCloseServer,
  startWsServer,
  type WsServer,
} from '../support/servers.js';

type Api = typeof import('../../src/index.js');

// Imported inside a hook: a module that fails to load fails these tests (docs/testing.md).
let api: Api;
beforeAll(async () => {
  api = await import('../../src/index.js');
});

const RUNS = 200;
/** A single run that takes longer than this is recorded as hung (a healthy one takes ~2 ms). */
const RUN_BOUND_MS = 2000;

/** How one run ended, in a form that can be counted. */
interface Outcome {
  info: Omit<CloseInfo, 'error'> & { error?: string };
  states: string[];
  messages: unknown[];
}

/** Outcomes with how often each happened, most frequent first. */
type Tally = Array<Outcome & { runs: number }>;

function tally(outcomes: Outcome[]): Tally {
  const counts = new Map<string, Outcome & { runs: number }>();
  for (const outcome of outcomes) {
    const key = JSON.stringify(outcome);
    const entry = counts.get(key);
    if (entry) entry.runs++;
    else counts.set(key, { runs: 1, ...outcome });
  }
  return [...counts.values()].sort((a, b) => b.runs - a.runs);
}

/** Resolves with `promise`'s value, or with `onTimeout()` after `ms`. */
async function bounded<T>(promise: Promise<T>, ms: number, onTimeout: () => T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(onTimeout()), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function wsOptions(server: { ca: string | undefined }): ConnectionOptions {
  return { ws: server.ca ? { ca: server.ca } : {} };
}

function outcomeOf(conn: Connection, info: CloseInfo, messages: unknown[]): Outcome {
  const { error, ...rest } = info;
  return {
    info: error ? { ...rest, error: error.code } : rest,
    states: conn.trail.map((record) => record.to),
    messages,
  };
}

/** RFC 6455 §7.1.2 from our side: open, send 'x', then at once close(1000, 'bye'). */
async function sendThenClose(server: { url: string; ca: string | undefined }): Promise<Outcome> {
  const conn = api.createConnection(server.url, wsOptions(server));
  const messages: unknown[] = [];
  conn.on('message', (data) => messages.push(data));
  return bounded(
    (async () => {
      await conn.open();
      conn.send('x');
      const info = await conn.close(1000, 'bye');
      return outcomeOf(conn, info, messages);
    })(),
    RUN_BOUND_MS,
    () => {
      void conn.terminate();
      return {
        info: { code: -1, reason: 'hung', wasClean: false, initiator: 'local' },
        states: [],
        messages,
      };
    },
  );
}

describe('close(): a clean close is reported clean', () => {
  for (const kind of Object.keys(CONNECTION_KINDS) as ConnectionKind[]) {
    describe(`over ${kind}`, () => {
      let server: WsServer;
      beforeAll(async () => {
        server = await startWsServer({ ...CONNECTION_KINDS[kind], echo: true });
      });
      afterAll(() => server?.close());

      it(`send('x') then close(1000, 'bye'), ${RUNS} times: clean every time, through draining`, {
        // ~1–2 s alone; up to ~6 s seen while the rest of the suite loads both cores.
        timeout: 20_000,
      }, async () => {
        const outcomes: Outcome[] = [];
        for (let i = 0; i < RUNS; i++) outcomes.push(await sendThenClose(server));
        expect(tally(outcomes)).toEqual([
          {
            runs: RUNS,
            info: { code: 1000, reason: 'bye', wasClean: true, initiator: 'local' },
            states: ['idle', 'connecting', 'open', 'closing-sent', 'draining', 'closed'],
            // The echo of 'x' came before the peer's Close: delivered while closing.
            messages: ['x'],
          },
        ]);
      });
    });
  }
});

describe("the peer's Close first: a clean close is reported clean", () => {
  for (const kind of ['tls', 'tls + permessage-deflate'] as const) {
    describe(`over ${kind}`, () => {
      let server: WsServer;
      beforeAll(async () => {
        server = await startWsServer({ ...CONNECTION_KINDS[kind], echo: false });
        // RFC 6455 §7.1.2 from the server: on our message it sends Close 1001 and, after our echo, ends TCP.
        server.wss.on('connection', (socket) => socket.on('message', () => socket.close(1001, 'going away')));
      });
      afterAll(() => server?.close());

      it('the server closes with 1001, 50 times: clean every time, remote, through draining', {
        timeout: 10_000,
      }, async () => {
        const outcomes: Outcome[] = [];
        for (let i = 0; i < 50; i++) {
          const conn = api.createConnection(server.url, wsOptions(server));
          outcomes.push(
            await bounded(
              (async () => {
                await conn.open();
                conn.send('close me');
                return outcomeOf(conn, await conn.closed, []);
              })(),
              RUN_BOUND_MS,
              () => {
                void conn.terminate();
                return {
                  info: { code: -1, reason: 'hung', wasClean: false, initiator: 'remote' },
                  states: [],
                  messages: [],
                };
              },
            ),
          );
        }
        expect(tally(outcomes)).toEqual([
          {
            runs: 50,
            info: { code: 1001, reason: 'going away', wasClean: true, initiator: 'remote' },
            states: ['idle', 'connecting', 'open', 'closing-sent', 'draining', 'closed'],
            messages: [],
          },
        ]);
      });
    });
  }
});

// A server that closes TCP for good right after its Close echo (tornado, gorilla, nginx do): whatever
// the client writes after the server's FIN — its TLS close_notify — comes back as a RST. The plain ws
// client gets one per close; a clean close should cost none. Counted on the wire with tcpdump.
const capture = captureSupport();
const CAPTURE_RUNS = 20;

describe('close() over TLS against a server that closes TCP right after its echo: no RST on the wire', () => {
  let server: AbruptCloseServer;
  beforeAll(async () => {
    if (capture.ok) server = await startAbruptCloseServer();
  });
  afterAll(() => server?.close());

  const title = (text: string) => (capture.ok ? text : `${text} (skipped: ${capture.reason})`);

  it.skipIf(!capture.ok)(
    title(`the plain ws client, ${CAPTURE_RUNS} closes: one RST each (the capture sees them)`),
    {
      timeout: 10_000,
    },
    async () => {
      const rst = await startRstCapture(server.port);
      let clean = 0;
      for (let i = 0; i < CAPTURE_RUNS; i++) {
        const ws = new WebSocket(server.url, { ca: server.ca });
        await new Promise<void>((resolve, reject) => {
          ws.once('open', () => resolve());
          ws.once('error', reject);
        });
        const closed = new Promise<boolean>((resolve) => {
          ws.addEventListener('close', (event) => resolve(event.wasClean));
        });
        ws.send('x');
        ws.close(1000, 'bye');
        if (await bounded(closed, RUN_BOUND_MS, () => false)) clean++;
      }
      const result = await rst.stop();
      expect(clean).toBe(CAPTURE_RUNS);
      expect(result.dropped).toBe(0);
      // Each from the server's kernel, answering the close_notify ws wrote after the server's FIN.
      expect(result.rsts.filter((segment) => segment.from === 'server').length).toBe(CAPTURE_RUNS);
    },
  );

  it.skipIf(!capture.ok)(
    title(`ws-lifecycle, ${CAPTURE_RUNS} closes: clean, and no RST at all`),
    {
      timeout: 10_000,
    },
    async () => {
      const rst = await startRstCapture(server.port);
      const outcomes: Outcome[] = [];
      for (let i = 0; i < CAPTURE_RUNS; i++) outcomes.push(await sendThenClose(server));
      const result = await rst.stop();
      expect(result.dropped).toBe(0);
      // Both at once, so a failure shows whether the close, the wire or both are wrong.
      expect({ outcomes: tally(outcomes), rsts: result.rsts.map((segment) => segment.line) }).toEqual({
        outcomes: [
          {
            runs: CAPTURE_RUNS,
            info: { code: 1000, reason: 'bye', wasClean: true, initiator: 'local' },
            states: ['idle', 'connecting', 'open', 'closing-sent', 'draining', 'closed'],
            messages: ['x'],
          },
        ],
        rsts: [],
      });
      expect(server.closesReceived).toBeGreaterThanOrEqual(CAPTURE_RUNS);
    },
  );
});
