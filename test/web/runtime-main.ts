/**
 * The runner for Node ≥ 22, Deno and Bun, bundled by the host (test/web/harness.ts) into one ESM file:
 * reads the {@link ScenarioConfig} from its first argument, runs every scenario with the runtime's own
 * global WebSocket, prints the results as one JSON line after {@link RESULT_MARK}, and exits (a socket
 * the runtime still holds after we detached must not keep it alive).
 */
import { RESULT_MARK } from './result-mark.js';
import { runScenarios, type ScenarioConfig } from './scenarios.js';

interface RuntimeGlobals {
  Deno?: { args: string[]; exit(code: number): never };
  process?: { argv: string[]; exit(code: number): never };
  Bun?: { version: string };
  navigator?: { userAgent?: string };
}

const g = globalThis as unknown as RuntimeGlobals;
const arg = g.Deno ? g.Deno.args[0] : g.process?.argv[2];
const config = JSON.parse(arg ?? '{}') as ScenarioConfig;
const results = await runScenarios(config);
const runtime = g.navigator?.userAgent ?? 'unknown';
console.log(`${RESULT_MARK}${JSON.stringify({ runtime, results })}`);
if (g.Deno) g.Deno.exit(0);
else g.process?.exit(0);
