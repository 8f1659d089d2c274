/**
 * The machine's edges, computed from its definition (never typed in), with names a person can read:
 * `closing-sent --xstate.after.write--> closed`, `draining --ws.closed [peerCloseReceived]--> closed`.
 */
import type { AnyStateMachine, AnyTransitionDefinition } from 'xstate';

/** `xstate.after.write.connection.closing-sent` → `xstate.after.write`. */
export function eventName(eventType: string): string {
  const match = /^xstate\.after\.([^.]+)\./.exec(eventType);
  return match ? `xstate.after.${match[1]}` : eventType;
}

export function edgeKey(transition: AnyTransitionDefinition): string {
  const guard = transition.guard === undefined ? '' : ` [${guardName(transition.guard)}]`;
  const target = transition.target?.[0]?.key ?? '(stays)';
  return `${transition.source.key} --${eventName(transition.eventType)}${guard}--> ${target}`;
}

function guardName(guard: unknown): string {
  if (typeof guard === 'string') return guard;
  if (guard && typeof guard === 'object' && 'type' in guard) return String((guard as { type: unknown }).type);
  return 'inline guard';
}

/** Every transition of every top-level state, guarded alternatives and deadlines included. */
export function machineEdges(machine: AnyStateMachine): string[] {
  const edges: string[] = [];
  for (const node of Object.values(machine.root.states)) {
    for (const transitions of node.transitions.values()) {
      for (const transition of transitions) edges.push(edgeKey(transition));
    }
  }
  return edges;
}
