/**
 * Paths through the supervisor, generated from its graph with xstate/graph: together they take every
 * edge a real socket can cause. The traversal runs on the pure machine; an attempt that ends does so
 * with a retried outcome (a 1012) or a final one (a 1008), and `maxAttempts` is 2 so that giving up is
 * reachable.
 */
import type { AnyMachineSnapshot, SnapshotFrom } from 'xstate';
import { getShortestPaths, type StatePath } from 'xstate/graph';
import type { SupervisorMachine } from '../../../machines/supervisor-machine.js';
import type { SupervisorEvent } from '../../../machines/supervisor-types.js';
import { edgeKey } from '../../machines/edges.js';

export type Snapshot = SnapshotFrom<SupervisorMachine>;
export type Path = StatePath<Snapshot, SupervisorEvent>;

export const RETRIED_CODE = 1012;
export const FINAL_CODE = 1008;

const ended = (code: number): SupervisorEvent => ({
  type: 'xstate.done.actor.attempt',
  output: { code, reason: 'model', wasClean: true, initiator: 'remote' },
});

const EVENTS: SupervisorEvent[] = [
  { type: 'api.open' },
  { type: 'api.close', code: 1000, reason: 'model' },
  { type: 'api.reconnect' },
  { type: 'xstate.snapshot.attempt', snapshot: { value: 'open', status: 'active' } },
  ended(RETRIED_CODE),
  ended(FINAL_CODE),
  { type: 'xstate.done.actor.onOpen', output: undefined },
  { type: 'xstate.error.actor.onOpen', error: new Error('model') },
];

/** `xstate.after.<delay>.<state id>` for every delayed transition, sub-states included, read from the machine. */
export function delayedEvents(machine: SupervisorMachine): SupervisorEvent[] {
  const out: SupervisorEvent[] = [];
  const visit = (node: SupervisorMachine['root']) => {
    for (const transition of node.after)
      out.push({ type: transition.eventType } as unknown as SupervisorEvent);
    for (const child of Object.values(node.states)) visit(child as SupervisorMachine['root']);
  };
  visit(machine.root);
  return out;
}

export const subState = (value: unknown): string => {
  if (typeof value === 'string') return value;
  const [top, inner] = Object.entries(value as Record<string, unknown>)[0] ?? ['', ''];
  return typeof inner === 'string' ? `${top}.${inner}` : top;
};

/** What a real socket can do here: an attempt we closed ourselves ends with a retried outcome. */
function possible(machine: SupervisorMachine) {
  return (snapshot: Snapshot, event: SupervisorEvent): boolean => {
    if (machine.getTransitionData(snapshot, event).length === 0) return false;
    if (event.type === 'xstate.done.actor.attempt' && event.output.code === FINAL_CODE) {
      const where = subState(snapshot.value);
      return where === 'connecting.handshake' || where === 'connecting.preparing' || where.startsWith('open');
    }
    return true;
  };
}

export const MODEL_MAX_ATTEMPTS = 2;

/**
 * Nodes keyed by (state, what the guards read, incoming event and outcome, previous state). The guards
 * only ask whether the streak reached maxAttempts, so the streak is capped there (it grows without bound
 * through reconnect()).
 */
function serialize(snapshot: Snapshot, event: SupervisorEvent | undefined, previous?: Snapshot): string {
  const outcome = event?.type === 'xstate.done.actor.attempt' ? String(event.output.code) : '';
  const streak = Math.min(snapshot.context.streak, MODEL_MAX_ATTEMPTS);
  return `${JSON.stringify(snapshot.value)}|${streak}|${event?.type ?? ''}${outcome}|${JSON.stringify(previous?.value ?? null)}`;
}

export function edgeName(
  machine: SupervisorMachine,
  snapshot: Snapshot,
  event: SupervisorEvent,
): string | undefined {
  const [transition] = machine.getTransitionData(snapshot, event);
  if (!transition) return undefined;
  const key = edgeKey(transition);
  return key.startsWith(' ') ? `(any)${key}` : key;
}

export function edgesOf(machine: SupervisorMachine, path: Path): string[] {
  const edges: string[] = [];
  let previous: Snapshot | undefined;
  for (const step of path.steps) {
    if (previous) {
      const edge = edgeName(machine, previous, step.event);
      if (edge) edges.push(edge);
    }
    previous = step.state;
  }
  return edges;
}

/** Shortest paths to every node, then a greedy cover: shortest first, kept when it takes a new edge. */
export function coveringPaths(machine: SupervisorMachine): Path[] {
  const all = getShortestPaths(machine, {
    input: {
      supervisorId: 'model',
      reconnect: { maxAttempts: MODEL_MAX_ATTEMPTS, minUptime: 1, initialDelay: 1, maxDelay: 1 },
    },
    events: [...EVENTS, ...delayedEvents(machine)],
    filterEvents: possible(machine),
    serializeState: serialize as (s: AnyMachineSnapshot, e: unknown, p?: AnyMachineSnapshot) => string,
  }) as Path[];
  const sorted = all.filter((path) => path.steps.length > 1).sort((a, b) => a.steps.length - b.steps.length);
  const covered = new Set<string>();
  const kept: Path[] = [];
  for (const path of sorted) {
    const edges = edgesOf(machine, path);
    if (edges.some((edge) => !covered.has(edge))) {
      kept.push(path);
      for (const edge of edges) covered.add(edge);
    }
  }
  return kept;
}

export function describePath(path: Path): string {
  return path.steps
    .map((step, i) => {
      const state = subState(step.state.value);
      if (i === 0) return state;
      const type = step.event.type.replace(/^xstate\.after\.([^.]+)\..*$/, 'after $1');
      const code = step.event.type === 'xstate.done.actor.attempt' ? `(${step.event.output.code})` : '';
      return `-${type}${code}-> ${state}`;
    })
    .join(' ');
}
