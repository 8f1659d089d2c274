import type { ClientKind } from '../kinds/types.js';
import { median } from '../stats.js';

export interface CyclesOptions {
  warmup: number;
  count: number;
}

/**
 * M2 and M3 from the same sequential cycles: connect → open → close(1000) → final close notification.
 * M3 is timed from the call to close() to that notification.
 */
export async function measureCycles(kind: ClientKind, url: string, options: CyclesOptions) {
  for (let i = 0; i < options.warmup; i++) await (await kind.connect(url)).close();
  const closeMs: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < options.count; i++) {
    const conn = await kind.connect(url);
    const c0 = performance.now();
    await conn.close();
    closeMs.push(performance.now() - c0);
  }
  const elapsed = performance.now() - t0;
  return {
    M2: { cyclesPerSec: options.count / (elapsed / 1000) },
    M3: { closeMs: median(closeMs) },
    elapsedMs: elapsed,
  };
}
