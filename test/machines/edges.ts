/**
 * The machine's edges, computed from its definition (never typed in), with names a person can read:
 * `closing-sent --xstate.after.write--> closed`, `draining --ws.closed [peerCloseReceived]--> closed`,
 * `open.quiet --xstate.after.interval--> open.awaiting-pong`. Sub-states are named by their path.
 */
import type { AnyStateMachine, AnyStateNode, AnyTransitionDefinition } from 'xstate';

/** `xstate.after.write.connection.closing-sent` → `xstate.after.write`. */
export function eventName(eventType: string): string {
  const match = /^xstate\.after\.([^.]+)\./.exec(eventType);
  return match ? `xstate.after.${match[1]}` : eventType;
}

export function edgeKey(transition: AnyTransitionDefinition): string {
  const guard = transition.guard === undefined ? '' : ` [${guardName(transition.guard)}]`;
  const targetNode = transition.target?.[0];
  const target = targetNode ? pathOf(targetNode) : '(stays)';
  return `${pathOf(transition.source)} --${eventName(transition.eventType)}${guard}--> ${target}`;
}

/** `open.quiet`: a state node's path below the root. */
export function pathOf(node: AnyStateNode): string {
  return node.path.join('.');
}

function guardName(guard: unknown): string {
  if (typeof guard === 'string') return guard;
  if (guard && typeof guard === 'object' && 'type' in guard) return String((guard as { type: unknown }).type);
  return 'inline guard';
}

/** Every state node below the root, sub-states included, parents first. */
export function stateNodes(machine: AnyStateMachine): AnyStateNode[] {
  const nodes: AnyStateNode[] = [];
  const visit = (node: AnyStateNode) => {
    for (const child of Object.values(node.states) as AnyStateNode[]) {
      nodes.push(child);
      visit(child);
    }
  };
  visit(machine.root);
  return nodes;
}

/** Every transition of every state, sub-states, guarded alternatives and deadlines included. */
export function machineEdges(machine: AnyStateMachine): string[] {
  const edges: string[] = [];
  for (const node of stateNodes(machine)) {
    for (const transitions of node.transitions.values()) {
      for (const transition of transitions) edges.push(edgeKey(transition));
    }
  }
  return edges;
}
