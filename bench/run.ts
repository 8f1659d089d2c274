import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type Counts, FULL, GROUPS, type Group, MEASURE_IDS, type MeasureId, QUICK } from './config.js';
import { generatedSection, type RunMeta, writeDocs } from './docs.js';
import { isKindName, KIND_NAMES, type KindName } from './kinds/index.js';
import { type Figures, markdownTable, summarize, textTable } from './report.js';
import { prepare, runClient, startServer } from './spawn.js';
import { median } from './stats.js';

const usage = `npm run bench -- [options]
  --quick              CI smoke-test counts (< 90 s)
  --rounds <n>         rounds (default ${FULL.rounds}, quick ${QUICK.rounds}; at least 5 for the docs)
  --only <kinds>       comma-separated subset of ${KIND_NAMES.join(',')}
  --measure <ids>      comma-separated subset of ${MEASURE_IDS.join(',')}
  --timeout <ms>       per client process (default ${FULL.timeoutMs}, quick ${QUICK.timeoutMs}); killed by PID past it
  --out <file>         JSON results (default bench/results/latest.json)
  --write-docs         rewrite the generated section of docs/performance.md
  --strict             exit non-zero when a kind is skipped too (not only when a measurement crashes)`;

/** A kind must load, echo once and close within this. */
const PROBE_MS = 20_000;

const root = (path: string) => fileURLToPath(new URL(`../${path}`, import.meta.url));

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    timeout: { type: 'string' },
    only: { type: 'string' },
    measure: { type: 'string' },
    out: { type: 'string', default: root('bench/results/latest.json') },
    'write-docs': { type: 'boolean', default: false },
    strict: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (args.help) {
  console.log(usage);
  process.exit(0);
}

const list = (value: string | undefined) =>
  value
    ?.split(',')
    .map((item) => item.trim())
    .filter(Boolean);
const requestedKinds = list(args.only) ?? [...KIND_NAMES];
for (const kind of requestedKinds) if (!isKindName(kind)) fail(`unknown kind ${kind}\n${usage}`);
const measures = (list(args.measure)?.map((id) => id.toUpperCase()) ?? [...MEASURE_IDS]) as MeasureId[];
for (const id of measures) if (!MEASURE_IDS.includes(id)) fail(`unknown measurement ${id}\n${usage}`);
const counts: Counts = { ...(args.quick ? QUICK : FULL) };
if (args.rounds) counts.rounds = Number(args.rounds);
if (!(counts.rounds >= 1)) fail(`bad --rounds ${args.rounds}`);
if (args.timeout) counts.timeoutMs = Number(args.timeout);
if (!(counts.timeoutMs > 0)) fail(`bad --timeout ${args.timeout}`);
const groups = (Object.keys(GROUPS) as Group[]).filter((group) =>
  (GROUPS[group] as readonly MeasureId[]).some((id) => measures.includes(id)),
);

function fail(message: string): never {
  console.error(message);
  process.exit(2);
}

const started = performance.now();
const loadBefore = loadavg()[0] ?? 0;
try {
  console.log(`compiled bench/ in ${(prepare() / 1000).toFixed(1)} s`);
} catch (error) {
  fail(error instanceof Error ? error.message : String(error));
}
const server = await startServer();
console.log(`echo server pid ${server.pid} at ${server.url}`);
const errors: string[] = [];
const skipped: Record<string, string> = {};
const startup: number[] = [];
const processes: Array<{ round: number; group: Group; kind: KindName; wallMs: number; readyMs?: number }> =
  [];

