import { setImmediate as tick } from 'node:timers/promises';
import type { BenchConnection, ClientKind } from '../kinds/types.js';

export interface MemoryOptions {
  warmup: number;
  count: number;
  batch: number;
}

/** M4: `count` open connections held in this process, measured after full collections. */
export async function measureMemory(kind: ClientKind, url: string, options: MemoryOptions) {
  const gc = globalThis.gc;
  if (!gc) throw new Error('M4 needs --expose-gc');
  const collect = async () => {
    for (let i = 0; i < 4; i++) {
      gc();
      await tick();
    }
  };
  const noop = () => {};
  const open = async (n: number) => {
    const conns: BenchConnection[] = [];
    for (let i = 0; i < n; i += options.batch) {
      const batch = Array.from({ length: Math.min(options.batch, n - i) }, () => kind.connect(url));
      for (const conn of await Promise.all(batch)) {
        conn.onMessage(noop);
        conns.push(conn);
      }
    }
    return conns;
  };
  const closeAll = async (conns: BenchConnection[]) => {
    for (let i = 0; i < conns.length; i += options.batch) {
      await Promise.all(conns.slice(i, i + options.batch).map((conn) => conn.close()));
    }
  };

  // Warm every code path (and lazily allocated module state) before the baseline.
  await closeAll(await open(options.warmup));
  await collect();
  const before = process.memoryUsage();
  const t0 = performance.now();
  const conns = await open(options.count);
  await collect();
  const after = process.memoryUsage();
  const elapsed = performance.now() - t0;
  const perConn = (a: number, b: number) => (a - b) / conns.length;
  const result = {
    M4: {
      heapExternalBytesPerConn: perConn(after.heapUsed + after.external, before.heapUsed + before.external),
      rssBytesPerConn: perConn(after.rss, before.rss),
    },
    elapsedMs: elapsed,
  };
  await closeAll(conns);
  return result;
}
