/**
 * The supervisor's edges, computed from its definition (never typed in), named like the connection
 * machine's (test/machines/edges.ts): `waiting --xstate.after.backoff--> connecting`. Transitions on the
 * root (any state) are named `(any)`.
 */
import type { AnyStateMachine } from 'xstate';
import { edgeKey, machineEdges } from '../../machines/edges.js';

export function supervisorEdges(machine: AnyStateMachine): string[] {
  const root: string[] = [];
  for (const transitions of machine.root.transitions.values()) {
    for (const transition of transitions) root.push(`(any)${edgeKey(transition)}`);
  }
  return [...root, ...machineEdges(machine)];
}
