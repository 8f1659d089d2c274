import { parseArgs } from 'node:util';
import type { Counts, Group } from './config.js';
import { isKindName, loadKind, loadMachineCost } from './kinds/index.js';
import type { ClientKind } from './kinds/types.js';
import { measureCycles } from './measure/cycles.js';
import { measureEcho } from './measure/echo.js';
import { heapDiff } from './measure/heap-diff.js';
import { measureMachine } from './measure/machine.js';
import { measureMemory } from './measure/memory.js';

/**
 * One measurement in one fresh process: `--group <echo|cycles|memory|machine|probe|heap> --kind <name>
 * --url <ws://...> --counts <json>`. Prints one JSON line; the harness parses the last line.
 * `readyMs` (process start to the moment the measurement begins) is start-up cost, kept out of the figures.
 */
const { values } = parseArgs({
  options: {
    group: { type: 'string' },
    kind: { type: 'string' },
    url: { type: 'string', default: '' },
    counts: { type: 'string' },
  },
});
const kindName = values.kind ?? '';
if (!isKindName(kindName)) throw new Error(`unknown kind ${kindName}`);
const counts = JSON.parse(values.counts ?? '{}') as Counts;
setTimeout(() => {
  console.error(`client ${values.group}/${kindName} overran its own timeout`);
  process.exit(3);
}, counts.timeoutMs).unref();

async function run(group: Group | 'probe' | 'heap') {
  switch (group) {
    case 'probe':
      return probe();
    case 'heap':
      return heapDiff(await loadKind(kindName as never), values.url, { count: counts.memory.count, top: 40 });
    case 'machine': {
      const cost = await loadMachineCost(kindName as never);
      if (!cost) throw new Error(`${kindName} has no machine`);
      const readyMs = performance.now();
      return { readyMs, ...measureMachine(cost, counts.machine) };
    }
    default: {
      const kind = await loadKind(kindName as never);
      const readyMs = performance.now();
      if (group === 'echo') return { readyMs, ...(await measureEcho(kind, values.url, counts.echo)) };
      if (group === 'cycles') return { readyMs, ...(await measureCycles(kind, values.url, counts.cycles)) };
      if (group === 'memory') return { readyMs, ...(await measureMemory(kind, values.url, counts.memory)) };
      throw new Error(`unknown group ${group}`);
    }
  }
}

/** Can this kind load, echo once and close? Can its machine load? Errors are reported, not thrown. */
async function probe() {
  const reason = (error: unknown) =>
    (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
  let adapter = 'ok';
  try {
    await echoOnce(await loadKind(kindName as never));
  } catch (error) {
    adapter = reason(error);
  }
  let machine = 'ok';
  try {
    const cost = await loadMachineCost(kindName as never);
    if (!cost) machine = 'none';
    else measureMachine(cost, { actors: 1, sequences: 1 });
  } catch (error) {
    machine = reason(error);
  }
  return { adapter, machine };
}

async function echoOnce(kind: ClientKind) {
  const conn = await kind.connect(values.url);
  await new Promise<void>((resolve) => {
    conn.onMessage(() => resolve());
    conn.send('probe');
  });
  await conn.close();
}

const result = await run(values.group as Group | 'probe' | 'heap');
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
