/**
 * Paths through the machine from `api.adopt`, generated from its graph with xstate/graph: together they
 * take every edge an adopted (server-side) connection can take. `adopt()` sends `api.adopt` at once, so
 * from `idle` nothing else is possible; the rest of the event set is the client model's
 * (test/model/paths.ts), filtered the same way (what a real ws socket never does is left out).
 */
import { type AnyMachineSnapshot, transition } from 'xstate';
import { getShortestPaths } from 'xstate/graph';
import { ConnectionError } from '../../machines/connection-error.js';
import type { ConnectionEvent, ConnectionMachine } from '../../machines/index.js';
import { deadlineEvents, edgesOf, type ModelPath, type Path, type Snapshot } from '../model/paths.js';

export type { ModelPath, Path };

const EVENTS: ConnectionEvent[] = [
  { type: 'api.adopt', protocol: '' },
  { type: 'api.ping' },
  { type: 'ws.activity' },
  { type: 'api.close', code: 4000, reason: 'model' },
  { type: 'api.terminate' },
  { type: 'ws.close-received', code: 4100, reason: 'peer' },
  { type: 'ws.flushed' },
  { type: 'ws.closed', code: 1006, reason: '' },
  { type: 'ws.protocol-error', error: new ConnectionError('ERR_PROTOCOL', 'model') },
];

function possible(snapshot: Snapshot, event: ConnectionEvent): boolean {
  // adopt() hands the socket to the machine at once: from idle there is only api.adopt.
  if (snapshot.value === 'idle') return event.type === 'api.adopt';
  if (event.type === 'api.adopt') return false;
  if (event.type === 'ws.activity' || event.type === 'api.ping') {
    if (typeof snapshot.value !== 'object') return false;
    // As in the client model: pings are modelled with keepalive off, where nothing follows them.
    if (event.type === 'api.ping') return snapshot.context.keepalive === null;
  }
  const peerClosed = snapshot.context.received !== null;
  if (event.type === 'ws.close-received' || event.type === 'ws.protocol-error') return !peerClosed;
  return true;
}

function serialize(snapshot: Snapshot, event: ConnectionEvent | undefined, previous?: Snapshot): string {
  const facts = `${snapshot.context.received ? 'peer-closed' : ''}|${snapshot.context.closeSent ? 'sent' : ''}`;
  return `${JSON.stringify(snapshot.value)}|${facts}|${event?.type ?? ''}|${JSON.stringify(previous?.value ?? null)}`;
}

/** Every edge some path from `api.adopt` takes: what an adopted connection can do, from the graph. */
export function adoptEdges(machine: ConnectionMachine): Set<string> {
  return new Set(allPaths(machine).flatMap((candidate) => edgesOf(machine, candidate.path)));
}

function allPaths(machine: ConnectionMachine): ModelPath[] {
  const generated: ModelPath[] = [];
  for (const keepalive of [true, false]) {
    const all = getShortestPaths(machine, {
      input: {
        connectionId: 'adopt-model',
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
  return generated;
}

/** A greedy cover of {@link adoptEdges}: shortest paths first, each kept if it takes a new edge. */
export function adoptCoveringPaths(machine: ConnectionMachine): ModelPath[] {
  const sorted = allPaths(machine).sort((a, b) => a.path.steps.length - b.path.steps.length);
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
