/**
 * Soak: many open → send → close cycles against a local ws echo server, to show that nothing builds
 * up. Not part of CI (docs/testing.md has the last result).
 *
 *   npx tsx scripts/soak.ts [--cycles 100000] [--samples 20] [--json]
 *
 * The server runs in a child process on 127.0.0.1 (ended by its PID). Every cycle must close cleanly
 * (1000, wasClean) and within the connect deadline + worstCaseCloseMs + 1 s, or the run stops. Heap
 * is sampled after two forced collections (`--expose-gc`: the script restarts itself with it) at
 * `--samples` points after a warm-up; it passes if the samples stay within 5 MB of each other and
 * the process holds the same handles afterwards as before the first cycle. Exit 0 on pass, 1 on fail.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { worstCaseCloseMs } from '../machines/bounds.js';
import { DEFAULT_TIMEOUTS } from '../machines/types.js';
import { createConnection } from '../src/connection.js';

/** Heap may move this much between samples, in bytes. */
const HEAP_TOLERANCE = 5 * 1024 * 1024;
/** Cycles before the first heap sample (JIT, caches, the actor system pool). */
const WARMUP = 2000;
/** The longest one cycle may take: connect, then the worst close, plus slack. */
const CYCLE_DEADLINE_MS = DEFAULT_TIMEOUTS.connect + worstCaseCloseMs() + 1000;
/** The server must print its port within this. */
const SERVER_START_MS = 10_000;

const SERVER = `
import { WebSocketServer } from 'ws';
const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, backlog: 1024 });
wss.on('connection', (ws) => {
  ws.on('error', () => {});
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});
wss.on('listening', () => process.stdout.write(JSON.stringify({ port: wss.address().port }) + '\\n'));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
`;

interface Args {
  cycles: number;
  samples: number;
  json: boolean;
}

/** What a run found. */
export interface SoakResult {
  cycles: number;
  completed: number;
  runMs: number;
  cyclesPerSecond: number;
  /** heapUsed after gc, in bytes, at each sample (cycle number, bytes). */
  heap: Array<{ cycle: number; bytes: number }>;
  heapSpreadBytes: number;
  /** Handles held after the run that were not held before it (`process.getActiveResourcesInfo()`). */
  handlesLeft: string[];
  failure: string | null;
  ok: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { cycles: 100_000, samples: 20, json: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--json') args.json = true;
    else if (arg === '--cycles' || arg === '--samples') {
      const value = Number(argv[++i]);
      if (!Number.isInteger(value) || value < 1) throw new Error(`${arg} needs a positive integer`);
      if (arg === '--cycles') args.cycles = value;
      else args.samples = value;
    } else throw new Error(`unknown argument ${arg} (--cycles N, --samples N, --json)`);
  }
  return args;
}

