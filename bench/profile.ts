import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { parseArgs } from 'node:util';
import { FULL } from './config.js';
import { isKindName } from './kinds/index.js';
import { prepare, runClient, startServer } from './spawn.js';

const usage = `tsx bench/profile.ts --kind <ws|ws+actor|lifecycle> [--cpu <echo|cycles|memory|machine>] [--heap]
  --cpu <group>   run that measurement under node --cpu-prof; print self time by origin and by function
  --heap          heap snapshots around --count open connections; print what one connection holds
  --count <n>     connections for --heap (default 2000)
  --top <n>       rows to print (default 25)
  --keep          keep the .cpuprofile (for DevTools) and print its path`;

const { values } = parseArgs({
  options: {
    kind: { type: 'string', default: 'lifecycle' },
    cpu: { type: 'string' },
    heap: { type: 'boolean', default: false },
    count: { type: 'string', default: '2000' },
    top: { type: 'string', default: '25' },
    keep: { type: 'boolean', default: false },
  },
});
if (!isKindName(values.kind) || (!values.cpu && !values.heap)) {
  console.error(usage);
  process.exit(2);
}
const top = Number(values.top);
prepare();
const server = await startServer();
try {
  if (values.cpu) await cpu(values.cpu);
  if (values.heap) await heap();
} finally {
  server.stop();
}

function clientArgs(group: string, counts: object) {
  return [
    '--group',
    group,
    '--kind',
    values.kind as string,
    '--url',
    server.url,
    '--counts',
    JSON.stringify(counts),
  ];
}

async function heap() {
  const counts = { ...FULL, timeoutMs: 120_000, memory: { ...FULL.memory, count: Number(values.count) } };
  const outcome = await runClient(clientArgs('heap', counts), 150_000);
  if (!outcome.ok) throw new Error(outcome.error);
  const { bytesPerConn, rows } = outcome.result as {
    bytesPerConn: number;
    rows: Array<{ key: string; bytes: number; objects: number }>;
  };
  console.log(
    `${values.kind}: ${bytesPerConn.toFixed(0)} B of V8 heap per open connection (self sizes of new nodes)`,
  );
  for (const row of rows.slice(0, top)) {
    console.log(
      `${row.bytes.toFixed(0).padStart(7)} B  ${row.objects.toFixed(2).padStart(6)} objects  ${row.key}`,
    );
  }
}

async function cpu(group: string) {
  const dir = mkdtempSync(`${tmpdir()}/bench-cpu-`);
  const counts = { ...FULL, timeoutMs: 120_000 };
  const outcome = await runClient(clientArgs(group, counts), 150_000, [
    '--cpu-prof',
    `--cpu-prof-dir=${dir}`,
  ]);
  if (!outcome.ok) throw new Error(outcome.error);
  const file = `${dir}/${readdirSync(dir)[0]}`;
  console.log(summarize(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile));
  if (values.keep) console.log(`profile: ${file}`);
  else rmSync(dir, { recursive: true });
}

interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number } }>;
  samples: number[];
  timeDeltas: number[];
}

/** Self time by origin (our src/ and machines/ files, xstate, ws, Node, GC) and by function. */
function summarize(profile: CpuProfile) {
  const byId = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
  const byFunction = new Map<string, number>();
  const byOrigin = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const frame = byId.get(id);
    const delta = profile.timeDeltas[i] ?? 0;
    if (!frame) return;
    const name = frame.functionName || '(anonymous)';
    const where = frame.url.replace(/^.*\/(node_modules|bench\/results\/build)\//, '');
    const key = where ? `${name} ${where}:${frame.lineNumber + 1}` : name;
    byFunction.set(key, (byFunction.get(key) ?? 0) + delta);
    const origin = originOf(frame.url, name);
    byOrigin.set(origin, (byOrigin.get(origin) ?? 0) + delta);
    total += delta;
  });
  const show = (map: Map<string, number>, n: number) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([key, us]) => `${((100 * us) / total).toFixed(1).padStart(5)} %  ${key}`)
      .join('\n');
  return `self time by origin (${(total / 1000).toFixed(0)} ms sampled)\n${show(byOrigin, 15)}\n\ntop self time by function\n${show(byFunction, top)}`;
}

function originOf(url: string, name: string) {
  if (name.startsWith('(')) return name;
  if (url.includes('/node_modules/xstate/')) return 'xstate';
  if (url.includes('/node_modules/ws/')) return 'ws';
  const ours = url.match(/\/((src|machines)\/.*)$/);
  if (ours?.[1]) return ours[1];
  if (url.includes('/bench/')) return 'bench harness';
  return 'node internals';
}
