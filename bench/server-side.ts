/**
 * Server-side benchmarks, beside plain ws measured the same way in the same run (docs/server.md):
 *
 * - M7 memory: heap + external per held connection on the server, N connections, for a plain ws
 *   server-side socket (with a message listener), an adopted one with the defaults (trail, keepalive),
 *   and an adopted one with `trail: false, keepalive: false`. Target: adopted ≤ 1.5× ws.
 * - M8 shutdown: N connections, 80 % clean (ws clients), 10 % silent (they complete the upgrade and
 *   never read nor answer), 10 % not reading (their receive window is filled first, so the Close is
 *   stuck): `shutdown()` against a hand-written ws loop (`close()` on each client, then wait for the
 *   server's 'close'), each timed from the call to the server closed. Target: shutdown within
 *   write + read + 1 s. The clients count what they saw; the counts must equal the report.
 *
 * Server and clients run in separate processes (2 cores; each holds N sockets, under `ulimit -n`).
 * As root, both run in a network namespace of their own (created and deleted here) whose TCP buffers
 * are capped at 64 KiB, so that filling 10 % of 10 000 windows costs ~130 MB of kernel memory instead
 * of ~4 GB on the host's loopback (global TCP memory every other process shares). Without root the
 * not-reading share is capped at 100 connections (said in the output).
 *
 *   npx tsx bench/server-side.ts            # N = 10 000, deadlines 5000/5000 ms, M7 in 2 rounds
 *   npx tsx bench/server-side.ts --quick    # N = 1 000, deadlines 1000/1000 ms, 1 round
 *   npx tsx bench/server-side.ts --write-docs   # also rewrite the results section of docs/server.md
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import { cpus } from 'node:os';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import WebSocket, { WebSocketServer } from 'ws';
import type { Connection } from '../src/connection.js';
import { adopt } from '../src/server/adopt.js';
import { shutdown } from '../src/server/shutdown.js';

const SELF = fileURLToPath(import.meta.url);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const REASON = 'server shutting down';

type MemoryKind = 'ws' | 'adopted' | 'adopted-lean';
type ShutdownKind = 'shutdown' | 'ws-loop';

// ------------------------------------------------------------------------------------------------
// Server process: `--role server --measure memory|shutdown --kind … --n … [--write --read]`.

async function serverRole(values: Record<string, string | boolean | undefined>): Promise<void> {
  const kind = String(values.kind);
  const n = Number(values.n);
  const warmup = Number(values.warmup);
  const write = Number(values.write);
  const read = Number(values.read);
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, backlog: 4096, perMessageDeflate: false });
  await once(wss, 'listening');
  const conns: Connection[] = [];
  const stuck: Array<{ ws: WebSocket; conn: Connection | null }> = [];
  let open = 0;
  let warmClosed = 0;
  let base = -1;
  const noop = () => {};
  wss.on('connection', (ws: WebSocket, request: IncomingMessage) => {
    const warm = request.url === '/warm';
    ws.on('close', () => {
      if (warm && ++warmClosed === warmup) void measureBase();
    });
    if (warm) return;
    open++;
    let conn: Connection | null = null;
    if (kind === 'ws' || kind === 'ws-loop') ws.on('message', noop);
    else {
      conn =
        kind === 'adopted-lean'
          ? adopt(ws, { trail: false, keepalive: false })
          : kind === 'shutdown'
            ? adopt(ws, { trail: false, keepalive: false, timeouts: { write, read } })
            : adopt(ws);
      conn.on('message', noop);
      conns.push(conn);
    }
    if (request.url === '/stuck') stuck.push({ ws, conn });
    if (open === n) void (values.measure === 'memory' ? measureMemory() : measureShutdown());
  });
  async function measureBase() {
    await collectGarbage();
    base = heap();
    say({ base });
  }
  async function measureMemory() {
    await waitUntil(() => base >= 0);
    await sleep(300);
    await collectGarbage();
    const after = heap();
    say({ perConnection: (after - base) / n, heapPlusExternal: after, base });
  }
  async function measureShutdown() {
    // The not-reading clients paused right after the upgrade; fill their windows so our Close sticks.
    for (const { ws, conn } of stuck) await fillUntilStuck(ws, conn);
    await sleep(200);
    const t0 = performance.now();
    if (kind === 'shutdown') {
      const report = await shutdown(wss, { timeouts: { write, read } });
      say({ wallMs: performance.now() - t0, report });
      return;
    }
    // The hand-written ws loop: close() on each client, then wait for the server to close.
    const counts = { total: 0, clean: 0, unclean: 0, byCode: {} as Record<number, number> };
    const ended: Array<Promise<void>> = [];
    for (const ws of wss.clients) {
      counts.total++;
      ended.push(
        new Promise((resolve) =>
          ws.addEventListener(
            'close',
            (e) => {
              if (e.wasClean) counts.clean++;
              else counts.unclean++;
              counts.byCode[e.code] = (counts.byCode[e.code] ?? 0) + 1;
              resolve();
            },
            { once: true },
          ),
        ),
      );
      ws.close(1001, REASON);
    }
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    await Promise.all(ended);
    say({
      wallMs: performance.now() - t0,
      report: { ...counts, terminated: 0, durationMs: performance.now() - t0 },
    });
  }
  const address = wss.address() as { port: number };
  say({ port: address.port });
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
}

function heap(): number {
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.external;
}

async function collectGarbage(): Promise<void> {
  const gc = globalThis.gc;
  if (!gc) throw new Error('needs --expose-gc');
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Sends until ws holds bytes it cannot write (the kernel's buffers are full): 64 MiB at most. */
async function fillUntilStuck(ws: WebSocket, conn: Connection | null): Promise<void> {
  const chunk = new Uint8Array(16 * 1024);
  for (let sent = 0; sent < 64 * 1024 * 1024; sent += chunk.length) {
    if (conn) conn.send(chunk);
    else ws.send(chunk);
    if (ws.bufferedAmount > 0) {
      await sleep(20);
      if (ws.bufferedAmount > 0) return;
    }
  }
  throw new Error('a not-reading client never backed up');
}

