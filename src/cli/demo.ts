/**
 * `ws-lifecycle demo [--peer <mode>]`: real connections against embedded local peers, shown as they
 * happen, each with its trail and outcome. What `npm start` runs.
 */
import { parseArgs } from 'node:util';
import type { CloseInfo } from '../../machines/types.js';
import { createConnection } from '../connection.js';
import { refusedUrl, startPeer } from '../testing/peer.js';
import { parsed, UsageError } from './args.js';
import { EXIT } from './exit-codes.js';
import {
  binarySummary,
  closeInfoLiteral,
  formatRecord,
  type Paint,
  painter,
  useColour,
  wrap,
} from './format.js';
import { DEFAULT_SCENARIOS, DEMO_TIMEOUTS, SCENARIOS, type Scenario } from './scenarios.js';

const names = SCENARIOS.map((s) => s.name).join(', ');

export const demoHelp = `Usage: ws-lifecycle demo [--peer <mode>]

Runs real WebSocket connections against small servers on 127.0.0.1 and shows each one's lifecycle
(idle → connecting → open → closing-sent → draining → closed) as it happens, then its CloseInfo.
Without --peer: a well-behaved server, then one that never answers our Close.

  --peer <mode>   run one scenario: ${names}
  -h, --help      show this help

Exit status 0 when every scenario ended as expected, 1 otherwise.`;

const OPTIONS = {
  peer: { type: 'string', short: 'p' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function demo(args: string[]): Promise<number> {
  const { values, positionals } = parsed('demo', () =>
    parseArgs({ args, options: OPTIONS, strict: true, allowPositionals: true }),
  );
  if (values.help) {
    process.stdout.write(`${demoHelp}\n`);
    return EXIT.ok;
  }
  if (positionals.length > 0)
    throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`, 'demo');
  const chosen = values.peer === undefined ? DEFAULT_SCENARIOS : [values.peer];
  const scenarios = chosen.map((name) => {
    const scenario = SCENARIOS.find((s) => s.name === name);
    if (!scenario) throw new UsageError(`--peer must be one of: ${names}`, 'demo');
    return scenario;
  });

  const paint = painter(useColour(process.stdout));
  const out = (line = '') => process.stdout.write(`${line}\n`);
  out(paint('bold', 'ws-lifecycle demo'));
  out(
    'Each connection is driven by a state machine: idle → connecting → open → closing-sent → draining → closed.',
  );
  out('Trail lines: time since the connection was created, from → to, and (what caused it: api.* is');
  out('our code, ws.* the socket, "deadline" a timer), with the close code, reason and error code.');
  out(
    `Deadlines for the demo: connect ${DEMO_TIMEOUTS.connect} ms, write ${DEMO_TIMEOUTS.write} ms, ` +
      `read ${DEMO_TIMEOUTS.read} ms (defaults 10000 / 5000 / 5000).`,
  );
  let failures = 0;
  for (const [index, scenario] of scenarios.entries()) {
    out();
    out(paint('bold', `${index + 1}. ${scenario.title}`) + paint('dim', `  (peer: ${scenario.name})`));
    for (const line of wrap(scenario.explain)) out(line);
    const info = await runScenario(scenario, paint, out);
    const expected = scenario.expect;
    if ((info.error?.code ?? undefined) !== expected) {
      failures++;
      out(paint('red', `  unexpected outcome: expected ${expected ?? 'a clean close'}`));
    }
  }
  out();
  if (values.peer === undefined) {
    out(`More peers: ws-lifecycle demo --peer <${SCENARIOS.map((s) => s.name).join('|')}>`);
    out('Your own server: ws-lifecycle connect ws://host:port/path');
  }
  return failures === 0 ? EXIT.ok : EXIT.failure;
}

async function runScenario(
  scenario: Scenario,
  paint: Paint,
  out: (line?: string) => void,
): Promise<CloseInfo> {
  const peer =
    scenario.name === 'refused' ? null : await startPeer({ ...scenario.peer, mode: scenario.name });
  try {
    const url = peer ? peer.url : await refusedUrl();
    const say = (line: string) => out(`  ${paint('yellow', line)}`);
    out(paint('dim', `  trail of ${url}:`));
    const conn = createConnection(url, {
      timeouts: DEMO_TIMEOUTS,
      audit: (record) => out(`  ${formatRecord(record, paint)}`),
    });
    conn.on('message', (data) =>
      say(`← received ${typeof data === 'string' ? JSON.stringify(data) : binarySummary(data)}`),
    );
    await conn.open().catch(() => {});
    await scenario.drive(conn, say);
    const info = await conn.closed;
    out(`  ${paint('bold', 'CloseInfo')} ${closeInfoLiteral(info, paint)}`);
    if (info.error) out(`  ${paint('red', 'error:')} ${info.error.message}`);
    return info;
  } finally {
    await peer?.close();
  }
}
