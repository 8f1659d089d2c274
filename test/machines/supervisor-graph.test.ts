/**
 * The supervisor's graph against its intended transitions, written by hand
 * (test/managed/support/intended-edges.ts): a changed, added or removed edge fails here.
 */
import { describe, expect, it } from 'vitest';
import { supervisorMachine } from '../../machines/supervisor-machine.js';
import { SUPERVISOR_STATE_NAMES } from '../../machines/supervisor-types.js';
import { SUPERVISOR_INTENDED_EDGES } from '../managed/support/intended-edges.js';
import { supervisorEdges } from '../managed/support/supervisor-edges.js';

describe('the supervisor graph', () => {
  it('has exactly the six top-level states of the issue, closed final', () => {
    expect(Object.keys(supervisorMachine.root.states)).toEqual([
      'idle',
      'connecting',
      'open',
      'waiting',
      'closing',
      'closed',
    ]);
    expect([...SUPERVISOR_STATE_NAMES]).toEqual(Object.keys(supervisorMachine.root.states));
    expect(supervisorMachine.root.states.closed?.type).toBe('final');
  });

  it('has exactly the intended transitions', () => {
    expect([...supervisorEdges(supervisorMachine)].sort()).toEqual([...SUPERVISOR_INTENDED_EDGES].sort());
  });

  it('has no duplicate transitions', () => {
    const edges = supervisorEdges(supervisorMachine);
    expect(new Set(edges).size).toBe(edges.length);
  });

  it('lets the caller close every state but closing and closed', () => {
    for (const state of ['idle', 'connecting', 'open', 'waiting']) {
      expect(SUPERVISOR_INTENDED_EDGES.some((edge) => edge.startsWith(`${state} --api.close-->`))).toBe(true);
    }
  });

  it('declares its waits as named delays', () => {
    const delays = Object.keys(supervisorMachine.implementations.delays).sort();
    expect(delays).toEqual(['backoff', 'minUptime', 'prepare']);
  });
});
