/**
 * The machines drawn from their own definitions: a Mermaid stateDiagram-v2, the tables of states,
 * deadlines and transitions, and the JSON definition for Stately's tools. Used by `npm run docs`
 * (scripts/generate-docs.ts), scripts/render-diagram.ts and the CLI's `diagram` command;
 * test/docs/diagram.test.ts keeps the committed docs equal to it.
 *
 * How the diagram is laid out (nothing is typed in; every rule reads the machine):
 * - the **main line** joins the top-level states in the order the machine defines them (or the order
 *   its {@link DiagramMachine.mainLine} gives); each of its arrows carries the transitions between the
 *   two that are no deadline and not shared (or, when all of them are, the first one, so the line never
 *   breaks); a top-level state off the main line hangs from it by arrows;
 * - a **compound state** is drawn as a composite with its sub-states and the transitions among them;
 *   when every transition into it picks the sub-state by the same guards, the pick is drawn once, as a
 *   choice (◇) inside it, and those transitions point at the composite;
 * - a transition that stays in its state (no target, or its own state) is a loop on that state;
 * - a transition **shared** by at least {@link SHARED_MIN_SOURCES} states (the same event to the same
 *   target), or the machine's own, is written once, in its target's box:
 *   `api.terminate from every other state`;
 * - every other transition is written in its source state's box (under a composite's name),
 *   `event [guard] → target`, so the main line stays straight and no labels pile up on the final state.
 *
 * scripts/render-diagram.ts renders the result in Chromium and measures it (labels apart, main line
 * straight, page width); test/docs/render.test.ts keeps it so.
 */
import { type AnyStateMachine, createActor } from 'xstate';
import { type DirectedGraphNode, toDirectedGraph } from 'xstate/graph';
import { connectionMachine } from '../machines/connection-machine.js';
import { supervisorMachine } from '../machines/supervisor-machine.js';

/** One transition of a machine, as the docs show it. */
export interface DocEdge {
  /** Source state path, e.g. `open.quiet`; `''` for a transition of the machine itself (any state). */
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
  /** The transition leaves and re-enters its target (`reenter: true`), restarting its deadlines. */
  reenter: boolean;
}

/** One state of a machine. */
export interface DocState {
  /** Path from the root, e.g. `open.quiet`. */
  path: string;
  /** The state's own key, e.g. `quiet`. */
  key: string;
  /** Path of the parent state, or `null` for a top-level state. */
  parent: string | null;
  /** `atomic`, `compound`, `parallel`, `final` or `history`. */
  type: string;
  /** Key of the initial sub-state of a compound state, else `null`. */
  initial: string | null;
  /** Entry actions, named as in {@link DocEdge.actions}. */
  entry: string[];
  /** The actors it invokes while in it (their `src`). */
  invokes: string[];
}

/** A machine the docs draw, and where its page goes. */
export interface DiagramMachine {
  /** Short name (`--machine` of scripts/render-diagram.ts). */
  name: string;
  /** The machine itself. */
  machine: AnyStateMachine;
  /** Page title. */
  title: string;
  /** The file that defines the machine, for the page's header. */
  source: string;
  /** The Markdown page, from the repository root. */
  page: string;
  /** The JSON definition for Stately's editor, from the repository root, if the docs carry one. */
  json?: string;
  /** A rendered PNG of the diagram beside the page (scripts/render-diagram.ts), if one is committed. */
  image?: string;
  /** Prose for the page, after the header: what the machine is and where its rationale lives. */
  intro: string[];
  /**
   * The main line, top-level states in order, when it is not the order the machine defines them in
   * (a machine whose states loop). test/docs/diagram.test.ts checks that each step is a transition.
   * @default every top-level state, in definition order
   */
  mainLine?: string[];
}