async function startServer(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', SERVER], {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    const port = await Promise.race([
      new Promise<number>((resolve, reject) => {
        let buffered = '';
        child.stdout?.on('data', (chunk: Buffer) => {
          buffered += chunk.toString();
          const line = buffered.split('\n')[0];
          if (buffered.includes('\n') && line) resolve((JSON.parse(line) as { port: number }).port);
        });
        child.once('exit', (code) => reject(new Error(`the server exited (${code}) before listening`)));
      }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('the server did not listen in time')), SERVER_START_MS);
      }),
    ]);
    return { child, url: `ws://127.0.0.1:${port}` };
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  if (child.pid !== undefined) process.kill(child.pid, 'SIGTERM');
  const timer = setTimeout(() => child.pid !== undefined && process.kill(child.pid, 'SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
  // Our ends of its pipes.
  child.stdin?.destroy();
  child.stdout?.destroy();
}

function heapAfterGc(): number {
  const gc = globalThis.gc as (() => void) | undefined;
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed;
}

/** One cycle: open, send, close; rejects unless it closed cleanly in time. */
async function cycle(url: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const conn = createConnection(url, { trail: false });
  const run = (async () => {
    await conn.open();
    conn.send('soak');
    const info = await conn.close(1000, 'soak');
    if (info.code !== 1000 || !info.wasClean) {
      throw new Error(
        `closed with ${info.code}, wasClean ${info.wasClean}${info.error ? `, ${info.error.code}` : ''}`,
      );
    }
  })();
  try {
    await Promise.race([
      run,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`a cycle took over ${CYCLE_DEADLINE_MS} ms`)),
          CYCLE_DEADLINE_MS,
        );
      }),
    ]);
  } catch (error) {
    await conn.terminate();
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

function resources(): string[] {
  return process.getActiveResourcesInfo().sort();
}

/** Those in `after` beyond `before` (a multiset difference). */
function extra(before: string[], after: string[]): string[] {
  const left = [...before];
  return after.filter((name) => {
    const i = left.indexOf(name);
    if (i === -1) return true;
    left.splice(i, 1);
    return false;
  });
}

export async function soak(args: Args, progress: (line: string) => void): Promise<SoakResult> {
  const { child, url } = await startServer();
  const heap: SoakResult['heap'] = [];
  const every = Math.max(1, Math.floor((args.cycles - Math.min(WARMUP, args.cycles - 1)) / args.samples));
  const firstSample = Math.min(WARMUP, args.cycles - 1);
  let completed = 0;
  let failure: string | null = null;
  const before = resources();
  const started = performance.now();
  try {
    for (let i = 0; i < args.cycles; i++) {
      await cycle(url);
      completed++;
      if (completed >= firstSample && (completed - firstSample) % every === 0) {
        heap.push({ cycle: completed, bytes: heapAfterGc() });
        const mb = ((heap.at(-1)?.bytes ?? 0) / 1024 / 1024).toFixed(2);
        const rate = Math.round(completed / ((performance.now() - started) / 1000));
        progress(`${completed}/${args.cycles} cycles, heap ${mb} MB, ${rate} cycles/s`);
      }
    }
  } catch (error) {
    failure = `cycle ${completed + 1}: ${(error as Error).message}`;
  }
  const runMs = performance.now() - started;
  // Let the last sockets' close callbacks run before counting handles.
  await new Promise((resolve) => setTimeout(resolve, 100));
  const handlesLeft = extra(before, resources());
  await stopServer(child);
  const bytes = heap.map((s) => s.bytes);
  const heapSpreadBytes = bytes.length > 0 ? Math.max(...bytes) - Math.min(...bytes) : 0;
  const ok = failure === null && heapSpreadBytes <= HEAP_TOLERANCE && handlesLeft.length === 0;
  return {
    cycles: args.cycles,
    completed,
    runMs: Math.round(runMs),
    cyclesPerSecond: Math.round(completed / (runMs / 1000)),
    heap,
    heapSpreadBytes,
    handlesLeft,
    failure,
    ok,
  };
}

async function main(): Promise<void> {
  if (typeof globalThis.gc !== 'function') {
    // Restart with --expose-gc (and tsx, as this was started), passing the exit code on.
    const child = spawn(process.execPath, ['--expose-gc', ...process.execArgv, ...process.argv.slice(1)], {
      stdio: 'inherit',
    });
    const [code] = (await once(child, 'exit')) as [number | null];
    process.exitCode = code ?? 1;
    return;
  }
  const args = parseArgs(process.argv.slice(2));
  const result = await soak(args, (line) => {
    if (!args.json) process.stderr.write(`${line}\n`);
  });
  if (args.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else {
    const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(2)} MB`;
    const lines = [
      `cycles: ${result.completed}/${result.cycles} in ${(result.runMs / 1000).toFixed(1)} s (${result.cyclesPerSecond} cycles/s)`,
      `heap after gc: ${result.heap.map((s) => mb(s.bytes)).join(', ')}`,
      `heap spread: ${mb(result.heapSpreadBytes)} (limit ${mb(HEAP_TOLERANCE)})`,
      `handles left: ${result.handlesLeft.length === 0 ? 'none' : result.handlesLeft.join(', ')}`,
      `failure: ${result.failure ?? 'none'}`,
      result.ok ? 'PASS' : 'FAIL',
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  process.exitCode = result.ok ? 0 : 1;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((error) => {
    process.stderr.write(`${(error as Error).stack ?? error}\n`);
    process.exitCode = 1;
  });
}
