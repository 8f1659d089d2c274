/**
 * `npm start` (the demo) finishes by itself, fast, and shows both scenarios; every `--peer` scenario
 * ends as it says it will (the demo exits 1 otherwise).
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { SCENARIOS } from '../../src/cli/scenarios.js';
import { cli, ensureBuilt, killAll, ROOT, run } from './helpers.js';

beforeAll(() => ensureBuilt(), 120_000);
afterAll(() => killAll());

describe.concurrent('demo', () => {
  it('npm start runs the demo and finishes by itself, in well under 15 s', async ({ expect }) => {
    const { scripts } = JSON.parse(readFileSync(`${ROOT}/package.json`, 'utf8')) as {
      scripts: Record<string, string>;
    };
    expect(scripts.start).toMatch(/ demo$/);
    const t0 = Date.now();
    const start = run('npm', ['start', '--silent'], { timeoutMs: 20_000 });
    expect(await start.exit).toEqual({ code: 0, signal: null });
    expect(Date.now() - t0).toBeLessThan(15_000);
    const out = start.stdout;
    expect(out).toContain('1. A well-behaved server');
    expect(out).toContain(
      'CloseInfo { code: 1000, reason: "demo done", wasClean: true, initiator: "local" }',
    );
    expect(out).toContain('2. A server that never answers our Close');
    expect(out).toMatch(/\+\d+ms draining → closed \(read deadline 1006 ERR_READ_DEADLINE\)/);
    expect(out).toContain('error: ERR_READ_DEADLINE');
    expect(out).not.toContain('unexpected outcome');
    expect(out).not.toContain('\u001b[');
  }, 25_000);

  it.for(SCENARIOS.map((s) => s.name))('--peer %s ends as explained (exit 0)', async (name, { expect }) => {
    const demo = cli(['demo', '--peer', name], { timeoutMs: 8000 });
    expect((await demo.exit).code).toBe(0);
    expect(demo.stdout).toContain(`(peer: ${name})`);
    expect(demo.stdout).toMatch(/\+\d+ms idle \(start\)/);
    expect(demo.stdout).toContain('CloseInfo {');
  });
});
