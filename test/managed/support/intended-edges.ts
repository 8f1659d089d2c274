/**
 * The supervisor's intended transitions, written by hand once from the design (docs/managed.md
 * explains each). Compared with the machine's graph in test/machines/supervisor-graph.test.ts; each is
 * driven in the pure tests and, over real sockets, in test/managed/model.test.ts.
 */
export const SUPERVISOR_INTENDED_EDGES: readonly string[] = [
  // A bug in the child logic ends the managed connection, from wherever it is.
  '(any) --xstate.error.actor.attempt--> closed',
  // idle
  'idle --api.open--> connecting',
  'idle --api.close--> closed', // never started: nothing on the wire
  // connecting: an attempt ends (RFC 6455 §7.2.3: retried ones wait; final ones end it all)
  'connecting --xstate.done.actor.attempt [finalClose]--> closed',
  'connecting --xstate.done.actor.attempt [attemptsExhausted]--> closed',
  'connecting --xstate.done.actor.attempt--> waiting',
  'connecting --api.close--> closing',
  // connecting's sub-states
  'connecting.handshake --xstate.snapshot.attempt [attemptOpen]--> connecting.preparing', // §4.1 open
  'connecting.handshake --api.reconnect--> connecting.releasing', // abort the handshake
  'connecting.preparing --xstate.done.actor.onOpen--> open',
  'connecting.preparing --xstate.error.actor.onOpen--> connecting.failing', // 1011
  'connecting.preparing --xstate.after.prepare--> connecting.failing', // 1011, onOpen too slow
  'connecting.preparing --api.reconnect--> connecting.releasing',
  'connecting.failing --api.reconnect--> connecting.releasing',
  'connecting.releasing --xstate.done.actor.attempt--> connecting.handshake', // §4.1: one at a time
  // open
  'open --xstate.done.actor.attempt [finalClose]--> closed',
  'open --xstate.done.actor.attempt [attemptsExhausted]--> closed',
  'open --xstate.done.actor.attempt--> waiting',
  'open --api.close--> closing',
  'open --api.reconnect--> connecting.releasing', // replace cleanly: its closing handshake first
  'open.unstable --xstate.after.minUptime--> open.stable', // the backoff resets
  // waiting
  'waiting --xstate.after.backoff--> connecting',
  'waiting --api.reconnect--> connecting', // skip the wait
  'waiting --api.close--> closed', // no connection to close
  // closing
  'closing --xstate.done.actor.attempt--> closed',
];
