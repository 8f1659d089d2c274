/**
 * Reconnect storm: N clients on one ws echo server (its own process), the server killed by PID and
 * started again on the same port `--down` ms later. Per library, in the same run, one after another,
 * each with its shipped defaults: the time until every client is open again (from the server's
 * return), every connection attempt (a WebSocket constructed), and the peak attempts in any 100 ms.
 *
 *   npx tsx bench/storm.ts [--clients 1000] [--down 2000] [--only lifecycle,partysocket,reconnecting-websocket]
 *
 * Attempts are counted in the client process: ws-lifecycle's from its audit records (an attempt's
 * connection entering `connecting`), the others' by the WebSocket class they are given.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import PartySocket from 'partysocket/ws';
import ReconnectingWebSocketModule from 'reconnecting-websocket';
import WS from 'ws';
import { createManagedConnection } from '../src/managed/managed-connection.js';
import type { ManagedTrailRecord } from '../src/managed/managed-trail.js';

// A CommonJS package: under NodeNext its default import is the module object, whose default is the class.
type RwsClass = typeof ReconnectingWebSocketModule.default;
const ReconnectingWebSocket: RwsClass =
  (ReconnectingWebSocketModule as unknown as { default?: RwsClass }).default ??
  (ReconnectingWebSocketModule as unknown as RwsClass);

const KINDS = ['lifecycle', 'lifecycle-same-caps', 'partysocket', 'reconnecting-websocket'] as const;
type Kind = (typeof KINDS)[number];

const { values: args } = parseArgs({
  options: {
    clients: { type: 'string', default: '1000' },
    down: { type: 'string', default: '2000' },
    only: { type: 'string' },
    timeout: { type: 'string', default: '60000' },
    out: { type: 'string', default: fileURLToPath(new URL('./results/storm.json', import.meta.url)) },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (args.help) {
  console.log(
    'npx tsx bench/storm.ts [--clients 1000] [--down 2000] [--only kinds] [--timeout 60000] [--out file]',
  );
  process.exit(0);
}
const CLIENTS = Number(args.clients);
const DOWN_MS = Number(args.down);
const TIMEOUT_MS = Number(args.timeout);
const kinds = (args.only?.split(',').map((k) => k.trim()) ?? [...KINDS]) as Kind[];
for (const kind of kinds)
  if (!KINDS.includes(kind)) throw new Error(`unknown kind ${kind} (${KINDS.join(', ')})`);
if (!(CLIENTS >= 1 && DOWN_MS >= 0 && TIMEOUT_MS > 0)) throw new Error('bad --clients, --down or --timeout');

// The echo server, started as its own process on a given port; ended by PID.
const SERVER = `
import { WebSocketServer } from 'ws';
const wss = new WebSocketServer({ host: '127.0.0.1', port: Number(process.argv[1]), perMessageDeflate: false, backlog: 4096 });
wss.on('connection', (ws) => { ws.on('error', () => {}); ws.on('message', (d, b) => ws.send(d, { binary: b })); });
wss.on('listening', () => process.stdout.write(JSON.stringify({ port: wss.address().port }) + '\\n'));
wss.on('error', (e) => { process.stderr.write(e.code + '\\n'); process.exit(3); });
process.stdin.on('end', () => process.exit(0)); process.stdin.resume();
`;
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) if (child.pid && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
});

interface Server {
  port: number;
  kill(): Promise<void>;
}

function startServer(port: number): Promise<Server> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', SERVER, String(port)], {
    stdio: ['pipe', 'pipe', 'inherit'],
    cwd: fileURLToPath(new URL('..', import.meta.url)),
  });
  running.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('server did not listen within 5 s')), 5000);
    child.stdout?.once('data', (chunk: Buffer) => {
      clearTimeout(timer);
      resolve({
        port: (JSON.parse(chunk.toString().split('\n')[0] as string) as { port: number }).port,
        kill: async () => {
          if (child.pid && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
          await exited;
          running.delete(child);
        },
      });
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      running.delete(child);
      reject(new Error(`server exited (${code})`));
    });
  });
}

async function restartServer(port: number): Promise<Server> {
  for (let i = 0; ; i++) {
    try {
      return await startServer(port);
    } catch (error) {
      if (i > 50) throw error;
      await sleep(20);
    }
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Client {
  open(): boolean;
  close(): Promise<void>;
}

/** Creates the clients of a kind; every attempt's time goes into `attempts`. */
function makeClients(kind: Kind, url: string, attempts: number[]): Client[] {
  const counted = class extends WS {
    constructor(address: string | URL, protocols?: string | string[]) {
      super(address, protocols);
      attempts.push(performance.now());
    }
  };
  const clients: Client[] = [];
  for (let i = 0; i < CLIENTS; i++) {
    if (kind === 'lifecycle' || kind === 'lifecycle-same-caps') {
      const feed = createManagedConnection(url, {
        // The same caps as partysocket's defaults (3 s, ×1.3, at most 10 s), with full jitter.
        ...(kind === 'lifecycle-same-caps'
          ? { reconnect: { initialDelay: 3000, factor: 1.3, maxDelay: 10_000 } }
          : {}),
        keepalive: false,
        trail: false,
        audit: (record: ManagedTrailRecord) => {
          if (!('machine' in record) && record.to === 'connecting') attempts.push(performance.now());
        },
      });
      void feed.open().catch(() => {});
      clients.push({
        open: () => feed.state === 'open',
        close: async () => {
          await feed.close();
        },
      });
    } else if (kind === 'partysocket') {
      const socket = new PartySocket(url, undefined, { WebSocket: counted });
      socket.addEventListener('error', () => {});
      clients.push({ open: () => socket.readyState === 1, close: async () => socket.close() });
    } else {
      const socket = new ReconnectingWebSocket(url, undefined, { WebSocket: counted });
      socket.addEventListener('error', () => {});
      clients.push({ open: () => socket.readyState === 1, close: async () => socket.close() });
    }
  }
  return clients;
}