// Which kinds load and echo once, and which have a machine that loads (M6).
const kinds: KindName[] = [];
const machineKinds: KindName[] = [];
for (const kind of requestedKinds as KindName[]) {
  const outcome = await runClient(
    [
      '--group',
      'probe',
      '--kind',
      kind,
      '--url',
      server.url,
      '--counts',
      JSON.stringify({ ...counts, timeoutMs: PROBE_MS }),
    ],
    PROBE_MS,
  );
  const probe = outcome.result as { adapter: string; machine: string } | undefined;
  if (!outcome.ok || !probe) {
    skipped[kind] = `probe failed: ${outcome.error}`;
  } else if (probe.adapter !== 'ok') {
    skipped[kind] = `adapter does not load or echo: ${probe.adapter}`;
  } else {
    kinds.push(kind);
    if (probe.machine === 'ok') machineKinds.push(kind);
    else if (probe.machine !== 'none' && measures.includes('M6'))
      skipped[`${kind} (M6)`] = `machine does not load: ${probe.machine}`;
  }
}
for (const [kind, why] of Object.entries(skipped)) console.log(`skipping ${kind}: ${why}`);
if (kinds.length === 0) {
  server.stop();
  fail('no client kind loads');
}

const figures: Figures = {};
for (let round = 0; round < counts.rounds; round++) {
  const order = kinds.map((_, i) => kinds[(i + round) % kinds.length] as KindName);
  process.stdout.write(`round ${round + 1}/${counts.rounds} (${order.join(' ')}):`);
  for (const group of groups) {
    for (const kind of order) {
      if (group === 'machine' && !machineKinds.includes(kind)) continue;
      const outcome = await runClient(
        ['--group', group, '--kind', kind, '--url', server.url, '--counts', JSON.stringify(counts)],
        counts.timeoutMs,
      );
      const result = outcome.result as
        | (Record<string, Record<string, number>> & { readyMs: number; elapsedMs?: number })
        | undefined;
      processes.push({
        round: round + 1,
        group,
        kind,
        wallMs: outcome.wallMs,
        ...(result ? { readyMs: result.readyMs } : {}),
      });
      if (!outcome.ok || !result) {
        errors.push(`round ${round + 1} ${group} ${kind}: ${outcome.error}`);
        process.stdout.write(` ${group}/${kind}=FAILED`);
        continue;
      }
      startup.push(result.readyMs);
      const rounds = figures[kind] ?? [];
      rounds[round] = { ...rounds[round], ...result };
      figures[kind] = rounds;
    }
    process.stdout.write(` ${group}`);
  }
  process.stdout.write('\n');
}
server.stop();

const rows = summarize(figures, kinds, measures);
const wallSeconds = (performance.now() - started) / 1000;
const meta: RunMeta = {
  date: `${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`,
  node: process.version,
  cpus: cpus().length,
  cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
  mode: args.quick ? 'quick' : 'full',
  kinds,
  skipped,
  errors,
  wallSeconds,
  startupMs: median(startup),
  load: [loadBefore, loadavg()[0] ?? 0],
};

console.log(`\n${textTable(rows)}\n`);
console.log(
  `${meta.mode} mode, ${counts.rounds} rounds, ${wallSeconds.toFixed(1)} s; Node ${meta.node}, ${meta.cpus} × ${meta.cpuModel}; ` +
    `load average ${meta.load.map((l) => l.toFixed(1)).join(' → ')}; ` +
    `process start + load ${startup.length ? meta.startupMs.toFixed(0) : '—'} ms median per client (outside the figures)`,
);
for (const error of errors) console.error(`FAILED ${error}`);

mkdirSync(dirname(args.out), { recursive: true });
writeFileSync(args.out, `${JSON.stringify({ meta, counts, measures, figures, rows, processes }, null, 2)}\n`);
console.log(`results: ${args.out}`);
if (args['write-docs'] && errors.length > 0) {
  console.error('docs/performance.md left as it was: a measurement failed in this run');
} else if (args['write-docs']) {
  const docs = root('docs/performance.md');
  mkdirSync(dirname(docs), { recursive: true });
  writeDocs(docs, generatedSection(meta, markdownTable(rows), counts));
  console.log(`docs: ${docs}`);
}

const skippedAny = Object.keys(skipped).length > 0;
process.exit(errors.length > 0 || (args.strict && skippedAny) ? 1 : 0);
