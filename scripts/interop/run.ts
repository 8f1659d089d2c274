/**
 * The outside check, tried as a user would: the packed tarball installed into a fresh folder, then
 * `runs` clean closes (open, send 'x', close 1000 'bye') against echo servers of other stacks, over ws://
 * and wss:// (a self-signed certificate), by ws-lifecycle and by the plain ws client it ships with.
 * With root and tcpdump, it also counts the TCP resets on each server's port while each client runs.
 *
 *   npx tsx scripts/interop/run.ts [--runs 50] [--from DIR] [--only tornado,gorilla] [--json FILE] [--no-rst]
 *
 * `--from` packs another checkout (e.g. a `git archive` of a commit). Servers whose stack is not installed
 * are listed as skipped with the package to install (docs/interop.md). Loopback only.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { captureSupport, startRstCapture } from '../../test/support/rst-capture.js';
import {
  type ClientName,
  type ClientReport,
  prepareConsumer,
  prepareWork,
  ROOT,
  runClient,
  SERVERS,
  type ServerDefinition,
} from './lib.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '50' },
    from: { type: 'string' },
    only: { type: 'string' },
    json: { type: 'string' },
    'no-rst': { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
  },
});
const runs = Number(values.runs);
const only = values.only?.split(',').map((s) => s.trim().toLowerCase());
const capture = values['no-rst'] ? ({ ok: false, reason: '--no-rst' } as const) : captureSupport();

interface Row {
  server: string;
  stack: string;
  scheme: 'ws' | 'wss';
  clients: Record<ClientName, (ClientReport & { rsts: number | null; rstFromServer: number | null }) | null>;
  error?: string;
}

const work = prepareWork(mkdtempSync(join(tmpdir(), 'ws-lifecycle-interop-')));
const rows: Row[] = [];
const skipped: { server: string; reason: string }[] = [];
try {
  console.error(`packing ${values.from ?? ROOT} and installing it into ${work.dir}/consumer …`);
  const consumer = prepareConsumer(work, values.from ? resolve(values.from) : ROOT);
  console.error(
    `installed ws-lifecycle ${consumer.versions['ws-lifecycle']} with ws ${consumer.versions.ws}`,
  );
  console.error(capture.ok ? 'counting RSTs with tcpdump on lo' : `not counting RSTs: ${capture.reason}`);

  const chosen = SERVERS.filter((s) => !only || only.some((o) => s.name.toLowerCase().includes(o)));
  for (const definition of chosen) {
    const reason = definition.unavailable();
    if (reason) {
      skipped.push({ server: definition.name, reason });
      console.error(`skip ${definition.name}: ${reason}`);
      continue;
    }
    await runServer(definition, consumer);
  }

  async function runServer(definition: ServerDefinition, consumerInfo: typeof consumer) {
    const stack = definition.describe();
    let running: Awaited<ReturnType<ServerDefinition['start']>>;
    try {
      running = await definition.start(work);
    } catch (error) {
      for (const scheme of ['ws', 'wss'] as const)
        rows.push({
          server: definition.name,
          stack,
          scheme,
          clients: { 'ws-lifecycle': null, ws: null },
          error: String(error),
        });
      console.error(`${definition.name} did not start: ${error}`);
      return;
    }
    try {
      for (const scheme of ['ws', 'wss'] as const) {
        const port = running.ports[scheme];
        const url = `${scheme}://127.0.0.1:${port}/`;
        const row: Row = {
          server: definition.name,
          stack,
          scheme,
          clients: { 'ws-lifecycle': null, ws: null },
        };
        for (const client of ['ws-lifecycle', 'ws'] as const) {
          const rst = capture.ok ? await startRstCapture(port) : null;
          try {
            const report = runClient(consumerInfo, work, client, url, runs);
            const seen = rst ? await rst.stop() : null;
            row.clients[client] = {
              ...report,
              rsts: seen ? seen.rsts.length : null,
              rstFromServer: seen ? seen.rsts.filter((r) => r.from === 'server').length : null,
            };
          } catch (error) {
            await rst?.stop(0);
            row.error = `${client}: ${String(error).slice(0, 300)}`;
          }
        }
        rows.push(row);
        console.error(summaryLine(row));
      }
    } finally {
      await running.stop();
    }
  }
} finally {
  if (!values.keep) rmSync(work.dir, { recursive: true, force: true });
}

function summaryLine(row: Row): string {
  const part = (c: ClientName) => {
    const r = row.clients[c];
    return r ? `${c} ${r.clean}/${r.runs} clean${r.rsts === null ? '' : `, ${r.rsts} RST`}` : `${c} —`;
  };
  return `${row.server} ${row.scheme}: ${part('ws-lifecycle')}; ${part('ws')}${row.error ? ` (${row.error})` : ''}`;
}

/** The trails ws-lifecycle recorded, with counts: "47× idle → … → closed; 3× …" (and the close if not 1000 bye). */
function trails(report: ClientReport | null): string {
  if (!report) return '—';
  const counts = new Map<string, number>();
  for (const o of report.outcomes) {
    const close = o.close && o.close !== '1000 "bye"' ? `, ${o.close}` : '';
    const key = o.failed ? `failed: ${o.failed}` : `${o.states}${close}${o.error ? ` (${o.error})` : ''}`;
    counts.set(key, (counts.get(key) ?? 0) + o.n);
  }
  return [...counts]
    .sort((a, b) => b[1] - a[1])
    .map(([key, n]) => `${n}× ${key}`)
    .join('<br>');
}

