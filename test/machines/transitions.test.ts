/**
 * The machine's graph against the intended transitions written by hand (intended-edges.ts): a changed,
 * added or removed edge fails here, even though the model tests (generated from the machine) would
 * move with it.
 */
import { describe, expect, it } from 'vitest';
import { connectionMachine, STATE_NAMES } from '../../machines/index.js';
import { machineEdges } from './edges.js';
import { INTENDED_EDGES as INTENDED } from './intended-edges.js';

describe('the machine graph', () => {
  it('has exactly the six top-level states, closed final', () => {
    expect(Object.keys(connectionMachine.root.states)).toEqual([...STATE_NAMES]);
    expect(connectionMachine.root.states.closed?.type).toBe('final');
  });

  it('has exactly the intended transitions', () => {
    expect([...machineEdges(connectionMachine)].sort()).toEqual([...INTENDED].sort());
  });

  it('has no duplicate transitions', () => {
    const edges = machineEdges(connectionMachine);
    expect(new Set(edges).size).toBe(edges.length);
  });

  it('lets every non-final state be terminated', () => {
    for (const state of STATE_NAMES.filter((s) => s !== 'closed')) {
      expect(INTENDED).toContain(`${state} --api.terminate--> closed`);
    }
  });
});
