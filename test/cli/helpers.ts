/**
 * Helpers for the CLI tests: make sure the built CLI is fresh, spawn it (or `npm start`) as a child
 * process with a hard timeout, and kill every child by PID when a test ends.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CLI = join(ROOT, 'dist/src/cli/main.js');

function newestMtime(path: string): number {
  let stat: ReturnType<typeof statSync>;
  try {
    stat = statSync(path);
  } catch {
    return 0;
  }
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = 0;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

function isStale(): boolean {
  let built: number;
  try {
    built = statSync(CLI).mtimeMs;
  } catch {
    return true;
  }
  const sources = ['src', 'machines', 'scripts', 'tsconfig.json', 'tsconfig.build.json'].map((p) =>
    join(ROOT, p),
  );
  return Math.max(...sources.map(newestMtime)) > built;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Builds dist/ with `tsc -p tsconfig.build.json` when a source is newer than the built CLI. One test
 * file builds at a time (a lock directory); tsc overwrites in place, so dist/ never disappears under a
 * running test. Type errors elsewhere do not stop the emit: only a missing CLI fails.
 */
export async function ensureBuilt(): Promise<void> {
  if (!isStale()) return;
  const lock = join(
    tmpdir(),
    `ws-lifecycle-build-${createHash('sha1').update(ROOT).digest('hex').slice(0, 12)}`,
  );
  const deadline = Date.now() + 90_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`build lock ${lock} held for over 90 s`);
      try {
        if (Date.now() - statSync(lock).mtimeMs > 120_000) rmSync(lock, { recursive: true, force: true });
      } catch {}
      await sleep(100);
    }
  }
  try {
    if (!isStale()) return;
    await new Promise<void>((resolve) => {
      execFile(
        join(ROOT, 'node_modules/.bin/tsc'),
        ['-p', 'tsconfig.build.json'],
        { cwd: ROOT, timeout: 90_000 },
        () => resolve(),
      );
    });
    statSync(CLI);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

export interface Run {
  readonly child: ChildProcess;
  readonly stdout: string;
  readonly stderr: string;
  /** Resolves with the exit status (`null` and a signal if killed). */
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves once `pattern` appears on the stream; rejects after `ms` with what was seen. */
  waitFor(stream: 'stdout' | 'stderr', pattern: RegExp | string, ms?: number): Promise<void>;
  write(text: string): void;
  end(text?: string): void;
}

const running = new Set<ChildProcess>();

/** Kills every child still running (its whole process group), by PID. Call in afterEach. */
export function killAll(): void {
  for (const child of running) {
    if (child.pid !== undefined) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {}
    }
  }
  running.clear();
}

export interface SpawnOptions {
  /** Written to stdin, which is then ended. Leave undefined to keep stdin open. */
  input?: string;
  env?: Record<string, string | undefined>;
  /** Hard limit: the child's process group is killed after it. @default 10000 */
  timeoutMs?: number;
}

/** Runs the built CLI: `node dist/src/cli/main.js ...args`. */
export function cli(args: string[], options: SpawnOptions = {}): Run {
  return run(process.execPath, [CLI, ...args], options);
}

/** Runs any command in the repository root, in its own process group. */
export function run(command: string, args: string[], options: SpawnOptions = {}): Run {
  const env: Record<string, string | undefined> = {
    ...process.env,
    NO_COLOR: undefined,
    FORCE_COLOR: undefined,
  };
  Object.assign(env, options.env);
  const child = spawn(command, args, { cwd: ROOT, env, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
  running.add(child);
  const out = { stdout: '', stderr: '' };
  let closed = false;
  const watchers = new Set<() => void>();
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    out.stdout += chunk;
    for (const watch of watchers) watch();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    out.stderr += chunk;
    for (const watch of watchers) watch();
  });
  child.stdin.on('error', () => {}); // EPIPE once the child has exited.
  const timer = setTimeout(() => {
    if (child.pid !== undefined) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {}
    }
  }, options.timeoutMs ?? 10_000);
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('close', (code, signal) => {
      closed = true;
      clearTimeout(timer);
      running.delete(child);
      for (const watch of watchers) watch();
      resolve({ code, signal });
    });
  });
  if (options.input !== undefined) child.stdin.end(options.input);
  return {
    child,
    get stdout() {
      return out.stdout;
    },
    get stderr() {
      return out.stderr;
    },
    exit,
    waitFor(stream, pattern, ms = 5000) {
      const found = () =>
        typeof pattern === 'string' ? out[stream].includes(pattern) : pattern.test(out[stream]);
      if (found()) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const stop = () => {
          clearTimeout(limit);
          watchers.delete(watch);
        };
        const watch = () => {
          if (found()) {
            stop();
            resolve();
          } else if (closed) {
            stop();
            reject(new Error(`exited before ${stream} showed ${pattern}:\n${out.stdout}\n${out.stderr}`));
          }
        };
        const limit = setTimeout(() => {
          stop();
          reject(
            new Error(`${stream} did not show ${pattern} within ${ms} ms:\n${out.stdout}\n${out.stderr}`),
          );
        }, ms);
        watchers.add(watch);
      });
    },
    write(text) {
      child.stdin.write(text);
    },
    end(text) {
      child.stdin.end(text);
    },
  };
}

/** The state changes printed on stderr, as `from → to` pairs (the initial record as `→ idle`). */
export function transitions(stderr: string): string[] {
  const moves: string[] = [];
  for (const line of stderr.split('\n')) {
    const match = /^\+\d+ms (?:(\S+) → )?(\S+) \(/.exec(line);
    if (match) moves.push(`${match[1] ?? ''} → ${match[2]}`.trim());
  }
  return moves;
}
