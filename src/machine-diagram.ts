/**
 * The machine drawn from its own definition: a Mermaid stateDiagram-v2, the transition table and the
 * JSON definition for Stately's tools. Used by `npm run docs` (scripts/generate-docs.ts) and the CLI's
 * `diagram` command; test/docs/diagram.test.ts keeps the committed docs equal to it.
 */
import type { AnyStateMachine } from 'xstate';
import { type DirectedGraphNode, toDirectedGraph } from 'xstate/graph';
import { connectionMachine } from '../machines/connection-machine.js';
import { DEFAULT_TIMEOUTS } from '../machines/types.js';

/** One transition of the machine, as the docs show it. */
export interface DocEdge {
  /** Source state path, e.g. `closing-sent`. */
  from: string;
  /** Target state path; the source itself for a transition that stays (no exit, no entry). */
  to: string;
  /** The event type as the machine receives it (`xstate.after.<delay>.<state id>` for a deadline). */
  eventType: string;
  /** What the diagram shows: the event, or `after <deadline>`. */
  trigger: string;
  /** Guard name, `else` for the fallback after guarded branches of the same event, or `''`. */
  guard: string;
  /** Named actions with their params, in order. */
  actions: string[];
  /** The transition has no target: the state does not change. */
  stays: boolean;
}

interface TransitionLike {
  eventType: string;
  target?: ReadonlyArray<{ path: string[] }>;
  guard?: unknown;
  delay?: unknown;
  actions?: readonly unknown[];
}

/** Every transition, from `toDirectedGraph`, in definition order. */
export function machineEdges(machine: AnyStateMachine = connectionMachine): DocEdge[] {
  const edges: DocEdge[] = [];
  const visit = (node: DirectedGraphNode) => {
    const guarded = new Set<string>();
    for (const edge of node.edges) {
      const t = edge.transition as unknown as TransitionLike;
      const from = edge.source.path.join('.');
      const stays = !t.target || t.target.length === 0;
      const guard = guardName(t.guard);
      if (guard) guarded.add(t.eventType);
      edges.push({
        from,
        to: stays ? from : edge.target.path.join('.'),
        eventType: t.eventType,
        trigger: t.delay === undefined ? t.eventType : deadlineLabel(t.delay),
        guard: guard || (guarded.has(t.eventType) ? 'else' : ''),
        actions: (t.actions ?? []).map(actionName),
        stays,
      });
    }
    for (const child of node.children) visit(child);
  };
  visit(toDirectedGraph(machine));
  return edges;
}

function deadlineLabel(delay: unknown): string {
  return typeof delay === 'number' ? `after ${delay} ms` : `after ${String(delay)}`;
}

function guardName(guard: unknown): string {
  if (guard === undefined || guard === null) return '';
  if (typeof guard === 'string') return guard;
  if (typeof guard === 'function') return guard.name || 'inline guard';
  const type = (guard as { type?: unknown }).type;
  return typeof type === 'string' ? type : 'inline guard';
}

function actionName(action: unknown): string {
  if (typeof action === 'string') return action;
  if (typeof action === 'function')
    return (action as { type?: string }).type ?? (action.name || 'inline action');
  const { type, params } = action as { type?: unknown; params?: unknown };
  const name = typeof type === 'string' ? type : 'inline action';
  if (params === undefined || typeof params !== 'object' || params === null) return name;
  const args = Object.entries(params).map(([key, value]) => `${key}: ${String(value)}`);
  return `${name}(${args.join(', ')})`;
}

/** A Mermaid id for a state path (Mermaid ids take no `-` or `.`). */
const mermaidId = (path: string) => path.replace(/[^A-Za-z0-9_]/g, '_');