async function until(predicate: () => boolean, ms: number, what: string): Promise<number> {
  const t0 = performance.now();
  while (!predicate()) {
    if (performance.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(5);
  }
  return performance.now();
}

interface Result {
  kind: Kind;
  clients: number;
  downMs: number;
  /** From the server's return until every client was open again. */
  allBackMs: number;
  /** Attempts from the kill until all were back. */
  attempts: number;
  /** The most attempts in any 100 ms window (buckets from the kill), and in which. */
  peakPer100ms: number;
  peakAtMs: number;
  /** The most attempts in any 100 ms after the server's return. */
  peakAfterReturnPer100ms: number;
  /** Attempts per 100 ms from the kill, for the docs. */
  buckets: number[];
}

async function storm(kind: Kind): Promise<Result> {
  let server = await startServer(0);
  const port = server.port;
  const attempts: number[] = [];
  const clients = makeClients(kind, `ws://127.0.0.1:${port}`, attempts);
  try {
    await until(() => clients.every((c) => c.open()), TIMEOUT_MS, `${kind}: every client open`);
    await sleep(200);
    attempts.length = 0;
    await server.kill();
    const killedAt = performance.now();
    await sleep(Math.max(DOWN_MS - (performance.now() - killedAt), 0));
    server = await restartServer(port);
    const backAt = performance.now();
    const allAt = await until(() => clients.every((c) => c.open()), TIMEOUT_MS, `${kind}: every client back`);
    const during = attempts.filter((t) => t >= killedAt && t <= allAt);
    const buckets = Array.from({ length: Math.ceil((allAt - killedAt) / 100) + 1 }, () => 0);
    for (const t of during) {
      const i = Math.floor((t - killedAt) / 100);
      buckets[i] = (buckets[i] ?? 0) + 1;
    }
    const peak = Math.max(...buckets);
    const returnBucket = Math.floor((backAt - killedAt) / 100);
    return {
      kind,
      clients: CLIENTS,
      downMs: Math.round(backAt - killedAt),
      allBackMs: Math.round(allAt - backAt),
      attempts: during.length,
      peakPer100ms: peak,
      peakAtMs: buckets.indexOf(peak) * 100,
      peakAfterReturnPer100ms: Math.max(...buckets.slice(returnBucket)),
      buckets,
    };
  } finally {
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
    await sleep(200);
    await server.kill();
  }
}

const results: Result[] = [];
for (const kind of kinds) {
  const result = await storm(kind);
  results.push(result);
  console.log(
    `${kind.padEnd(24)} all back ${String(result.allBackMs).padStart(6)} ms after the server's return (down ${result.downMs} ms); ` +
      `${result.attempts} attempts; peak ${result.peakPer100ms}/100 ms at +${result.peakAtMs} ms (after return ${result.peakAfterReturnPer100ms})`,
  );
}
mkdirSync(dirname(args.out as string), { recursive: true });
writeFileSync(
  args.out as string,
  `${JSON.stringify({ date: new Date().toISOString(), node: process.version, results }, null, 2)}\n`,
);
console.log(`results in ${args.out}`);
process.exit(0);