/** The machines the docs draw, each with its page. */
export function diagramMachines(): DiagramMachine[] {
  return [
    {
      name: 'connection',
      machine: connectionMachine,
      title: 'The lifecycle machine',
      source: 'machines/connection-machine.ts',
      page: 'docs/machine.md',
      json: 'docs/machine.json',
      image: 'machine.png',
      intro: [
        'Events are named by origin: `api.*` from the caller, `ws.*` from the WebSocket (whatever',
        'transport drives it), `after <deadline>` from a timer (the event `xstate.after.<deadline>.<state id>`).',
        'The machine drives its socket by commands out, the `transport.*` actions; `transport.close()` with',
        "no code echoes the peer's Close. Why each transition exists, with its RFC 6455 section, is in",
        "[lifecycle.md](lifecycle.md); the definition as JSON for Stately's tools is [machine.json](machine.json).",
      ],
    },
    {
      name: 'supervisor',
      machine: supervisorMachine,
      title: 'The supervisor machine',
      source: 'machines/supervisor-machine.ts',
      page: 'docs/supervisor.md',
      mainLine: ['idle', 'connecting', 'open', 'closing', 'closed'],
      intro: [
        'A managed connection: one connection actor per attempt (child `attempt`), reconnecting with',
        'jittered backoff. Events are named by origin: `api.*` from the caller, `xstate.snapshot.attempt`,',
        '`xstate.done.actor.*` and `xstate.error.actor.*` from the actors it runs, `after <deadline>` from a',
        'timer. The connection each attempt runs is drawn in [machine.md](machine.md).',
      ],
    },
  ];
}

// ---------------------------------------------------------------------------------------------------
// Reading the machine.

interface TransitionLike {
  eventType: string;
  target?: ReadonlyArray<{ path: string[] }>;
  guard?: unknown;
  delay?: unknown;
  reenter?: boolean;
  actions?: readonly unknown[];
}

/** Every transition, from `toDirectedGraph`, in definition order (a state's own, then its children's). */
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
        reenter: t.reenter === true,
      });
    }
    for (const child of node.children) visit(child);
  };
  visit(toDirectedGraph(machine));
  return edges;
}

/** Every state, depth first, in definition order. */
export function machineStates(machine: AnyStateMachine = connectionMachine): DocState[] {
  const states: DocState[] = [];
  const visit = (nodes: AnyStateMachine['root']['states'], parent: string | null) => {
    for (const node of Object.values(nodes)) {
      const path = node.path.join('.');
      const initial = node.type === 'compound' ? (node.config.initial as string | undefined) : undefined;
      states.push({
        path,
        key: node.key,
        parent,
        type: node.type,
        initial: initial ?? null,
        // Arming a deadline is xstate's own raise of `xstate.after.*`: shown as the deadline, not as an action.
        entry: node.entry.map(actionName).filter((name) => !name.startsWith('xstate.raise(xstate.after.')),
        invokes: node.invoke.map((invoke) => (typeof invoke.src === 'string' ? invoke.src : invoke.id)),
      });
      visit(node.states, path);
    }
  };
  visit(machine.root.states, null);
  return states;
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
  if (typeof action === 'function') {
    const { type, id } = action as { type?: string; id?: unknown };
    // xstate's built-ins (spawnChild, sendTo, stopChild, …) carry `xstate.<name>` as their type.
    const name = type ?? (action.name || 'inline action');
    return typeof id === 'string' ? `${name}(${id})` : name;
  }
  const { type, params } = action as { type?: unknown; params?: unknown };
  const name = typeof type === 'string' ? type : 'inline action';
  if (typeof params === 'function') return `${name}(from the event)`;
  if (params === undefined || typeof params !== 'object' || params === null) return name;
  const args = Object.entries(params).map(([key, value]) => `${key}: ${String(value)}`);
  return `${name}(${args.join(', ')})`;
}

/** An action the machine issues to its transport (`transport.*`): a command out. */
const isCommand = (action: string) => action.startsWith('transport.');

/**
 * The states a transition enters, outermost first (their entry actions run after the transition's):
 * none for one that stays; the target itself when it re-enters; down to the initial sub-states.
 */
export function enteredStates(edge: DocEdge, states: readonly DocState[]): string[] {
  if (edge.stays) return [];
  const from = edge.from === '' ? [] : edge.from.split('.');
  const to = edge.to.split('.');
  let common = 0;
  while (common < from.length && common < to.length && from[common] === to[common]) common++;
  const targetIsAncestorOrSelf = common === to.length;
  const targetIsDescendant = common === from.length && to.length > from.length;
  let depth = common; // `to` keeps this many leading states without re-entering them
  if (targetIsAncestorOrSelf) depth = edge.reenter ? to.length - 1 : to.length;
  else if (!targetIsDescendant && common === from.length) depth = from.length;
  const entered: string[] = [];
  for (let i = depth + 1; i <= to.length; i++) entered.push(to.slice(0, i).join('.'));
  if (entered.length === 0) return entered;
  const byPath = new Map(states.map((s) => [s.path, s]));
  for (let state = byPath.get(edge.to); state?.initial; ) {
    const path = `${state.path}.${state.initial}`;
    entered.push(path);
    state = byPath.get(path);
  }
  return entered;
}

