/**
 * `ws-lifecycle diagram`: the same diagram as docs/machine.md (both drawn from the machine), and a JSON
 * graph holding every state and every transition of `connectionMachine`.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { connectionMachine } from '../../machines/connection-machine.js';
import { STATE_NAMES } from '../../machines/types.js';
import { cli, ensureBuilt, killAll, ROOT } from './helpers.js';

beforeAll(() => ensureBuilt(), 120_000);
afterAll(() => killAll());

/** `from event to` for every transition, read from machine.root directly. */
function walked(): string[] {
  const edges: string[] = [];
  for (const [from, node] of Object.entries(connectionMachine.root.states)) {
    for (const [event, transitions] of node.transitions) {
      for (const t of transitions) edges.push(`${from} ${event} ${t.target?.[0]?.key ?? from}`);
    }
  }
  return edges;
}

describe.concurrent('diagram', () => {
  it('prints Mermaid stateDiagram-v2 by default: the diagram of docs/machine.md', async ({ expect }) => {
    const run = cli(['diagram']);
    expect((await run.exit).code).toBe(0);
    expect(
      run.stdout.startsWith('stateDiagram-v2\n  state "closing-sent" as closing_sent\n  [*] --> idle\n'),
    ).toBe(true);
    expect(run.stdout).toContain('  draining --> closed : after read [else]\n');
    expect(run.stdout.endsWith('  closed --> [*]\n')).toBe(true);
    const docs = readFileSync(`${ROOT}/docs/machine.md`, 'utf8');
    expect(docs).toContain(`\`\`\`mermaid\n${run.stdout}\`\`\``);
  });

  it('--format json holds every state and every transition of the machine', async ({ expect }) => {
    const run = cli(['diagram', '--format', 'json']);
    expect((await run.exit).code).toBe(0);
    const graph = JSON.parse(run.stdout) as {
      initial: string;
      states: Array<{ name: string; type: string }>;
      transitions: Array<{ from: string; eventType: string; to: string }>;
    };
    expect(graph.initial).toBe('idle');
    expect(graph.states.map((s) => s.name)).toEqual([...STATE_NAMES]);
    expect(graph.states.find((s) => s.name === 'closed')?.type).toBe('final');
    const edges = graph.transitions.map((t) => `${t.from} ${t.eventType} ${t.to}`);
    expect(edges.sort()).toEqual(walked().sort());
  });
});
