/**
 * Intervals started while watching, and which are still running: exact where the process handle count
 * (`liveHandles()` in ../helpers.ts) is not (Node's `getActiveResourcesInfo()` did not show an interval
 * left running). Spies on the global `setInterval`/`clearInterval`, which the ws actor calls.
 */
import { vi } from 'vitest';

export interface IntervalWatch {
  /** Every interval started since the watch began. */
  started(): NodeJS.Timeout[];
  /** Those not cleared since. */
  running(): NodeJS.Timeout[];
  /** Ends the watch: the globals are restored and what was seen is forgotten. */
  restore(): void;
}

export function watchIntervals(): IntervalWatch {
  const set = vi.spyOn(globalThis, 'setInterval');
  const clear = vi.spyOn(globalThis, 'clearInterval');
  const started = () => set.mock.results.map((result) => result.value as NodeJS.Timeout);
  return {
    started,
    running: () => {
      const cleared = new Set(clear.mock.calls.map(([handle]) => handle));
      return started().filter((handle) => !cleared.has(handle));
    },
    restore: () => {
      set.mockRestore();
      clear.mockRestore();
    },
  };
}
