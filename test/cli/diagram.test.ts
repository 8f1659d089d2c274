/**
 * `ws-lifecycle diagram`: the diagram of docs/machine.md (both drawn from the machine), read for the
 * properties the page promises — every state, `open` a composite of its keepalive sub-states, the
 * happy path as the main line in lifecycle order, the shared edges once — and a JSON graph holding
 * every state and every transition, both checked against a walk of `machine.root`.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { connectionMachine } from '../../machines/connection-machine.js';
import { STATE_NAMES } from '../../machines/types.js';
import { idOf, parseDiagram, statePaths, walk } from '../docs/diagram-reading.js';
import { cli, ensureBuilt, killAll, ROOT } from './helpers.js';

beforeAll(() => ensureBuilt(), 120_000);
afterAll(() => killAll());

/** The lifecycle's happy path (README, RFC 6455 §4.1, §7.1.2, §7.1.1), written by hand. */
const HAPPY_PATH = ['idle', 'connecting', 'open', 'closing-sent', 'draining', 'closed'];
/** The edges every live state shares, per issue 16: terminate, TCP loss, a protocol error. */
const SHARED = ['api.terminate', 'ws.closed', 'ws.protocol-error'];

describe.concurrent('diagram', () => {
  it('prints Mermaid stateDiagram-v2 by default: the diagram of docs/machine.md', async ({ expect }) => {
    const run = cli(['diagram']);
    expect((await run.exit).code).toBe(0);
    expect(run.stdout.startsWith('stateDiagram-v2\n')).toBe(true);
    const docs = readFileSync(`${ROOT}/docs/machine.md`, 'utf8');
    expect(docs).toContain(`\`\`\`mermaid\n${run.stdout}\`\`\``);
  }, 15_000);

  it('draws every state, open as a composite of its keepalive sub-states', async ({ expect }) => {
    const run = cli(['diagram']);
    expect((await run.exit).code).toBe(0);
    const diagram = parseDiagram(run.stdout.trimEnd());
    for (const path of statePaths(connectionMachine)) expect(diagram.boxes.has(idOf(path)), path).toBe(true);
    expect(STATE_NAMES.every((s) => diagram.boxes.get(idOf(s))?.parent === null)).toBe(true);
    expect(diagram.boxes.get('open')?.composite).toBe(true);
    const inOpen = [...diagram.boxes.values()]
      .filter((b) => b.parent === 'open' && !b.choice)
      .map((b) => b.name);
    expect(inOpen.sort()).toEqual(Object.keys(connectionMachine.root.states.open?.states ?? {}).sort());
    expect(inOpen).toContain('awaiting-pong');
  }, 15_000);

  it('draws the happy path as the main line, in order, and nothing else into closed', async ({ expect }) => {
    const run = cli(['diagram']);
    expect((await run.exit).code).toBe(0);
    const diagram = parseDiagram(run.stdout.trimEnd());
    expect(diagram.initial.get(null)).toBe('idle');
    const steps = HAPPY_PATH.slice(1).map((to, i) =>
      diagram.arrows.findIndex((a) => a.from === idOf(HAPPY_PATH[i] as string) && a.to === idOf(to)),
    );
    expect(steps.every((index) => index >= 0)).toBe(true);
    // In order: each step of the main line is written after the one before it.
    expect([...steps].sort((a, b) => a - b)).toEqual(steps);
    expect(diagram.arrows.filter((a) => a.to === 'closed').map((a) => a.from)).toEqual(['draining']);
    expect(diagram.finals).toEqual(['closed']);
  }, 15_000);

  it('writes each shared edge once, off the arrows, naming the states that share it', async ({ expect }) => {
    const run = cli(['diagram']);
    expect((await run.exit).code).toBe(0);
    const diagram = parseDiagram(run.stdout.trimEnd());
    const lines = [...diagram.boxes.values()].flatMap((b) => b.lines.map((line) => ({ box: b.id, line })));
    for (const event of SHARED) {
      const written = lines.filter((l) => l.line.startsWith(`${event} from `));
      expect(written, event).toHaveLength(1);
      expect(written[0]?.box, event).toBe('closed');
      // Every state that has it, and only they, is named (or "every other state").
      const sources = new Set(
        walk(connectionMachine)
          .filter((t) => t.eventType === event && t.to === 'closed')
          .map((t) => t.from),
      );
      const text = written[0]?.line ?? '';
      if (text.endsWith('every other state')) expect(sources.size).toBe(STATE_NAMES.length - 1);
      else for (const source of sources) expect(text).toContain(source);
      // Not also drawn as an arrow, except ws.closed as the main line's last step.
      const arrows = diagram.arrows.filter((a) => a.labels.some((label) => label.startsWith(event)));
      expect(arrows.map((a) => `${a.from}->${a.to}`)).toEqual(
        event === 'ws.closed' ? ['draining->closed'] : [],
      );
    }
  }, 15_000);

  it('--machine supervisor prints the diagram of docs/supervisor.md', async ({ expect }) => {
    const run = cli(['diagram', '--machine', 'supervisor']);
    expect((await run.exit).code).toBe(0);
    const docs = readFileSync(`${ROOT}/docs/supervisor.md`, 'utf8');
    expect(docs).toContain(`\`\`\`mermaid\n${run.stdout}\`\`\``);
    expect(run.stdout).not.toBe('');
  }, 15_000);

  it('refuses an unknown machine or format with a usage error', async ({ expect }) => {
    const machine = cli(['diagram', '--machine', 'nope']);
    const format = cli(['diagram', '--format', 'svg']);
    expect((await machine.exit).code).toBe(2);
    expect(machine.stderr).toContain('--machine must be');
    expect((await format.exit).code).toBe(2);
    expect(format.stderr).toContain('--format must be mermaid or json');
  }, 15_000);

  it('--format json holds every state and every transition of the machine', async ({ expect }) => {
    const run = cli(['diagram', '--format', 'json']);
    expect((await run.exit).code).toBe(0);
    const graph = JSON.parse(run.stdout) as {
      initial: string;
      states: Array<{ name: string; type: string }>;
      transitions: Array<{ from: string; eventType: string; guard: string; to: string; stays: boolean }>;
    };
    expect(graph.initial).toBe('idle');
    expect(graph.states.map((s) => s.name)).toEqual(statePaths(connectionMachine));
    expect(graph.states.filter((s) => s.name.split('.').length === 1).map((s) => s.name)).toEqual([
      ...STATE_NAMES,
    ]);
    expect(graph.states.find((s) => s.name === 'closed')?.type).toBe('final');
    expect(graph.states.find((s) => s.name === 'open')?.type).toBe('compound');
    const edges = graph.transitions.map(
      (t) => `${t.from} ${t.eventType} ${t.guard || '-'} ${t.stays ? '(stays)' : t.to}`,
    );
    const walked = walk(connectionMachine).map(
      (t) => `${t.from} ${t.eventType} ${t.guard || '-'} ${t.to ?? '(stays)'}`,
    );
    expect(edges.sort()).toEqual(walked.sort());
  }, 15_000);
});
