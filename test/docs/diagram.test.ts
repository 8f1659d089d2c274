/**
 * The docs are drawn from the machine: docs/machine.md and docs/machine.json are regenerated in memory
 * and must equal the committed files (run `npm run docs` after changing the machine). The generator
 * itself is checked against an independent walk of the machine, so a diagram that drops an edge fails.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createMachine } from 'xstate';
import { connectionMachine } from '../../machines/connection-machine.js';
import { STATE_NAMES } from '../../machines/types.js';
import { REPO_ROOT } from '../../scripts/generate-docs.js';
import {
  generatedDocs,
  machineEdges,
  machineJson,
  machineMarkdown,
  mermaidDiagram,
} from '../../src/machine-diagram.js';

interface WalkedTransition {
  eventType: string;
  target?: ReadonlyArray<{ key: string }>;
  guard?: unknown;
}

/** (from, event, guard?, to) for every transition, read from machine.root directly. */
function walkedEdges(): string[] {
  const edges: string[] = [];
  for (const [key, node] of Object.entries(connectionMachine.root.states)) {
    for (const [eventType, transitions] of node.transitions) {
      for (const t of transitions as unknown as WalkedTransition[]) {
        const to = t.target?.[0]?.key ?? key;
        edges.push(`${key} ${eventType} ${typeof t.guard === 'string' ? t.guard : '-'} ${to}`);
      }
    }
  }
  return edges.sort();
}

describe('docs drawn from the machine', () => {
  it.each(Object.entries(generatedDocs()))(
    '%s is up to date (npm run docs)',
    async (path, generated) => {
      const committed = await readFile(join(REPO_ROOT, path), 'utf8');
      expect(committed, `${path} differs from the machine: run npm run docs`).toBe(generated);
    },
    5000,
  );

  it('the generator sees every transition an independent walk of the machine finds', () => {
    const generated = machineEdges().map(
      (e) => `${e.from} ${e.eventType} ${e.guard && e.guard !== 'else' ? e.guard : '-'} ${e.to}`,
    );
    expect(generated.sort()).toEqual(walkedEdges());
  });

  it('the diagram has every state, one line per transition, and labels deadlines by name', () => {
    const diagram = mermaidDiagram();
    const arrows = diagram.split('\n').filter((line) => line.includes('-->'));
    // One per transition, plus the initial and the final marker.
    expect(arrows).toHaveLength(machineEdges().length + 2);
    for (const state of STATE_NAMES) expect(diagram).toMatch(new RegExp(`\\b${state.replace('-', '_')}\\b`));
    expect(diagram).toContain('state "closing-sent" as closing_sent');
    expect(diagram).toContain('closing_sent --> closed : after write');
    expect(diagram).toContain('draining --> closed : after read [peerCloseReceived]');
    expect(diagram).toContain('draining --> closed : after read [else]');
    expect(diagram).not.toMatch(/xstate\.after/);
  });

  it('machine.json is a faithful definition: a machine built from it has the same graph', () => {
    const json = JSON.parse(machineJson());
    expect(json.id).toBe('connection');
    const rebuilt = createMachine(json);
    const edge = (e: ReturnType<typeof machineEdges>[number]) => `${e.from} ${e.trigger} ${e.guard} ${e.to}`;
    expect(machineEdges(rebuilt).map(edge)).toEqual(machineEdges().map(edge));
  });

  it('a changed machine makes the committed docs stale (the drift check can fail)', async () => {
    const config = structuredClone(JSON.parse(machineJson()));
    config.states.open.on['api.ping'] = { target: 'open' };
    const changed = createMachine(config);
    const committed = await readFile(join(REPO_ROOT, 'docs/machine.md'), 'utf8');
    expect(machineMarkdown(changed)).not.toBe(committed);
    expect(mermaidDiagram(changed)).toContain('open --> open : api.ping');
  }, 5000);
});
