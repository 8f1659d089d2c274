/**
 * Starts test/managed/support/echo-server.mjs as a child process and ends it by its PID. Every process
 * started here is killed on exit too.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('./echo-server.mjs', import.meta.url));
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running)
    if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
});

export interface ServerProcess {
  pid: number;
  port: number;
  /** SIGKILL by PID; resolves once the process has exited. */
  kill(): Promise<void>;
}

/** Starts the echo server on `port` (0: any); rejects after `timeoutMs`. Retries while the port is still held. */
export async function startServerProcess(port = 0, timeoutMs = 5000): Promise<ServerProcess> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await startOnce(port, Math.max(deadline - Date.now(), 1));
    } catch (error) {
      if (Date.now() >= deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

function startOnce(port: number, timeoutMs: number): Promise<ServerProcess> {
  const child = spawn(process.execPath, [SCRIPT, String(port)], { stdio: ['pipe', 'pipe', 'pipe'] });
  running.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => running.delete(child));
  return new Promise<ServerProcess>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      kill();
      reject(new Error(`the echo server did not listen within ${timeoutMs} ms`));
    }, timeoutMs);
    const kill = () => {
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null)
        process.kill(child.pid, 'SIGKILL');
    };
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n')[0];
      if (!out.includes('\n') || line === undefined) return;
      clearTimeout(timer);
      resolve({
        pid: child.pid as number,
        port: (JSON.parse(line) as { port: number }).port,
        kill: async () => {
          kill();
          await exited;
        },
      });
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the echo server exited (${code}) before listening`));
    });
  });
}
