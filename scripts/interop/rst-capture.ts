/**
 * RSTs on the wire during clean closes: tcpdump on `lo` with the BPF filter
 * `tcp port <n> and tcp[tcpflags] & tcp-rst != 0` while `runs` closes (open, send 'x', close 1000 'bye')
 * run against one server of another stack, first by the plain ws client, then by ws-lifecycle (packed
 * and installed as a user gets it). Needs root and tcpdump (`apt-get install tcpdump`).
 *
 *   npx tsx scripts/interop/rst-capture.ts [--server gorilla] [--scheme wss] [--runs 50] [--from DIR]
 *
 * Over TLS, tornado, gorilla and nginx close TCP right after their Close echo; whatever the client writes
 * after the server's FIN (its TLS close_notify) is answered by the server's kernel with a RST. The aim:
 * 0 RST for ws-lifecycle where ws gets one per close. Prints a few of the segments seen, with direction.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { captureSupport, rstFilter, startRstCapture } from '../../test/support/rst-capture.js';
import { prepareConsumer, prepareWork, ROOT, runClient, SERVERS } from './lib.js';

const { values } = parseArgs({
  options: {
    server: { type: 'string', default: 'gorilla' },
    scheme: { type: 'string', default: 'wss' },
    runs: { type: 'string', default: '50' },
    from: { type: 'string' },
  },
});
const runs = Number(values.runs);
const scheme = values.scheme === 'ws' ? 'ws' : 'wss';
const support = captureSupport();
if (!support.ok) {
  console.error(`cannot capture: ${support.reason}`);
  process.exit(2);
}
const definition = SERVERS.find((s) => s.name.toLowerCase().includes((values.server ?? '').toLowerCase()));
if (!definition) {
  console.error(`no server matches ${values.server}; known: ${SERVERS.map((s) => s.name).join(', ')}`);
  process.exit(2);
}
const unavailable = definition.unavailable();
if (unavailable) {
  console.error(`${definition.name} cannot run here: ${unavailable}`);
  process.exit(2);
}

const work = prepareWork(mkdtempSync(join(tmpdir(), 'ws-lifecycle-rst-')));
let failed = false;
try {
  const consumer = prepareConsumer(work, values.from ? resolve(values.from) : ROOT);
  const server = await definition.start(work);
  try {
    const port = server.ports[scheme];
    const url = `${scheme}://127.0.0.1:${port}/`;
    console.log(`${definition.name} (${definition.describe()}) at ${url}; filter: ${rstFilter(port)}`);
    console.log(
      `ws-lifecycle ${consumer.versions['ws-lifecycle']}, ws ${consumer.versions.ws}; ${runs} closes each\n`,
    );
    console.log('| client | wasClean | RST total | RST from the server | RST from the client |');
    console.log('|---|---|---|---|---|');
    const samples: string[] = [];
    for (const client of ['ws', 'ws-lifecycle'] as const) {
      const capture = await startRstCapture(port);
      const report = runClient(consumer, work, client, url, runs);
      const seen = await capture.stop();
      if (seen.dropped) failed = true;
      const fromServer = seen.rsts.filter((r) => r.from === 'server').length;
      console.log(
        `| ${client} | ${report.clean}/${report.runs} | ${seen.rsts.length} | ${fromServer} | ${seen.rsts.length - fromServer} |`,
      );
      for (const segment of seen.rsts.slice(0, 2)) samples.push(`${client}: ${segment.line}`);
      if (seen.dropped) samples.push(`${client}: tcpdump dropped ${seen.dropped} packets: not to be trusted`);
    }
    if (samples.length)
      console.log(`\nFirst segments seen:\n${samples.map((line) => `  ${line}`).join('\n')}`);
  } finally {
    await server.stop();
  }
} finally {
  rmSync(work.dir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
