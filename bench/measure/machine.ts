import type { MachineCost } from '../kinds/types.js';

export interface MachineOptions {
  actors: number;
  sequences: number;
}

/**
 * M6: the machine's own cost, no socket. Events per second through `transition()` (a clean life
 * from the initial snapshot), and µs to create, start and stop one connection's actor.
 */
export function measureMachine(cost: MachineCost, options: MachineOptions) {
  const warm = Math.max(1, Math.floor(options.actors / 10));
  for (let i = 0; i < warm; i++) cost.createAndStopActor();
  const a0 = performance.now();
  for (let i = 0; i < options.actors; i++) cost.createAndStopActor();
  const actorUs = ((performance.now() - a0) * 1000) / options.actors;

  let connectionUs: number | undefined;
  const connection = cost.createAndCloseConnection;
  if (connection) {
    for (let i = 0; i < warm; i++) connection();
    const c0 = performance.now();
    for (let i = 0; i < options.actors; i++) connection();
    connectionUs = ((performance.now() - c0) * 1000) / options.actors;
  }

  let eventsPerSec: number | undefined;
  let finalState: unknown;
  if (cost.lifecycle) {
    const { run, events } = cost.lifecycle;
    finalState = run();
    for (let i = 0; i < Math.max(1, options.sequences / 10); i++) run();
    const t0 = performance.now();
    for (let i = 0; i < options.sequences; i++) run();
    eventsPerSec = (options.sequences * events) / ((performance.now() - t0) / 1000);
  }
  const M6: Record<string, number> = { actorUs };
  if (eventsPerSec !== undefined) M6.eventsPerSec = eventsPerSec;
  if (connectionUs !== undefined) M6.connectionUs = connectionUs;
  return { M6, finalState };
}
