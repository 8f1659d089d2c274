/**
 * Paths through the machine, generated from its graph with xstate/graph: together they take every edge.
 *
 * The traversal runs on the pure machine (no socket). Its events are what the caller and the socket can
 * really produce; `filterEvents` leaves out what a real ws socket never does (a second Close frame,
 * a protocol error after the peer's Close: ws stops reading there).
 */
import { type AnyMachineSnapshot, type SnapshotFrom, transition } from 'xstate';
import { getShortestPaths, type StatePath } from 'xstate/graph';
// Not from machines/index.js: that loads the machine, which model.test.ts imports inside a hook so that a
// machine failing to load fails the tests (docs/testing.md); connection-error.ts is not mutated.
import { ConnectionError } from '../../machines/connection-error.js';
import type { ConnectionEvent, ConnectionMachine } from '../../machines/index.js';
import { edgeKey } from '../machines/edges.js';

export type Snapshot = SnapshotFrom<ConnectionMachine>;
export type Path = StatePath<Snapshot, ConnectionEvent>;

/** Event payloads for the traversal; the executor picks the real codes. */
const EVENTS: ConnectionEvent[] = [
  { type: 'api.open' },
  { type: 'api.close', code: 4000, reason: 'model' },
  { type: 'api.terminate' },
  { type: 'ws.open', protocol: '' },
  { type: 'ws.handshake-failed', error: new ConnectionError('ERR_CONNECT_FAILED', 'model') },
  { type: 'ws.close-received', code: 4100, reason: 'peer' },
  { type: 'ws.flushed' },
  { type: 'ws.closed', code: 1006, reason: '' },
  { type: 'ws.protocol-error', error: new ConnectionError('ERR_PROTOCOL', 'model') },
];

/** `xstate.after.<delay>.<state id>` for every deadline, read from the machine. */
export function deadlineEvents(machine: ConnectionMachine): ConnectionEvent[] {
  return Object.values(machine.root.states).flatMap((node) =>
    node.after.map((transition) => ({ type: transition.eventType }) as unknown as ConnectionEvent),
  );
}

function possible(snapshot: Snapshot, event: ConnectionEvent): boolean {
  const peerClosed = snapshot.context.received !== null;
  if (event.type === 'ws.close-received' || event.type === 'ws.protocol-error') return !peerClosed;
  return true;
}

/** Nodes keyed by (state, what happened so far that guards read, incoming event, previous state). */
function serialize(snapshot: Snapshot, event: ConnectionEvent | undefined, previous?: Snapshot): string {
  const facts = `${snapshot.context.received ? 'peer-closed' : ''}|${snapshot.context.closeSent ? 'sent' : ''}`;
  return `${JSON.stringify(snapshot.value)}|${facts}|${event?.type ?? ''}|${JSON.stringify(previous?.value ?? null)}`;
}

/** The edge `event` takes from `snapshot`, as named by the graph (`edgeKey`). */
export function edgeOf(
  machine: ConnectionMachine,
  snapshot: Snapshot,
  event: ConnectionEvent,
): string | undefined {
  const [transition] = machine.getTransitionData(snapshot, event);
  return transition ? edgeKey(transition) : undefined;
}

export function edgesOf(machine: ConnectionMachine, path: Path): string[] {
  const edges: string[] = [];
  let previous: Snapshot | undefined;
  for (const step of path.steps) {
    if (previous) {
      const edge = edgeOf(machine, previous, step.event);
      if (edge) edges.push(edge);
    }
    previous = step.state;
  }
  return edges;
}

/**
 * Shortest paths to every node (so every edge ends one), each finished with `api.terminate` if it stops
 * short of closed; then a greedy cover: shortest first, keep a path when it takes an edge no kept path
 * takes.
 */
export function coveringPaths(machine: ConnectionMachine): Path[] {
  const all = getShortestPaths(machine, {
    input: { connectionId: 'model', timeouts: { connect: 1, write: 1, read: 1 } },
    events: [...EVENTS, ...deadlineEvents(machine)],
    filterEvents: possible,
    serializeState: serialize as (s: AnyMachineSnapshot, e: unknown, p?: AnyMachineSnapshot) => string,
  }) as Path[];
  const finished = all.filter((path) => path.steps.length > 1).map((path) => finish(machine, path));
  const sorted = [...finished].sort((a, b) => a.steps.length - b.steps.length);
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

function finish(machine: ConnectionMachine, path: Path): Path {
  if (path.state.status === 'done') return path;
  const event: ConnectionEvent = { type: 'api.terminate' };
  const [state] = transition(machine, path.state, event);
  return { ...path, state, steps: [...path.steps, { state, event }], weight: path.weight + 1 };
}

/** `idle -api.open-> connecting -ws.open-> open …` */
export function describePath(path: Path): string {
  return path.steps
    .map((step, i) =>
      i === 0 ? String(step.state.value) : `-${shortEvent(step.event.type)}-> ${String(step.state.value)}`,
    )
    .join(' ');
}

function shortEvent(type: string): string {
  const match = /^xstate\.after\.([^.]+)\./.exec(type);
  return match ? `after ${match[1]}` : type;
}
