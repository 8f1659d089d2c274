import type { CyclesOptions } from './measure/cycles.js';
import type { EchoOptions } from './measure/echo.js';
import type { MachineOptions } from './measure/machine.js';
import type { MemoryOptions } from './measure/memory.js';

/** One client process measures one group; the groups and the measurements each one yields. */
export const GROUPS = {
  echo: ['M1'],
  cycles: ['M2', 'M3'],
  memory: ['M4'],
  machine: ['M6'],
} as const;
export type Group = keyof typeof GROUPS;
export type MeasureId = (typeof GROUPS)[Group][number];
export const MEASURE_IDS: readonly MeasureId[] = ['M1', 'M2', 'M3', 'M4', 'M6'];

export interface Counts {
  rounds: number;
  /** Per client process, killed by PID past this. */
  timeoutMs: number;
  echo: EchoOptions;
  cycles: CyclesOptions;
  memory: MemoryOptions;
  machine: MachineOptions;
}

export const FULL: Counts = {
  rounds: 7,
  timeoutMs: 90_000,
  echo: { warmup: 10_000, count: 50_000, window: 100, size: 64 },
  cycles: { warmup: 200, count: 2_000 },
  memory: { warmup: 200, count: 2_000, batch: 100 },
  machine: { actors: 5_000, sequences: 3_000 },
};

/** Quick mode (CI smoke test): the 5-round floor, smaller counts (ratios noisier, per-connection figures stable). */
export const QUICK: Counts = {
  rounds: 5,
  timeoutMs: 30_000,
  echo: { warmup: 3_000, count: 15_000, window: 100, size: 64 },
  cycles: { warmup: 30, count: 200 },
  memory: { warmup: 30, count: 500, batch: 100 },
  machine: { actors: 500, sequences: 300 },
};