/** The Mermaid `stateDiagram-v2` source: every state, every edge labelled by its trigger and guard. */
export function mermaidDiagram(machine: AnyStateMachine = connectionMachine): string {
  const lines = ['stateDiagram-v2'];
  const states = Object.keys(machine.root.states);
  for (const state of states) {
    if (mermaidId(state) !== state) lines.push(`  state "${state}" as ${mermaidId(state)}`);
  }
  lines.push(`  [*] --> ${mermaidId(String(machine.root.config.initial))}`);
  for (const edge of machineEdges(machine)) {
    const guard = edge.guard ? ` [${edge.guard}]` : '';
    const stays = edge.stays ? ' (stays)' : '';
    lines.push(`  ${mermaidId(edge.from)} --> ${mermaidId(edge.to)} : ${edge.trigger}${guard}${stays}`);
  }
  for (const state of states) {
    if (machine.root.states[state]?.type === 'final') lines.push(`  ${mermaidId(state)} --> [*]`);
  }
  return lines.join('\n');
}

const cell = (text: string) => (text === '' ? '' : `\`${text.replace(/\|/g, '\\|')}\``);

/** A Markdown table with columns padded to equal width, as Biome formats it. */
function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((title, i) =>
    Math.max(title.length, 3, ...rows.map((row) => (row[i] ?? '').length)),
  );
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}

/** The full docs/machine.md. */
export function machineMarkdown(machine: AnyStateMachine = connectionMachine): string {
  const edges = machineEdges(machine);
  const states = Object.entries(machine.root.states);
  const deadlines = edges.filter((edge) => edge.trigger.startsWith('after '));
  const out = [
    '# The lifecycle machine',
    '',
    '<!-- Generated by `npm run docs` (scripts/generate-docs.ts) from machines/connection-machine.ts.',
    '     Do not edit: test/docs/diagram.test.ts fails when this file and the machine differ. -->',
    '',
    `\`${machine.id}\`: ${states.length} states, ${edges.length} transitions. Events are named by origin:`,
    '`api.*` from the caller, `ws.*` from the socket actor, `after <deadline>` from a timer',
    `(the event \`xstate.after.<deadline>.<state id>\`). Why each transition exists, with its RFC 6455`,
    "section, is in [lifecycle.md](lifecycle.md); the definition as JSON for Stately's tools is",
    '[machine.json](machine.json).',
    '',
    '```mermaid',
    mermaidDiagram(machine),
    '```',
    '',
    '## States',
    '',
    ...table(
      ['State', 'Kind', 'Deadline armed on entry'],
      states.map(([key, node]) => {
        const armed = deadlines.filter((edge) => edge.from === key).map((edge) => edge.trigger.slice(6));
        return [cell(key), node.type, [...new Set(armed)].map(cell).join(', ')];
      }),
    ),
    '',
    '## Deadlines',
    '',
    ...table(
      ['Deadline', 'Default', 'Option'],
      Object.keys(machine.implementations.delays).map((name) => {
        const ms = (DEFAULT_TIMEOUTS as Record<string, number | undefined>)[name];
        return [cell(name), ms === undefined ? '' : `${ms} ms`, cell(`timeouts.${name}`)];
      }),
    ),
    '',
    '## Transitions',
    '',
    'In the order the machine tries them: for one event, the first branch whose guard holds is taken.',
    '',
    ...table(
      ['From', 'Event', 'Guard', 'To', 'Actions'],
      edges.map((edge) => [
        cell(edge.from),
        cell(edge.trigger),
        cell(edge.guard),
        edge.stays ? '(stays)' : cell(edge.to),
        edge.actions.map(cell).join(', '),
      ]),
    ),
    '',
  ];
  return out.join('\n');
}

/**
 * docs/machine.json: the machine's config as JSON, the same definition the Stately inspector receives
 * (named actions, guards and delays stay; functions such as the context factory are left out).
 */
export function machineJson(machine: AnyStateMachine = connectionMachine): string {
  return `${JSON.stringify(machine.config, null, 2)}\n`;
}

/** The generated files, by path from the repository root. */
export function generatedDocs(machine: AnyStateMachine = connectionMachine): Record<string, string> {
  return { 'docs/machine.md': machineMarkdown(machine), 'docs/machine.json': machineJson(machine) };
}
