import type { ClientKind } from '../kinds/types.js';

export interface EchoOptions {
  warmup: number;
  count: number;
  window: number;
  size: number;
}

/** M1: one connection, `window` messages in flight, `count` timed round trips after `warmup`. */
export async function measureEcho(kind: ClientKind, url: string, options: EchoOptions) {
  const conn = await kind.connect(url);
  const payload = 'x'.repeat(options.size);
  let target = 0;
  let sent = 0;
  let received = 0;
  let done = () => {};
  conn.onMessage(() => {
    received++;
    if (sent < target) {
      sent++;
      conn.send(payload);
    } else if (received === target) done();
  });
  const phase = (n: number) =>
    new Promise<void>((resolve) => {
      target = n;
      sent = 0;
      received = 0;
      done = resolve;
      const first = Math.min(options.window, n);
      for (let i = 0; i < first; i++) {
        sent++;
        conn.send(payload);
      }
    });

  await phase(options.warmup);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await phase(options.count);
  const elapsed = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  await conn.close();
  return {
    M1: {
      msgsPerSec: options.count / (elapsed / 1000),
      cpuUsPerMsg: (cpu.user + cpu.system) / options.count,
    },
    elapsedMs: elapsed,
  };
}