/** A deadline: the named delay, its value for the default input, and the context field it reads. */
export interface DocDeadline {
  /** The delay's name in `setup({ delays })`. */
  name: string;
  /** Milliseconds for the default input; `null` when it cannot be computed without one. */
  defaultMs: number | null;
  /** The context field the delay reads, found by probing (e.g. `timeouts.connect`), or `null`. */
  reads: string | null;
  /** The states that arm it on entry. */
  armedIn: string[];
}

/**
 * Each named delay, evaluated against the machine's own context: the default by calling it on the
 * context the default input gives, and the field it reads by calling it on a copy of that context
 * whose numbers are all distinct.
 */
export function machineDeadlines(machine: AnyStateMachine = connectionMachine): DocDeadline[] {
  const delays = machine.implementations.delays as Record<string, unknown>;
  let context: Record<string, unknown> | null = null;
  try {
    context = createActor(machine, { input: {} }).getSnapshot().context as Record<string, unknown>;
  } catch {
    context = null;
  }
  const probe = context ? probeContext(context) : null;
  const edges = machineEdges(machine);
  return Object.entries(delays).map(([name, delay]) => {
    const armedIn = [...new Set(edges.filter((e) => e.trigger === `after ${name}`).map((e) => e.from))];
    const evaluate = (ctx: unknown): number | null => {
      if (typeof delay === 'number') return delay;
      if (typeof delay !== 'function') return null;
      try {
        const value = delay({ context: ctx, event: { type: 'xstate.init' } });
        return typeof value === 'number' ? value : null;
      } catch {
        return null;
      }
    };
    const defaultMs = context ? evaluate(context) : null;
    const probed = probe ? evaluate(probe.context) : null;
    const reads = probed === null ? null : (probe?.paths.get(probed) ?? null);
    return { name, defaultMs, reads, armedIn };
  });
}

function probeContext(context: Record<string, unknown>) {
  const paths = new Map<number, string>();
  let next = 1_000_003;
  const copy = (value: unknown, path: string, depth: number): unknown => {
    if (typeof value === 'number') {
      const sentinel = next++;
      paths.set(sentinel, path);
      return sentinel;
    }
    if (depth > 4 || value === null || typeof value !== 'object' || Array.isArray(value)) return value;
    return Object.fromEntries(
      Object.entries(value).map(([key, v]) => [key, copy(v, path ? `${path}.${key}` : key, depth + 1)]),
    );
  };
  return { context: copy(context, '', 0), paths };
}

// ---------------------------------------------------------------------------------------------------
// Laying out the diagram.

/** An event the same target is reached by from at least this many states is written once. */
export const SHARED_MIN_SOURCES = 3;

/** A Mermaid id for a state path (Mermaid ids take no `-` or `.`); `root` for the machine itself. */
export const mermaidId = (path: string) => (path === '' ? 'root' : path.replace(/[^A-Za-z0-9_]/g, '_'));
/** The Mermaid id of the choice drawn inside a compound state. */
export const choiceId = (path: string) => `${mermaidId(path)}__choice`;

/** `event [guard]`, as the diagram labels a transition. */
export const edgeLabel = (edge: DocEdge) => (edge.guard ? `${edge.trigger} [${edge.guard}]` : edge.trigger);

/** An arrow of the diagram: into a composite when its sub-state is picked by the choice. */
export interface DiagramArrow {
  /** The transitions it stands for (those between the same two states). */
  edges: DocEdge[];
  /** Source state path. */
  from: string;
  /** Target state path (the composite, for a transition whose sub-state the ◇ picks). */
  to: string;
  /** Label lines, joined by `<br/>`. */
  label: string;
}