/** In how many runs the echo of 'x' (sent before our Close) was delivered. */
function delivered(report: ClientReport | null): string {
  if (!report) return '—';
  return String(report.outcomes.filter((o) => (o.messages ?? 0) >= 1).reduce((sum, o) => sum + o.n, 0));
}

function extensions(report: ClientReport | null): string {
  const set = new Set((report?.outcomes ?? []).map((o) => o.extensions).filter(Boolean));
  return set.size ? [...set].join(', ') : '—';
}

const rstCell = (r: Row['clients'][ClientName]) => (r?.rsts == null ? '—' : String(r.rsts));
const cleanCell = (r: Row['clients'][ClientName]) => (r ? `${r.clean}/${r.runs}` : '—');

const lines = [
  `| server | scheme | deflate | ws-lifecycle wasClean | ws-lifecycle trail (× runs) | ws wasClean | echo of 'x' delivered (ws-lifecycle / ws) | RST ws-lifecycle | RST ws |`,
  '|---|---|---|---|---|---|---|---|---|',
  ...rows.map(
    (row) =>
      `| ${row.server} | ${row.scheme} | ${extensions(row.clients.ws)} | ${cleanCell(row.clients['ws-lifecycle'])} | ${trails(
        row.clients['ws-lifecycle'],
      )} | ${cleanCell(row.clients.ws)} | ${delivered(row.clients['ws-lifecycle'])} / ${delivered(row.clients.ws)} | ${rstCell(row.clients['ws-lifecycle'])} | ${rstCell(row.clients.ws)} |`,
  ),
];
const stacks = [...new Map(rows.map((r) => [r.server, r.stack])).entries()].map(([s, v]) => `- ${s}: ${v}`);
console.log(
  `${runs} runs each (open, send 'x', close(1000, 'bye')); RST counts: ${capture.ok ? 'tcpdump on lo' : capture.reason}\n`,
);
console.log(lines.join('\n'));
console.log(`\nStacks:\n${stacks.join('\n')}`);
if (skipped.length) console.log(`\nSkipped:\n${skipped.map((s) => `- ${s.server}: ${s.reason}`).join('\n')}`);
const errors = rows.filter((r) => r.error);
if (errors.length)
  console.log(`\nErrors:\n${errors.map((r) => `- ${r.server} ${r.scheme}: ${r.error}`).join('\n')}`);
if (values.json) writeFileSync(values.json, `${JSON.stringify({ runs, rows, skipped }, null, 2)}\n`);