// ------------------------------------------------------------------------------------------------
// Clients process: `--role clients --url … --warmup w --clean c --silent s --stuck k`.

async function clientsRole(values: Record<string, string | boolean | undefined>): Promise<void> {
  const url = String(values.url);
  const warmup = Number(values.warmup);
  const counts = { clean: Number(values.clean), silent: Number(values.silent), stuck: Number(values.stuck) };
  const BATCH = 200;
  // Warm-up: open and close, so the server measures its baseline with its code paths warm.
  await inBatches(warmup, BATCH, async () => {
    const ws = await openWs(`${url}/warm`);
    ws.close(1000);
    await once(ws, 'close');
  });
  const seen = { clean: 0, unclean: 0, byCode: {} as Record<number, number>, rawGotClose: 0 };
  const raws: Socket[] = [];
  const kinds: Array<'clean' | 'silent' | 'stuck'> = [];
  for (let i = 0; i < counts.clean + counts.silent + counts.stuck; i++) {
    // Interleaved, as a real crowd: 8 clean, 1 silent, 1 stuck in every 10.
    const slot = i % 10;
    if (slot === 8 && kinds.filter((k) => k === 'silent').length < counts.silent) kinds.push('silent');
    else if (slot === 9 && kinds.filter((k) => k === 'stuck').length < counts.stuck) kinds.push('stuck');
    else kinds.push('clean');
  }
  let index = 0;
  await inBatches(kinds.length, BATCH, async () => {
    const kind = kinds[index++] as 'clean' | 'silent' | 'stuck';
    if (kind === 'clean') {
      const ws = await openWs(`${url}/clean`);
      ws.addEventListener('close', (e) => {
        if (e.wasClean) seen.clean++;
        else seen.unclean++;
        seen.byCode[e.code] = (seen.byCode[e.code] ?? 0) + 1;
      });
    } else {
      raws.push(await openRaw(url, `/${kind}`));
    }
  });
  say({ opened: kinds.length });
  for await (const line of createInterface({ input: process.stdin })) {
    if (line === 'report') {
      await sleep(500);
      say({ seen: { ...seen, raw: raws.length } });
    }
  }
  process.exit(0);
}

async function inBatches(n: number, batch: number, one: () => Promise<void>): Promise<void> {
  for (let i = 0; i < n; i += batch) {
    await Promise.all(Array.from({ length: Math.min(batch, n - i) }, one));
  }
}

function openWs(url: string): Promise<WebSocket> {
  const ws = new WebSocket(url, { perMessageDeflate: false });
  ws.on('error', () => {});
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('close', () => reject(new Error(`could not open ${url}`)));
  });
}

