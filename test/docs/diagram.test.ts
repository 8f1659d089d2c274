/**
 * The docs are drawn from the machines: docs/machine.md, docs/machine.json and docs/supervisor.md are
 * regenerated in memory and must equal the committed files (run `npm run docs` after changing a
 * machine). The diagram is then read the way the page tells a person to read it (diagram-reading.ts),
 * against an independent walk of each machine: every transition appears exactly once, and nothing
 * appears that is not a transition.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type AnyStateMachine, createMachine } from 'xstate';
import { connectionMachine } from '../../machines/connection-machine.js';
import { STATE_NAMES } from '../../machines/types.js';
import { REPO_ROOT } from '../../scripts/generate-docs.js';
import {
  diagramMachines,
  generatedDocs,
  machineEdges,
  machineJson,
  machineMarkdown,
  mermaidDiagram,
  planDiagram,
} from '../../src/machine-diagram.js';
import { type Found, findTransition, idOf, parseDiagram, statePaths, walk } from './diagram-reading.js';

const MACHINES = diagramMachines();
const topLevelOf = (machine: AnyStateMachine) => Object.keys(machine.root.states);
const key = (t: { from: string; eventType: string; guard: string; to: string | null }) =>
  `${t.from || '(machine)'} ${t.eventType} ${t.guard || '-'} ${t.to ?? '(stays)'}`;

describe('docs drawn from the machines', () => {
  it.each(Object.entries(generatedDocs()))(
    '%s is up to date (npm run docs)',
    async (path, generated) => {
      const committed = await readFile(join(REPO_ROOT, path), 'utf8');
      expect(committed, `${path} differs from the machine: run npm run docs`).toBe(generated);
    },
    5000,
  );

  it('draws the connection machine and, once it exists, the supervisor', () => {
    expect(MACHINES.map((m) => m.page)).toEqual(['docs/machine.md', 'docs/supervisor.md']);
    expect(Object.keys(generatedDocs()).sort()).toEqual(
      ['docs/machine.json', 'docs/machine.md', 'docs/supervisor.md'].sort(),
    );
  }, 5000);

  it.each(MACHINES.map((m) => [m.name, m.machine] as const))(
    '%s: the generator sees every transition an independent walk of the machine finds',
    (_, machine) => {
      const generated = machineEdges(machine).map((e) => key({ ...e, to: e.stays ? null : e.to }));
      expect(generated.sort()).toEqual(walk(machine).map(key).sort());
    },
  );

  it('the connection machine has the transitions this page was designed for', () => {
    // A floor, so that the representation checks below cannot pass on an empty walk.
    expect(walk(connectionMachine).length).toBeGreaterThanOrEqual(35);
    expect(statePaths(connectionMachine)).toEqual(
      expect.arrayContaining(['open.keepalive-off', 'open.quiet', 'open.awaiting-pong']),
    );
  }, 5000);
});

describe.each(MACHINES.map((m) => [m.name, m] as const))(
  'the %s diagram, read as the page says',
  (_, entry) => {
    const { machine } = entry;
    const diagram = parseDiagram(mermaidDiagram(machine));
    const top = topLevelOf(machine);
    const found = new Map(walk(machine).map((t) => [t, findTransition(t, diagram, top)] as const));

    it('draws every state once, sub-states inside their composite', () => {
      const drawn = [...diagram.boxes.values()].filter((b) => !b.choice);
      expect(drawn.map((b) => b.id).sort()).toEqual(statePaths(machine).map(idOf).sort());
      for (const path of statePaths(machine)) {
        const box = diagram.boxes.get(idOf(path));
        const parent = path.includes('.') ? idOf(path.slice(0, path.lastIndexOf('.'))) : null;
        expect(box?.parent, path).toBe(parent);
        expect(box?.name, path).toBe(path.split('.').at(-1));
        const hasChildren = statePaths(machine).some((p) => p.startsWith(`${path}.`));
        expect(box?.composite, path).toBe(hasChildren);
      }
    }, 5000);

    it('shows every transition exactly once: an arrow, a ◇ branch, a line in a box, or a shared line', () => {
      const missing = [...found].filter(([, where]) => where.length === 0).map(([t]) => key(t));
      const twice = [...found].filter(([, where]) => where.length > 1).map(([t]) => key(t));
      expect(missing, 'not in the diagram').toEqual([]);
      expect(twice, 'in the diagram more than once').toEqual([]);
    }, 5000);

    it('shows nothing that is not a transition of the machine', () => {
      const used = new Set<string>();
      const mark = (where: Found) => {
        if (where.kind === 'arrow' || where.kind === 'choice')
          used.add(`arrow ${arrowKey(where.arrow)} ${where.label}`);
        if (where.kind === 'line' || where.kind === 'shared') used.add(`line ${where.box.id} ${where.line}`);
        if ((where.kind === 'choice' || where.kind === 'line') && where.branch) {
          used.add(`arrow ${arrowKey(where.branch)} ${where.branch.labels[0]}`);
        }
      };
      for (const where of [...found.values()].flat()) mark(where);
      const shown = [
        ...diagram.arrows.flatMap((a) => a.labels.map((label) => `arrow ${arrowKey(a)} ${label}`)),
        ...[...diagram.boxes.values()].flatMap((b) => b.lines.map((line) => `line ${b.id} ${line}`)),
      ];
      expect(shown.filter((s) => !used.has(s))).toEqual([]);
      // Unlabelled arrows are only the entry and final markers, which the parser keeps apart.
      expect(diagram.arrows.filter((a) => a.labels.length === 0)).toEqual([]);
    }, 5000);

    it('"from every other state" holds for every other top-level state', () => {
      for (const box of diagram.boxes.values()) {
        for (const line of box.lines.filter((l) => l.endsWith(' from every other state'))) {
          const trigger = line.slice(0, -' from every other state'.length);
          for (const state of top.filter((s) => s !== box.id)) {
            expect(
              walk(machine).some((t) => t.from === state && t.trigger === trigger && t.to === box.id),
              `${state} ${trigger} → ${box.id}`,
            ).toBe(true);
          }
        }
      }
    }, 5000);

    it('joins each step of the main line by an arrow, starting at the initial state', () => {
      const spine = planDiagram(machine).spine;
      expect(new Set(spine).size).toBe(spine.length);
      for (const state of spine) expect(top).toContain(state);
      expect(diagram.initial.get(null)).toBe(idOf(spine[0] as string));
      for (let i = 0; i + 1 < spine.length; i++) {
        const [a, b] = [spine[i] as string, spine[i + 1] as string];
        const joined = diagram.arrows.some(
          (arrow) =>
            (arrow.from === idOf(a) || arrow.from.startsWith(`${idOf(a)}_`)) &&
            (arrow.to === idOf(b) || arrow.to.startsWith(`${idOf(b)}_`)),
        );
        expect(joined, `${a} → ${b}`).toBe(true);
      }
      const finals = top.filter((s) => machine.root.states[s]?.type === 'final');
      expect(diagram.finals).toEqual(finals.map(idOf));
    }, 5000);
  },
);

describe('the connection diagram, against the lifecycle (README, RFC 6455)', () => {
  const diagram = parseDiagram(mermaidDiagram(connectionMachine));
  const arrowsBetween = (from: string, to: string) =>
    diagram.arrows.filter((a) => a.from === idOf(from) && a.to === idOf(to));

  it('the main line is the happy path: idle → connecting → open → closing-sent → draining → closed', () => {
    // Written from the README's lifecycle table and RFC 6455 §4.1, §7.1.2, §7.1.1, not from the code.
    expect(planDiagram(connectionMachine).spine).toEqual([...STATE_NAMES]);
    expect(arrowsBetween('idle', 'connecting').flatMap((a) => a.labels)).toEqual(['api.open']);
    expect(arrowsBetween('connecting', 'open').flatMap((a) => a.labels)).toEqual(['ws.open']);
    expect(
      arrowsBetween('open', 'closing-sent')
        .flatMap((a) => a.labels)
        .sort(),
    ).toEqual(['api.close', 'ws.close-received']);
    expect(arrowsBetween('closing-sent', 'draining').flatMap((a) => a.labels)).toEqual(['ws.flushed']);
    expect(arrowsBetween('draining', 'closed').flatMap((a) => a.labels)).toEqual([
      'ws.closed [peerCloseReceived]',
    ]);
  }, 5000);

  it('nothing but the main line converges on closed', () => {
    expect(diagram.arrows.filter((a) => a.to === 'closed')).toHaveLength(1);
  }, 5000);

  it('open is a composite whose keepalive sub-states are picked by keepaliveOn', () => {
    const open = diagram.boxes.get('open');
    expect(open?.composite).toBe(true);
    const inside = [...diagram.boxes.values()].filter((b) => b.parent === 'open' && !b.choice);
    expect(inside.map((b) => b.name).sort()).toEqual(['awaiting-pong', 'keepalive-off', 'quiet']);
    const choice = [...diagram.boxes.values()].find((b) => b.parent === 'open' && b.choice);
    expect(choice).toBeDefined();
    const branches = diagram.arrows.filter((a) => a.from === choice?.id);
    expect(branches.map((a) => `${a.labels.join()} ${a.to}`).sort()).toEqual([
      '[else] open_keepalive_off',
      '[keepaliveOn] open_quiet',
    ]);
    expect(diagram.initial.get('open')).toBe(choice?.id);
  }, 5000);

  it('the edges every state shares (terminate, TCP loss, protocol error) are written once, in closed', () => {
    const source = mermaidDiagram(connectionMachine);
    const lines = (event: string) => source.split('\n').filter((l) => l.includes(event));
    expect(lines('api.terminate')).toEqual(['  closed : api.terminate from every other state']);
    expect(lines('ws.protocol-error')).toHaveLength(1);
    expect(lines('ws.protocol-error')[0]).toMatch(/^ {2}closed : ws\.protocol-error from /);
    // ws.closed: the main line's last step, and once for every other state that has it.
    expect(lines('ws.closed').filter((l) => !l.includes('draining --> closed'))).toHaveLength(1);
    expect(lines('ws.closed').filter((l) => !l.includes('draining --> closed'))[0]).toMatch(
      /^ {2}closed : ws\.closed from /,
    );
  }, 5000);

  it('labels deadlines by name, never by their event type', () => {
    const source = mermaidDiagram(connectionMachine);
    expect(source).not.toMatch(/xstate\.after/);
    for (const delay of ['connect', 'write', 'read', 'interval', 'pong'])
      expect(source).toContain(`after ${delay}`);
  }, 5000);
});

describe('machine.json and drift', () => {
  it('machine.json is a faithful definition: a machine built from it has the same graph', () => {
    const json = JSON.parse(machineJson());
    expect(json.id).toBe('connection');
    const rebuilt = createMachine(json);
    const edge = (e: ReturnType<typeof machineEdges>[number]) => `${e.from} ${e.trigger} ${e.guard} ${e.to}`;
    expect(machineEdges(rebuilt).map(edge)).toEqual(machineEdges().map(edge));
  }, 5000);

  it('a changed machine makes the committed page stale (the drift check can fail)', async () => {
    const committed = await readFile(join(REPO_ROOT, 'docs/machine.md'), 'utf8');
    const rebuild = (states: Record<string, unknown>) =>
      createMachine(
        { ...connectionMachine.config, states } as typeof connectionMachine.config,
        connectionMachine.implementations as never,
      );
    // The same definition, rebuilt: the same page (so what differs below is the change alone).
    expect(machineMarkdown(rebuild(connectionMachine.config.states as Record<string, unknown>))).toBe(
      committed,
    );
    const draining = connectionMachine.config.states?.draining as { on: Record<string, unknown> };
    const changed = rebuild({
      ...connectionMachine.config.states,
      draining: { ...draining, on: { ...draining.on, 'api.ping': { target: 'open' } } },
    });
    expect(machineMarkdown(changed)).not.toBe(committed);
    expect(mermaidDiagram(changed)).toContain('draining : api.ping → open');
  }, 5000);
});

const arrowKey = (a: { from: string; to: string }) => `${a.from}->${a.to}`;