/** Where each transition is drawn. */
export interface DiagramPlan {
  /** Top-level states of the main line, in order. */
  spine: string[];
  /** Compound states whose incoming transitions pick the sub-state by one shared choice: their branches. */
  choices: Map<string, DocEdge[]>;
  /** Arrows: main line, inside composites, loops, and transitions from composites. */
  arrows: DiagramArrow[];
  /** Lines written in a state's box, by state path. */
  lines: Map<string, string[]>;
  /** Shared transitions, written once in their target's box. */
  shared: Array<{ to: string; eventType: string; edges: DocEdge[] }>;
}

const parentOf = (path: string) => (path.includes('.') ? path.slice(0, path.lastIndexOf('.')) : '');
const topOf = (path: string) => path.split('.')[0] ?? '';
const isInside = (path: string, ancestor: string) => path === ancestor || path.startsWith(`${ancestor}.`);

/** Decides where every transition of the machine goes (see the file's header). */
export function planDiagram(machine: AnyStateMachine = connectionMachine): DiagramPlan {
  const states = machineStates(machine);
  const edges = machineEdges(machine);
  const spine = entryFor(machine).mainLine ?? states.filter((s) => s.parent === null).map((s) => s.path);
  const byPath = new Map(states.map((s) => [s.path, s]));

  // A choice inside a compound state: every transition into it from outside picks the same sub-states
  // by the same guards, in the same order.
  const choices = new Map<string, DocEdge[]>();
  for (const state of states.filter((s) => s.type === 'compound')) {
    const incoming = edges.filter(
      (e) => !e.stays && !isInside(e.from, state.path) && isInside(e.to, state.path) && e.from !== '',
    );
    if (incoming.length === 0 || incoming.some((e) => e.to === state.path)) continue;
    const groups = groupBy(incoming, (e) => `${e.from}\n${e.eventType}`);
    const signature = (group: DocEdge[]) => group.map((e) => `${e.guard}→${e.to}`).join('|');
    const first = [...groups.values()][0] ?? [];
    if (first.length < 2 || [...groups.values()].some((g) => signature(g) !== signature(first))) continue;
    choices.set(state.path, first);
  }
  const shownTarget = (edge: DocEdge) => {
    for (const [path] of choices) {
      if (!isInside(edge.from, path) && isInside(edge.to, path) && edge.from !== '') return path;
    }
    return edge.to;
  };

  const isLoop = (e: DocEdge) => e.stays || e.from === e.to;
  const isDeadline = (e: DocEdge) => e.trigger.startsWith('after ');

  // Shared: the same event to the same target from enough states (a machine-level transition counts).
  const sharedKey = (e: DocEdge) => `${e.eventType}\n${shownTarget(e)}`;
  const candidates = groupBy(
    edges.filter((e) => !isLoop(e)),
    sharedKey,
  );
  const shared = new Set<DocEdge>();
  for (const group of candidates.values()) {
    const sources = new Set(group.map((e) => e.from));
    if (sources.size >= SHARED_MIN_SOURCES || sources.has('')) for (const e of group) shared.add(e);
  }

  // The main line: consecutive top-level states; never broken by sharing.
  const spineEdges = new Set<DocEdge>();
  for (let i = 0; i + 1 < spine.length; i++) {
    const a = spine[i] as string;
    const b = spine[i + 1] as string;
    const between = edges.filter(
      (e) => e.from !== '' && !isLoop(e) && !isDeadline(e) && topOf(e.from) === a && topOf(e.to) === b,
    );
    const own = between.filter((e) => !shared.has(e));
    for (const e of own.length > 0 ? own : between.slice(0, 1)) {
      spineEdges.add(e);
      shared.delete(e);
    }
  }

  const arrows: DiagramArrow[] = [];
  const lines = new Map<string, string[]>();
  const addArrow = (edge: DocEdge, from: string, to: string, label: string) => {
    // Transitions between the same two states share an arrow (main-line ones one of their own).
    const same = arrows.find(
      (a) =>
        a.from === from && a.to === to && a.edges.every((e) => spineEdges.has(e) === spineEdges.has(edge)),
    );
    if (same) {
      if (!same.label.split('<br/>').includes(label)) same.label += `<br/>${label}`;
      same.edges.push(edge);
    } else arrows.push({ edges: [edge], from, to, label });
  };
  const addLine = (path: string, line: string) => {
    const list = lines.get(path) ?? [];
    if (!list.includes(line)) list.push(line);
    lines.set(path, list);
  };
  // A composite holds its lines under its name; only the machine itself has no box.
  const canHoldLines = (path: string) => byPath.has(path);

  for (const edge of edges) {
    if (shared.has(edge)) continue;
    const target = shownTarget(edge);
    if (isLoop(edge)) {
      addArrow(edge, edge.from, edge.from, `${edgeLabel(edge)} ${edge.reenter ? '(re-enters)' : '(stays)'}`);
    } else if (spineEdges.has(edge)) {
      addArrow(edge, edge.from, target, target === edge.to ? edgeLabel(edge) : edge.trigger);
    } else if (parentOf(edge.from) !== '' && isInside(target, parentOf(edge.from)) && edge.from !== '') {
      addArrow(edge, edge.from, target, edgeLabel(edge)); // among the sub-states of one composite
    } else if (
      edge.from !== '' &&
      topOf(edge.from) !== topOf(target) &&
      (!spine.includes(topOf(edge.from)) || !spine.includes(topOf(target)))
    ) {
      // A state off the main line hangs from it by arrows (a loop back, a side branch).
      addArrow(edge, edge.from, target, target === edge.to ? edgeLabel(edge) : edge.trigger);
    } else if (target !== edge.to && choices.has(target) && canHoldLines(edge.from)) {
      addLine(edge.from, `${edge.trigger} → ${target}`);
    } else if (canHoldLines(edge.from)) {
      addLine(edge.from, `${edgeLabel(edge)} → ${target}`);
    } else {
      addArrow(edge, edge.from, target, target === edge.to ? edgeLabel(edge) : edge.trigger);
    }
  }
  const sharedGroups = [...groupBy([...shared], sharedKey).values()].map((group) => ({
    to: shownTarget(group[0] as DocEdge),
    eventType: (group[0] as DocEdge).eventType,
    edges: group,
  }));
  return { spine, choices, arrows, lines, shared: sharedGroups };
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const group = groups.get(k);
    if (group) group.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}