/** A raw client: completes the upgrade, then never reads again (nor answers, nor ends TCP). */
function openRaw(url: string, path: string): Promise<Socket> {
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: Number(port), allowHalfOpen: true });
    socket.on('error', () => {});
    socket.once('connect', () =>
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
      ),
    );
    socket.once('data', (chunk: Buffer) => {
      socket.pause();
      if (chunk.toString('latin1').startsWith('HTTP/1.1 101')) resolve(socket);
      else reject(new Error('no 101'));
    });
    socket.once('close', () => reject(new Error('closed before the upgrade')));
  });
}

// ------------------------------------------------------------------------------------------------
// The harness.

interface Child {
  child: ChildProcess;
  next(match: (value: Record<string, unknown>) => boolean, ms: number): Promise<Record<string, unknown>>;
  send(line: string): void;
  stop(): void;
}

const children = new Set<ChildProcess>();
let namespace: string | null = null;

function cleanup(): void {
  for (const child of children) {
    if (child.pid !== undefined && child.exitCode === null) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {}
    }
  }
  children.clear();
  if (namespace) {
    try {
      execFileSync('ip', ['netns', 'delete', namespace], { stdio: 'ignore' });
    } catch {}
    namespace = null;
  }
}

function setUpNamespace(): string | null {
  if (process.getuid?.() !== 0) return null;
  const name = `wslsrv-${process.pid}`;
  try {
    execFileSync('ip', ['netns', 'add', name], { stdio: 'ignore' });
    namespace = name;
    execFileSync('ip', ['netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up'], { stdio: 'ignore' });
    execFileSync(
      'ip',
      [
        'netns',
        'exec',
        name,
        'sysctl',
        '-q',
        '-w',
        'net.ipv4.tcp_wmem=4096 16384 65536',
        'net.ipv4.tcp_rmem=4096 65536 65536',
      ],
      { stdio: 'ignore' },
    );
    return name;
  } catch {
    cleanup();
    return null;
  }
}

function start(args: string[], flags: string[] = []): Child {
  const node = [process.execPath, ...flags, ...process.execArgv, SELF, ...args];
  const [command, ...rest] = namespace ? ['ip', 'netns', 'exec', namespace, ...node] : node;
  const child = spawn(command as string, rest, { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
  children.add(child);
  const lines: Array<Record<string, unknown>> = [];
  const waiters = new Set<() => void>();
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
    try {
      lines.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      return;
    }
    for (const wake of waiters) wake();
  });
  return {
    child,
    next(match, ms) {
      return new Promise((resolve, reject) => {
        const look = () => {
          const index = lines.findIndex(match);
          if (index === -1) return false;
          clearTimeout(timer);
          waiters.delete(wake);
          resolve(lines.splice(index, 1)[0] as Record<string, unknown>);
          return true;
        };
        const wake = () => void look();
        const timer = setTimeout(() => {
          waiters.delete(wake);
          reject(new Error(`no answer within ${ms} ms from ${args.join(' ')}`));
        }, ms);
        waiters.add(wake);
        child.once('exit', () => {
          if (!look()) reject(new Error(`${args.join(' ')} exited`));
        });
        look();
      });
    },
    send(line) {
      child.stdin?.write(`${line}\n`);
    },
    stop() {
      child.stdin?.end();
      if (child.pid !== undefined) {
        try {
          process.kill(child.pid, 'SIGKILL');
        } catch {}
      }
      children.delete(child);
    },
  };
}

interface Plan {
  n: number;
  warmup: number;
  rounds: number;
  write: number;
  read: number;
  stuckCap: number;
}

async function runMemory(kind: MemoryKind, plan: Plan): Promise<number> {
  const server = start(
    [
      '--role',
      'server',
      '--measure',
      'memory',
      '--kind',
      kind,
      '--n',
      String(plan.n),
      '--warmup',
      String(plan.warmup),
    ],
    ['--expose-gc'],
  );
  try {
    const { port } = await server.next((v) => 'port' in v, 15_000);
    const clients = start([
      '--role',
      'clients',
      '--url',
      `ws://127.0.0.1:${port}`,
      '--warmup',
      String(plan.warmup),
      '--clean',
      String(plan.n),
      '--silent',
      '0',
      '--stuck',
      '0',
    ]);
    try {
      const result = await server.next((v) => 'perConnection' in v, 180_000);
      return result.perConnection as number;
    } finally {
      clients.stop();
    }
  } finally {
    server.stop();
  }
}

