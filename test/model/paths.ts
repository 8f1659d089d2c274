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
import { edgeKey, stateNodes } from '../machines/edges.js';

export type Snapshot = SnapshotFrom<ConnectionMachine>;
export type Path = StatePath<Snapshot, ConnectionEvent>;

/** Event payloads for the traversal; the executor picks the real codes. */
const EVENTS: ConnectionEvent[] = [
  { type: 'api.open' },
  { type: 'api.adopt', protocol: '' },
  { type: 'api.ping' },
  { type: 'ws.activity' },
  { type: 'api.close', code: 4000, reason: 'model' },
  { type: 'api.terminate' },
  { type: 'ws.open', protocol: '' },
  { type: 'ws.handshake-failed', error: new ConnectionError('ERR_CONNECT_FAILED', 'model') },
  { type: 'ws.close-received', code: 4100, reason: 'peer' },
  { type: 'ws.flushed' },
  { type: 'ws.closed', code: 1006, reason: '' },
  { type: 'ws.protocol-error', error: new ConnectionError('ERR_PROTOCOL', 'model') },
];

/** `xstate.after.<delay>.<state id>` for every deadline of every state and sub-state, read from the machine. */
export function deadlineEvents(machine: ConnectionMachine): ConnectionEvent[] {
  return stateNodes(machine).flatMap((node) =>
    node.after.map((transition) => ({ type: transition.eventType }) as unknown as ConnectionEvent),
  );
}

/** A generated path and the keepalive setting it was generated with (the guard `keepaliveOn` reads it). */
export interface ModelPath {
  path: Path;
  keepalive: boolean;
}

function possible(snapshot: Snapshot, event: ConnectionEvent): boolean {
  const peerClosed = snapshot.context.received !== null;
  // Adopted connections have their own model (test/server/adopt-paths.ts): a server socket drives them.
  if (event.type === 'api.adopt') return false;
  // Activity and pings matter in open only; elsewhere they change nothing and only multiply nodes.
  if (event.type === 'ws.activity' || event.type === 'api.ping') {
    if (typeof snapshot.value !== 'object') return false;
    // With keepalive on, the pong of a ping is itself activity (open.quiet --ws.activity--> open.quiet
    // follows on the wire): pings are modelled with keepalive off, where nothing follows them.
    if (event.type === 'api.ping') return snapshot.context.keepalive === null;
  }
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
export function coveringPaths(machine: ConnectionMachine): ModelPath[] {
  const generated: ModelPath[] = [];
  for (const keepalive of [true, false]) {
    const all = getShortestPaths(machine, {
      input: {
        connectionId: 'model',
        timeouts: { connect: 1, write: 1, read: 1 },
        keepalive: keepalive ? { interval: 1, timeout: 1 } : null,
      },
      events: [...EVENTS, ...deadlineEvents(machine)],
      filterEvents: possible,
      serializeState: serialize as (s: AnyMachineSnapshot, e: unknown, p?: AnyMachineSnapshot) => string,
    }) as Path[];
    for (const path of all) {
      if (path.steps.length > 1) generated.push({ path: finish(machine, path), keepalive });
    }
  }
  const sorted = [...generated].sort((a, b) => a.path.steps.length - b.path.steps.length);
  const covered = new Set<string>();
  const kept: ModelPath[] = [];
  for (const candidate of sorted) {
    const edges = edgesOf(machine, candidate.path);
    if (edges.some((edge) => !covered.has(edge))) {
      kept.push(candidate);
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
      i === 0
        ? stateLabel(step.state.value)
        : `-${shortEvent(step.event.type)}-> ${stateLabel(step.state.value)}`,
    )
    .join(' ');
}

function shortEvent(type: string): string {
  const match = /^xstate\.after\.([^.]+)\./.exec(type);
  return match ? `after ${match[1]}` : type;
}

function stateLabel(value: unknown): string {
  if (typeof value === 'string') return value;
  const [parent, child] = Object.entries(value as Record<string, unknown>)[0] ?? [];
  return `${parent}.${stateLabel(child)}`;
}