/** The line a shared transition gets in its target's box: `event from a, b [guard] [else], c`. */
function sharedLine(group: DiagramPlan['shared'][number], spine: readonly string[], target: string) {
  const trigger = (group.edges[0] as DocEdge).trigger;
  const bySource = groupBy(group.edges, (e) => e.from);
  const others = spine.filter((s) => s !== topOf(target));
  const sources = [...bySource.keys()];
  const unguarded = [...bySource.values()].every((list) => list.every((e) => !e.guard));
  if (bySource.has('')) return `${trigger} from any state (the machine's own)`;
  if (unguarded && others.every((s) => sources.includes(s)) && sources.length === others.length) {
    return `${trigger} from every other state`;
  }
  const parts = [...bySource.entries()].map(([from, list]) => {
    const guards = list.filter((e) => e.guard).map((e) => ` [${e.guard}]`);
    return `${from}${guards.join('')}`;
  });
  return `${trigger} from ${parts.join(', ')}`;
}

/** The Mermaid `stateDiagram-v2` source (see the file's header for the layout). */
export function mermaidDiagram(machine: AnyStateMachine = connectionMachine): string {
  const states = machineStates(machine);
  const plan = planDiagram(machine);
  const ids = new Map<string, string>();
  for (const state of states) {
    const id = mermaidId(state.path);
    const clash = [...ids.entries()].find(([, other]) => other === id);
    if (clash) throw new Error(`states ${clash[0]} and ${state.path} get the same Mermaid id ${id}`);
    ids.set(state.path, id);
  }
  const arrow = (from: string, to: string, label: string) =>
    `${mermaidId(from)} --> ${mermaidId(to)}${label ? ` : ${label}` : ''}`;
  const sharedLines = new Map<string, string[]>();
  for (const group of plan.shared) {
    const list = sharedLines.get(group.to) ?? [];
    list.push(sharedLine(group, plan.spine, group.to));
    sharedLines.set(group.to, list);
  }
  const drawn = new Set<(typeof plan.arrows)[number]>();
  const out = ['stateDiagram-v2'];

  const block = (parent: string | null, indent: string) => {
    for (const state of states.filter((s) => s.parent === parent)) {
      const id = mermaidId(state.path);
      if (state.type !== 'compound' && state.type !== 'parallel') {
        out.push(`${indent}state "${state.key}" as ${id}`);
        for (const line of [...(plan.lines.get(state.path) ?? []), ...(sharedLines.get(state.path) ?? [])]) {
          out.push(`${indent}${id} : ${line}`);
        }
        continue;
      }
      const title = [
        state.key,
        ...(plan.lines.get(state.path) ?? []),
        ...(sharedLines.get(state.path) ?? []),
      ];
      out.push(`${indent}state "${title.join('<br/>')}" as ${id} {`);
      block(state.path, `${indent}  `);
      const inner = `${indent}  `;
      const branches = plan.choices.get(state.path);
      if (branches) {
        out.push(`${inner}state ${choiceId(state.path)} <<choice>>`);
        out.push(`${inner}[*] --> ${choiceId(state.path)}`);
        for (const branch of branches) {
          out.push(
            `${inner}${choiceId(state.path)} --> ${mermaidId(branch.to)} : [${branch.guard || 'always'}]`,
          );
        }
      } else if (state.initial) {
        out.push(`${inner}[*] --> ${mermaidId(`${state.path}.${state.initial}`)}`);
      }
      for (const a of plan.arrows) {
        if (drawn.has(a) || a.from === state.path) continue;
        if (parentOf(a.from) === state.path && isInside(a.to, state.path) && a.to !== state.path) {
          out.push(`${inner}${arrow(a.from, a.to, a.label)}`);
          drawn.add(a);
        }
      }
      out.push(`${indent}}`);
    }
  };
  block(null, '  ');

  const initial = String(machine.root.config.initial ?? plan.spine[0]);
  out.push(`  [*] --> ${mermaidId(initial)}`);
  // The main line first, in order, then loops and the rest.
  const rest = plan.arrows.filter((a) => !drawn.has(a));
  const onSpine = (a: (typeof rest)[number]) =>
    plan.spine.includes(topOf(a.to)) && topOf(a.from) !== topOf(a.to);
  const first = plan.spine.flatMap((s) => rest.filter((a) => onSpine(a) && topOf(a.from) === s));
  const ordered = [...first, ...rest.filter((a) => !first.includes(a))];
  for (const a of ordered) out.push(`  ${arrow(a.from, a.to, a.label)}`);
  for (const state of states) {
    if (state.parent === null && state.type === 'final') out.push(`  ${mermaidId(state.path)} --> [*]`);
  }
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------------
// The page.

const cell = (text: string) => (text === '' ? '' : `\`${text.replace(/\|/g, '\\|')}\``);

/** A Markdown table with columns padded to equal width, as Biome formats it. */
function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((title, i) =>
    Math.max(title.length, 3, ...rows.map((row) => (row[i] ?? '').length)),
  );
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}