interface ShutdownResult {
  wallMs: number;
  report: {
    total: number;
    clean: number;
    unclean: number;
    terminated: number;
    durationMs: number;
    byCode: Record<string, number>;
  };
  seen: { clean: number; unclean: number; byCode: Record<string, number>; raw: number };
}

async function runShutdown(kind: ShutdownKind, plan: Plan): Promise<ShutdownResult> {
  const silent = Math.round(plan.n / 10);
  const stuck = Math.min(silent, plan.stuckCap);
  const clean = plan.n - silent - stuck;
  const server = start(
    [
      '--role',
      'server',
      '--measure',
      'shutdown',
      '--kind',
      kind,
      '--n',
      String(plan.n),
      '--warmup',
      '0',
      '--write',
      String(plan.write),
      '--read',
      String(plan.read),
    ],
    ['--expose-gc'],
  );
  try {
    const { port } = await server.next((v) => 'port' in v, 15_000);
    const clients = start([
      '--role',
      'clients',
      '--url',
      `ws://127.0.0.1:${port}`,
      '--warmup',
      '0',
      '--clean',
      String(clean),
      '--silent',
      String(silent),
      '--stuck',
      String(stuck),
    ]);
    try {
      const result = await server.next((v) => 'report' in v, 180_000);
      clients.send('report');
      const { seen } = await clients.next((v) => 'seen' in v, 15_000);
      return { ...(result as unknown as Omit<ShutdownResult, 'seen'>), seen: seen as ShutdownResult['seen'] };
    } finally {
      clients.stop();
    }
  } finally {
    server.stop();
  }
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

async function harness(values: Record<string, string | boolean | undefined>): Promise<void> {
  const quick = values.quick === true;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      cleanup();
      process.exit(130);
    });
  }
  process.on('exit', cleanup);
  const ns = setUpNamespace();
  const plan: Plan = quick
    ? { n: 1000, warmup: 100, rounds: 1, write: 1000, read: 1000, stuckCap: ns ? 1000 : 100 }
    : { n: 10_000, warmup: 200, rounds: 2, write: 5000, read: 5000, stuckCap: ns ? 10_000 : 100 };
  const started = new Date();
  const load = (await import('node:os')).loadavg()[0] ?? 0;
  console.log(
    `server-side bench: ${quick ? 'quick' : 'full'}, N = ${plan.n}, ${cpus().length} CPUs, Node ${process.version}, ` +
      `${ns ? `network namespace ${ns} (TCP buffers ≤ 64 KiB)` : 'host loopback (not root: not-reading clients capped at 100)'}, load ${load.toFixed(1)}`,
  );

  // M7: rounds interleaved, kinds rotated.
  const kinds: MemoryKind[] = ['ws', 'adopted', 'adopted-lean'];
  const memory: Record<MemoryKind, number[]> = { ws: [], adopted: [], 'adopted-lean': [] };
  for (let round = 0; round < plan.rounds; round++) {
    for (let i = 0; i < kinds.length; i++) {
      const kind = kinds[(i + round) % kinds.length] as MemoryKind;
      const bytes = await runMemory(kind, plan);
      memory[kind].push(bytes);
      console.log(`  M7 round ${round + 1} ${kind}: ${(bytes / 1024).toFixed(2)} KB per connection`);
    }
  }
  const ratios = (kind: MemoryKind) => memory[kind].map((bytes, i) => bytes / (memory.ws[i] as number));

  // M8: each once, ours first.
  const m8: Record<ShutdownKind, ShutdownResult> = {
    shutdown: await runShutdown('shutdown', plan),
    'ws-loop': await runShutdown('ws-loop', plan),
  };
  for (const kind of ['shutdown', 'ws-loop'] as const) {
    const r = m8[kind];
    console.log(
      `  M8 ${kind}: ${Math.round(r.wallMs)} ms, report ${JSON.stringify(r.report)}, clients saw ${JSON.stringify(r.seen)}`,
    );
  }
  const target = plan.write + plan.read + 1000;
  const ours = m8.shutdown;
  const honest =
    ours.report.clean === ours.seen.clean &&
    ours.report.total === ours.seen.clean + ours.seen.unclean + ours.seen.raw &&
    ours.report.terminated === ours.seen.raw;

  const kb = (bytes: number) => `${(bytes / 1024).toFixed(2)} KB`;
  const ratioText = (kind: MemoryKind) => {
    const r = ratios(kind);
    return `${median(r).toFixed(2)} [${Math.min(...r).toFixed(2)}–${Math.max(...r).toFixed(2)}] × ws`;
  };
  const silent = Math.round(plan.n / 10);
  const stuck = Math.min(silent, plan.stuckCap);
  const table = [
    `${started.toISOString().slice(0, 16).replace('T', ' ')} UTC, Node ${process.version}, ${cpus().length} CPUs, ${quick ? 'quick' : 'full'} mode, N = ${plan.n}; server and clients in separate processes${ns ? ', in a network namespace with TCP buffers capped at 64 KiB' : ' on the host loopback'}; 1-minute load average ${load.toFixed(1)} at the start.`,
    '',
    '| measure | kind | median | ratio, median [min–max] |',
    '|---|---|--:|---|',
    `| M7 heap+external / conn (${plan.rounds} round${plan.rounds === 1 ? '' : 's'}) | ws | ${kb(median(memory.ws))} | 1.00 × ws |`,
    `|  | adopted (defaults: trail, keepalive) | ${kb(median(memory.adopted))} | ${ratioText('adopted')} |`,
    `|  | adopted (trail: false, keepalive: false) | ${kb(median(memory['adopted-lean']))} | ${ratioText('adopted-lean')} |`,
    `| M8 shutdown, ${plan.n - silent - stuck} clean + ${silent} silent + ${stuck} not reading | shutdown (write ${plan.write}, read ${plan.read}) | ${Math.round(ours.wallMs)} ms | target ≤ ${target} ms: ${ours.wallMs <= target ? 'met' : 'NOT met'} |`,
    `|  | hand-written ws loop (close() on each, then wait) | ${Math.round(m8['ws-loop'].wallMs)} ms | ${(m8['ws-loop'].wallMs / ours.wallMs).toFixed(1)} × shutdown |`,
    '',
    `shutdown's report: ${JSON.stringify(ours.report)}; the clients saw ${ours.seen.clean} clean 1001 closes (${JSON.stringify(ours.seen.byCode)}) and held ${ours.seen.raw} raw sockets: counts ${honest ? 'equal' : 'DIFFER'}.`,
    `ws loop: ${JSON.stringify(m8['ws-loop'].report)}.`,
  ].join('\n');
  console.log(`\n${table}`);
  mkdirSync(`${ROOT}/bench/results`, { recursive: true });
  writeFileSync(
    `${ROOT}/bench/results/server-side.json`,
    `${JSON.stringify({ started, quick, plan, namespace: ns, memory, m8, honest }, null, 2)}\n`,
  );
  if (values['write-docs']) writeDocs(table);
  cleanup();
  process.exitCode = ours.wallMs <= target && honest ? 0 : 1;
}

