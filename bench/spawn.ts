import { type ChildProcess, spawn } from 'node:child_process';
import { build } from './build.js';

/** Every child still running, so an exit on any path ends them (by PID). */
const running = new Set<ChildProcess>();

export function killAll() {
  for (const child of running) killChild(child);
}

function killChild(child: ChildProcess) {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    killAll();
    process.exit(130);
  });
}
process.on('exit', killAll);

let entry: { client: string; server: string } | undefined;

/** Compiles the entry points once (see build.ts); returns how long it took, in ms. */
export function prepare(): number {
  const t0 = performance.now();
  entry = build();
  return performance.now() - t0;
}

/** A compiled entry point run by plain Node, with the flags every bench process gets. */
function nodeArgs(script: 'client' | 'server', args: readonly string[], flags: readonly string[] = []) {
  if (!entry) entry = build();
  return ['--expose-gc', ...flags, entry[script], ...args];
}

export interface Outcome {
  ok: boolean;
  /** The last stdout line, parsed, when the process succeeded. */
  result?: unknown;
  error?: string;
  wallMs: number;
}

/** Runs one client process to completion; kills it by PID past `timeoutMs`. `flags` go to Node. */
export function runClient(
  args: readonly string[],
  timeoutMs: number,
  flags: readonly string[] = [],
): Promise<Outcome> {
  const t0 = performance.now();
  const child = spawn(process.execPath, nodeArgs('client', args, flags), {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    killChild(child);
  }, timeoutMs);
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      running.delete(child);
      const wallMs = performance.now() - t0;
      const last = stdout.trim().split('\n').pop() ?? '';
      if (timedOut) return resolve({ ok: false, error: `timed out after ${timeoutMs} ms`, wallMs });
      if (code !== 0) {
        const why = stderr.trim().split('\n').slice(-6).join('\n') || `exit ${code ?? signal}`;
        return resolve({ ok: false, error: why, wallMs });
      }
      try {
        resolve({ ok: true, result: JSON.parse(last), wallMs });
      } catch {
        resolve({ ok: false, error: `unreadable output: ${last.slice(0, 200)}`, wallMs });
      }
    });
  });
}

export interface Server {
  url: string;
  pid: number;
  stop(): void;
}

/** Starts the echo server in its own process and waits for its port. */
export function startServer(timeoutMs = 15_000): Promise<Server> {
  const child = spawn(process.execPath, nodeArgs('server', []), { stdio: ['pipe', 'pipe', 'inherit'] });
  running.add(child);
  return new Promise((resolve, reject) => {
    const fail = (why: string) => {
      killChild(child);
      reject(new Error(`echo server: ${why}`));
    };
    const timer = setTimeout(() => fail(`no port within ${timeoutMs} ms`), timeoutMs);
    let buffer = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      buffer += chunk;
      const line = buffer.split('\n')[0];
      if (!buffer.includes('\n') || line === undefined) return;
      clearTimeout(timer);
      const { port } = JSON.parse(line) as { port: number };
      resolve({
        url: `ws://127.0.0.1:${port}`,
        pid: child.pid as number,
        stop: () => {
          killChild(child);
          running.delete(child);
        },
      });
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      running.delete(child);
      fail(`exited (${code})`);
    });
  });
}