/** The docs entry of a machine, by its id (so a changed copy of a machine gets the same page). */
function entryFor(machine: AnyStateMachine): DiagramMachine {
  return (
    diagramMachines().find((m) => m.machine.id === machine.id) ?? {
      name: machine.id,
      machine,
      title: `The ${machine.id} machine`,
      source: 'its definition',
      page: `docs/${machine.id}.md`,
      intro: [],
    }
  );
}

/** The full Markdown page of a machine (docs/machine.md for the connection machine). */
export function machineMarkdown(machine: AnyStateMachine = connectionMachine): string {
  const entry = entryFor(machine);
  const edges = machineEdges(machine);
  const states = machineStates(machine);
  const top = states.filter((s) => s.parent === null);
  const deadlines = machineDeadlines(machine);
  const commandsOf = (edge: DocEdge) => {
    const entered = enteredStates(edge, states).flatMap((path) =>
      (states.find((s) => s.path === path)?.entry ?? []).filter(isCommand),
    );
    return [...edge.actions.filter(isCommand), ...entered];
  };
  const anyCommands = edges.some((e) => commandsOf(e).length > 0);
  const out = [
    `# ${entry.title}`,
    '',
    `<!-- Generated by \`npm run docs\` (scripts/generate-docs.ts) from ${entry.source}.`,
    `     Do not edit: test/docs/diagram.test.ts fails when this file and the machine differ. -->`,
    '',
    `\`${machine.id}\`: ${top.length} top-level states (${states.length} in all), ${edges.length} transitions.`,
    ...entry.intro,
    '',
    '```mermaid',
    mermaidDiagram(machine),
    '```',
    '',
    ...(entry.image ? [`The same diagram, rendered: [${entry.image}](${entry.image}).`, ''] : []),
    ...readingGuide(machine, entry),
    '',
    '## States',
    '',
    ...table(
      ['State', 'Kind', 'Deadlines armed on entry', 'On entry'],
      states.map((s) => {
        const armed = deadlines.filter((d) => d.armedIn.includes(s.path)).map((d) => cell(d.name));
        const entry = [...s.entry.map(cell), ...s.invokes.map((src) => `invokes ${cell(src)}`)];
        return [cell(s.path), s.type, armed.join(', '), entry.join(', ')];
      }),
    ),
    '',
    '## Deadlines',
    '',
    'The named delays, with their value for the default input and the context field each reads (found',
    'by evaluating the delay on the machine’s own context).',
    '',
    ...table(
      ['Deadline', 'Default', 'Reads', 'Armed in'],
      deadlines.map((d) => [
        cell(d.name),
        d.defaultMs === null ? '' : `${d.defaultMs} ms`,
        d.reads === null ? '' : cell(d.reads),
        d.armedIn.map(cell).join(', '),
      ]),
    ),
    '',
    '## Transitions',
    '',
    'In the order the machine tries them: for one event, the first branch whose guard holds is taken.',
    ...(anyCommands
      ? [
          "Commands are the `transport.*` actions the step issues, in order: the transition's own, then the",
          'entry actions of the states it enters.',
        ]
      : []),
    '',
    ...table(
      anyCommands
        ? ['From', 'Event', 'Guard', 'To', 'Commands', 'Other actions']
        : ['From', 'Event', 'Guard', 'To', 'Actions'],
      edges.map((edge) => {
        const row = [
          edge.from === '' ? '(any)' : cell(edge.from),
          cell(edge.trigger),
          cell(edge.guard),
          edge.stays ? '(stays)' : cell(edge.to) + (edge.reenter ? ' (re-enters)' : ''),
        ];
        if (!anyCommands) return [...row, edge.actions.map(cell).join(', ')];
        return [
          ...row,
          commandsOf(edge).map(cell).join(', '),
          edge.actions
            .filter((a) => !isCommand(a))
            .map(cell)
            .join(', '),
        ];
      }),
    ),
    '',
  ];
  return out.join('\n');
}

