/**
 * Model tests for adopted connections: every edge reachable from `api.adopt` (computed from the
 * machine's graph), driven over real sockets, a ws server adopting a raw client on 127.0.0.1.
 *
 * The edge set comes from the graph; it is compared with the hand-written intended table
 * (test/machines/intended-edges.ts) minus what only a client does, and every run is checked against an
 * oracle built from the stimuli (./adopt-executor.ts): the CloseInfo fields, the error, the Close the
 * client really received, unmasked frames, the server's socket gone, no timer or socket left, deadlines
 * within +250 ms.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectNoLeaks, liveHandles } from '../helpers.js';
import { INTENDED_EDGES } from '../machines/intended-edges.js';
import { describePath, edgesOf } from '../model/paths.js';
import { watchIntervals } from '../transports/intervals.js';
import { driveAdopted, type Outcome } from './adopt-executor.js';
import { adoptCoveringPaths, adoptEdges, type ModelPath } from './adopt-paths.js';

type Machine = typeof import('../../machines/index.js')['connectionMachine'];

/** Intended edges an adopted connection never takes: the client's opening handshake, and idle's exits other than adopt. */
const CLIENT_ONLY = (edge: string) =>
  edge.startsWith('connecting ') || (edge.startsWith('idle ') && !edge.startsWith('idle --api.adopt'));

const INTENDED_FOR_ADOPT = INTENDED_EDGES.filter((edge) => !CLIENT_ONLY(edge));

let machine: Machine;
let paths: ModelPath[] = [];
let reachable = new Set<string>();
const runs = new Map<number, Promise<Outcome>>();
const taken = new Set<string>();

beforeAll(async () => {
  machine = (await import('../../machines/index.js')).connectionMachine;
  paths = adoptCoveringPaths(machine);
  reachable = adoptEdges(machine);
});

function run(index: number): Promise<Outcome> {
  let outcome = runs.get(index);
  if (!outcome) {
    outcome = runChecked(paths[index] as ModelPath, index);
    runs.set(index, outcome);
  }
  return outcome;
}

async function runChecked(path: ModelPath, index: number): Promise<Outcome> {
  const baseline = liveHandles();
  const intervals = watchIntervals();
  let result: Outcome;
  let intervalsLeft: NodeJS.Timeout[];
  try {
    result = await driveAdopted(path, index);
  } finally {
    intervalsLeft = intervals.running();
    intervals.restore();
  }
  const label = `${describePath(path.path)} (keepalive ${path.keepalive ? 'on' : 'off'})`;
  for (const edge of result.takenEdges) taken.add(edge);

  expect(result.takenEdges, label).toEqual(result.pathEdges);
  expect(result.states, label).toEqual(result.pathStates);

  const { expected, info } = result;
  expect(info.initiator, `${label}: initiator`).toBe(expected.initiator);
  expect(info.code, `${label}: code`).toBe(expected.code);
  expect(info.reason, `${label}: reason`).toBe(expected.reason);
  expect(info.wasClean, `${label}: wasClean`).toBe(expected.wasClean);
  expect(info.error?.code, `${label}: error`).toBe(expected.errorCode);
  expect(result.errorEvents, `${label}: error events`).toBe(expected.errorCode ? 1 : 0);
  expect(result.closeEvents, `${label}: close events`).toBe(1);

  if (expected.closeOnWire)
    expect(result.wireClose, `${label}: Close on the wire`).toEqual(expected.closeOnWire);
  expect(result.unmasked, `${label}: server frames unmasked (§5.1)`).toBe(true);

  if (expected.deadline) {
    expect(result.deadlineElapsed, `${label}: deadline`).not.toBeNull();
    expect(result.deadlineElapsed as number).toBeGreaterThanOrEqual(expected.deadline.ms - 1);
    expect(result.deadlineElapsed as number).toBeLessThan(expected.deadline.ms + 250);
  }

  expect(result.serverGone, `${label}: the server's socket gone`).toBe(true);
  await expectNoLeaks(baseline);
  expect(intervalsLeft, `${label}: intervals left running`).toEqual([]);
  return result;
}

describe('adopt: the edges an adopted connection can take', () => {
  it('computed from the graph, are the intended ones minus the client-only ones', () => {
    expect([...reachable].sort()).toEqual([...INTENDED_FOR_ADOPT].sort());
  });
});

describe('adopt: each edge reachable from api.adopt, driven over a real socket', () => {
  it.each(INTENDED_FOR_ADOPT)(
    '%s',
    async (edge) => {
      const index = paths.findIndex((candidate) => edgesOf(machine, candidate.path).includes(edge));
      expect(index, `no generated path takes ${edge}`).toBeGreaterThanOrEqual(0);
      const outcome = await run(index);
      expect(outcome.takenEdges).toContain(edge);
    },
    15_000,
  );
});

describe('adopt: coverage', () => {
  it('ran every generated path', async () => {
    for (let index = 0; index < paths.length; index++) await run(index);
    expect(runs.size).toBe(paths.length);
  }, 60_000);

  it('took every edge reachable from api.adopt against real sockets', () => {
    const missing = [...reachable].filter((edge) => !taken.has(edge));
    expect(missing).toEqual([]);
  });
});

afterAll(() => {
  const covered = [...reachable].filter((edge) => taken.has(edge)).length;
  console.log(`adopt: edges covered ${covered}/${reachable.size} in ${paths.length} generated paths`);
});
