/**
 * Model tests: paths generated from the machine's graph (xstate/graph), together taking every edge,
 * each driven against a real socket and a fault peer on 127.0.0.1.
 *
 * Paths come from the machine under test and move with it, so each run is checked against what does not
 * come from the machine: an oracle built from the stimuli (CloseInfo fields, error code, the Close the
 * peer really received), the socket really gone, no timer or socket left, deadlines within bounds. There
 * is one test per intended edge (the hand-written table), and the edge set computed from the machine
 * must have been taken in full by the real runs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectNoLeaks, liveHandles } from '../helpers.js';
import { machineEdges } from '../machines/edges.js';
import { INTENDED_EDGES } from '../machines/intended-edges.js';
import { watchIntervals } from '../transports/intervals.js';
import { drive, type Outcome } from './executor.js';
import { coveringPaths, describePath, edgesOf, type ModelPath } from './paths.js';

type Machine = typeof import('../../machines/index.js')['connectionMachine'];

// The machine is imported and the paths generated in a hook, not at module load: a machine that
// breaks generation must fail these tests, not crash the file.
let machine: Machine;
let paths: ModelPath[] = [];
const runs = new Map<number, Promise<Outcome>>();
const taken = new Set<string>();

beforeAll(async () => {
  machine = (await import('../../machines/index.js')).connectionMachine;
  paths = coveringPaths(machine);
});

/** Runs path `index` once (several edges share a path) and checks everything that does not come from the machine. */
function run(index: number): Promise<Outcome> {
  let outcome = runs.get(index);
  if (!outcome) {
    outcome = runChecked(paths[index] as ModelPath, index);
    runs.set(index, outcome);
  }
  return outcome;
}

async function runChecked(model: ModelPath, index: number): Promise<Outcome> {
  const { path } = model;
  const baseline = liveHandles();
  const intervals = watchIntervals();
  let result: Outcome;
  let intervalsLeft: NodeJS.Timeout[];
  try {
    result = await drive(model, index);
  } finally {
    intervalsLeft = intervals.running();
    intervals.restore();
  }
  const label = `${describePath(path)}${model.keepalive ? '' : ' (keepalive off)'}`;
  for (const edge of result.takenEdges) taken.add(edge);

  // The real run followed the generated path, edge by edge.
  expect(result.takenEdges, label).toEqual(result.pathEdges);
  expect(result.states, label).toEqual(result.pathStates);

  // The outcome matches the oracle built from the stimuli.
  const { expected, info } = result;
  expect(info.initiator, `${label}: initiator`).toBe(expected.initiator);
  expect(info.code, `${label}: code`).toBe(expected.code);
  expect(info.reason, `${label}: reason`).toBe(expected.reason);
  expect(info.wasClean, `${label}: wasClean`).toBe(expected.wasClean);
  expect(info.error?.code, `${label}: error`).toBe(expected.errorCode);
  expect(result.errorEvents, `${label}: error events`).toBe(expected.errorCode ? 1 : 0);
  expect(result.closeEvents, `${label}: close events`).toBe(1);

  // What the peer really received.
  if (expected.closeOnWire)
    expect(result.wireClose, `${label}: Close on the wire`).toEqual(expected.closeOnWire);
  if (!expected.connected) expect(result.peerConnections, `${label}: never connected`).toBe(0);

  // Deadlines: never early, never later than +250 ms.
  if (expected.deadline) {
    expect(result.deadlineElapsed, `${label}: deadline`).not.toBeNull();
    expect(result.deadlineElapsed as number).toBeGreaterThanOrEqual(expected.deadline.ms - 1);
    expect(result.deadlineElapsed as number).toBeLessThan(expected.deadline.ms + 250);
  }

  // Teardown: our side of TCP is gone and nothing is left running.
  expect(result.clientGone, `${label}: socket gone`).toBe(true);
  await expectNoLeaks(baseline);
  // The handle count above does not show an interval left running (the actor's flush poll): this does.
  expect(intervalsLeft, `${label}: intervals left running`).toEqual([]);
  return result;
}

/** Edges only an adopted (server-side) connection takes: driven by test/server/adopt-edges.test.ts. */
const ADOPT_ONLY = (edge: string) => edge.startsWith('idle --api.adopt');

describe('model: each intended edge, driven against a real socket', () => {
  it.each(INTENDED_EDGES.filter((edge) => !ADOPT_ONLY(edge)))('%s', async (edge) => {
    const index = paths.findIndex(({ path }) => edgesOf(machine, path).includes(edge));
    expect(index, `no generated path takes ${edge}`).toBeGreaterThanOrEqual(0);
    const outcome = await run(index);
    expect(outcome.takenEdges).toContain(edge);
  });
});

describe('model: coverage', () => {
  it('ran every generated path', async () => {
    for (let index = 0; index < paths.length; index++) await run(index);
    expect(runs.size).toBe(paths.length);
  });

  it('took every edge a client connection can take, against real sockets', () => {
    // What is left is exactly what only an adopted connection takes (the graph from api.adopt,
    // test/server/adopt-paths.ts), driven over real sockets in test/server/adopt-edges.test.ts.
    const all = machineEdges(machine);
    const missing = all.filter((edge) => !taken.has(edge));
    expect(missing.every(ADOPT_ONLY), `missing: ${missing.join(', ')}`).toBe(true);
  });

  it('with the adopted connection model, covers every edge of the graph', async () => {
    const { adoptEdges } = await import('../server/adopt-paths.js');
    const union = new Set([...taken, ...adoptEdges(machine)]);
    expect(machineEdges(machine).filter((edge) => !union.has(edge))).toEqual([]);
  });
});

afterAll(() => {
  const all = machine ? machineEdges(machine) : [];
  const covered = all.filter((edge) => taken.has(edge)).length;
  console.log(`edges covered ${covered}/${all.length} in ${paths.length} generated paths`);
});