/** The page's "how to read it" paragraph, naming this machine's main line. */
function readingGuide(machine: AnyStateMachine, entry: DiagramMachine): string[] {
  const { spine } = planDiagram(machine);
  const off = Object.keys(machine.root.states).filter((s) => !spine.includes(s));
  const text = [
    `How to read it: the main line is ${spine.map((s) => `\`${s}\``).join(' → ')}`,
    entry.mainLine ? '.' : ', the top-level states in the order the machine defines them.',
    off.length === 0
      ? ''
      : ` ${off.map((s) => `\`${s}\``).join(', ')} ${off.length === 1 ? 'hangs' : 'hang'} off it by arrows.`,
    ' A transition that stays in its state is a loop. A transition shared by several states (the same',
    ` event to the same target from ${SHARED_MIN_SOURCES} or more) is written once, in its target's box. Every`,
    " other transition is written in its source state's box as `event [guard] → target`.",
    ...(planDiagram(machine).choices.size > 0
      ? [' A ◇ inside a composite is the guard that picks the sub-state for every transition into it.']
      : []),
    ' `[else]` is the fallback after the guarded branches of the same event. Every transition is listed',
    ' below.',
  ].join('');
  return wrap(text, 104);
}

/** Words into lines of at most `width` characters. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

/**
 * docs/machine.json: the machine's config as JSON, the same definition the Stately inspector receives
 * (named actions, guards and delays stay; functions such as the context factory are left out).
 */
export function machineJson(machine: AnyStateMachine = connectionMachine): string {
  return `${JSON.stringify(machine.config, null, 2)}\n`;
}

/** The generated files, by path from the repository root: every machine's page (and JSON). */
export function generatedDocs(): Record<string, string> {
  const files: Record<string, string> = {};
  for (const entry of diagramMachines()) {
    files[entry.page] = machineMarkdown(entry.machine);
    if (entry.json) files[entry.json] = machineJson(entry.machine);
  }
  return files;
}
