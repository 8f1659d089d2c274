import type { BenchConnection, ClientKind } from '../kinds/types.js';
import { collectGarbage, openHeld } from './held.js';

export interface MemoryOptions {
  warmup: number;
  count: number;
  batch: number;
}

/** M4: `count` open connections held in this process, measured after full collections. */
export async function measureMemory(kind: ClientKind, url: string, options: MemoryOptions) {
  const collect = collectGarbage;
  const open = (n: number) => openHeld(kind, url, n, options.batch);
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