const BEGIN = '<!-- bench:server-side:begin (generated by `npx tsx bench/server-side.ts --write-docs`) -->';
const END = '<!-- bench:server-side:end -->';

function writeDocs(table: string): void {
  const path = `${ROOT}/docs/server.md`;
  const text = readFileSync(path, 'utf8');
  const start = text.indexOf(BEGIN);
  const end = text.indexOf(END);
  if (start === -1 || end === -1) throw new Error(`docs/server.md has no ${BEGIN} … ${END} section`);
  writeFileSync(path, `${text.slice(0, start + BEGIN.length)}\n${table}\n${text.slice(end)}`);
}

// ------------------------------------------------------------------------------------------------

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitUntil(predicate: () => boolean): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(10);
  }
}

function say(value: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

const { values } = parseArgs({
  options: {
    role: { type: 'string' },
    measure: { type: 'string' },
    kind: { type: 'string' },
    n: { type: 'string' },
    warmup: { type: 'string' },
    write: { type: 'string' },
    read: { type: 'string' },
    url: { type: 'string' },
    clean: { type: 'string' },
    silent: { type: 'string' },
    stuck: { type: 'string' },
    quick: { type: 'boolean' },
    'write-docs': { type: 'boolean' },
  },
  strict: true,
});
if (values.role === 'server') await serverRole(values);
else if (values.role === 'clients') await clientsRole(values);
else await harness(values);
