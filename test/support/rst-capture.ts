/**
 * Counts TCP resets on the loopback interface with tcpdump, for one server port: the BPF filter is
 * `tcp port <n> and tcp[tcpflags] & tcp-rst != 0`, so only RST segments are ever delivered. Needs root
 * (or CAP_NET_RAW) and tcpdump (Debian package `tcpdump`). Every wait is bounded; the only process it
 * ends is the tcpdump it started, by its own handle.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

const TCPDUMP_PATHS = ['/usr/bin/tcpdump', '/usr/sbin/tcpdump'];
/** coreutils `timeout`: bounds tcpdump's life even if this process dies without stopping it. */
const TIMEOUT_PATH = '/usr/bin/timeout';

/** The tcpdump binary, or null. */
export function tcpdumpPath(): string | null {
  return TCPDUMP_PATHS.find((path) => existsSync(path)) ?? null;
}

/** Whether a capture can run here, and if not why (for a skipped test's title). */
export function captureSupport(): { ok: true; tcpdump: string } | { ok: false; reason: string } {
  const tcpdump = tcpdumpPath();
  if (!tcpdump) return { ok: false, reason: 'no tcpdump (apt-get install tcpdump)' };
  if (process.getuid?.() !== 0) return { ok: false, reason: 'not root: capturing on lo needs root' };
  return { ok: true, tcpdump };
}

/** One RST seen on the wire, classified by direction relative to the server's port. */
export interface RstSegment {
  /** `server` when the server's side sent it (e.g. its kernel answering data after a full close). */
  from: 'server' | 'client';
  line: string;
}

export interface RstCaptureResult {
  /** RST segments tcpdump printed. */
  rsts: RstSegment[];
  /** From tcpdump's own summary at exit ("N packets captured"); null if it printed none. */
  captured: number | null;
  /** "N packets dropped by kernel": a capture with drops is not to be trusted. */
  dropped: number | null;
}

export interface RstCapture {
  /** Waits `settleMs` for late segments, stops tcpdump (SIGINT, then SIGTERM after 2 s) and reports. */
  stop(settleMs?: number): Promise<RstCaptureResult>;
}

/** The BPF filter for RSTs to or from `port`. */
export function rstFilter(port: number): string {
  return `tcp port ${port} and tcp[tcpflags] & tcp-rst != 0`;
}

/**
 * Starts tcpdump on `lo` for `port` and resolves once it is listening (rejects after `readyMs`). It
 * never outlives `maxMs`, nor this process's normal or crashing exit.
 *
 * @example
 * const capture = await startRstCapture(server.port);
 * // … run closes …
 * const { rsts } = await capture.stop();
 */
export async function startRstCapture(port: number, readyMs = 5000, maxMs = 300_000): Promise<RstCapture> {
  const support = captureSupport();
  if (!support.ok) throw new Error(`cannot capture: ${support.reason}`);
  const tcpdump = [support.tcpdump, '-i', 'lo', '-n', '-l', '-p', '--immediate-mode', rstFilter(port)];
  // Under `timeout` (which passes our SIGINT on to tcpdump) so that a crash here cannot orphan it for long.
  const [command, ...args] = existsSync(TIMEOUT_PATH)
    ? [TIMEOUT_PATH, '--signal=INT', '--kill-after=2', `${Math.ceil(maxMs / 1000)}`, ...tcpdump]
    : tcpdump;
  const child: ChildProcess = spawn(command as string, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  // If this process exits without stop(), take the capture with it.
  const onExit = () => child.kill('SIGTERM');
  process.once('exit', onExit);
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<void>((resolve) => {
    const done = () => {
      process.off('exit', onExit);
      resolve();
    };
    child.once('exit', done);
    child.once('error', done);
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      reject(new Error(`tcpdump not listening after ${readyMs} ms: ${stderr.trim()}`));
    }, readyMs);
    const check = () => {
      if (/listening on lo/.test(stderr)) {
        clearTimeout(timer);
        child.stderr?.off('data', check);
        resolve();
      }
    };
    child.stderr?.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`tcpdump exited (${code}) before listening: ${stderr.trim()}`));
    });
    check();
  });
  return {
    async stop(settleMs = 200) {
      await new Promise((resolve) => setTimeout(resolve, settleMs));
      child.kill('SIGINT');
      const killer = setTimeout(() => child.kill('SIGTERM'), 2000);
      await exited;
      clearTimeout(killer);
      const rsts = stdout
        .split('\n')
        .filter((line) => line.includes('Flags [R'))
        .map((line): RstSegment => {
          // "12:00:00.000000 IP 127.0.0.1.8443 > 127.0.0.1.51234: Flags [R], …"
          const source = / IP [\d.]+\.(\d+) > /.exec(line)?.[1];
          return { from: source === String(port) ? 'server' : 'client', line };
        });
      const number = (pattern: RegExp) => {
        const match = pattern.exec(stderr);
        return match ? Number(match[1]) : null;
      };
      return {
        rsts,
        captured: number(/(\d+) packets? captured/),
        dropped: number(/(\d+) packets? dropped by kernel/),
      };
    },
  };
}
