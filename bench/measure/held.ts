import { setImmediate as tick } from 'node:timers/promises';
import type { BenchConnection, ClientKind } from '../kinds/types.js';

/** Full collections, a tick apart so finalizers and weak callbacks run. Needs --expose-gc. */
export async function collectGarbage(): Promise<void> {
  const gc = globalThis.gc;
  if (!gc) throw new Error('needs --expose-gc');
  for (let i = 0; i < 4; i++) {
    gc();
    await tick();
  }
}

const noop = () => {};

/** Opens `n` connections, `batch` at a time, each with a message listener, and holds them. */
export async function openHeld(
  kind: ClientKind,
  url: string,
  n: number,
  batch: number,
): Promise<BenchConnection[]> {
  const conns: BenchConnection[] = [];
  for (let i = 0; i < n; i += batch) {
    const opening = Array.from({ length: Math.min(batch, n - i) }, () => kind.connect(url));
    for (const conn of await Promise.all(opening)) {
      conn.onMessage(noop);
      conns.push(conn);
    }
  }
  return conns;
}
