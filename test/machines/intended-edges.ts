/**
 * The intended transitions, written by hand once (docs/lifecycle.md explains each). Compared with the
 * machine's graph in transitions.test.ts, and driven against real sockets one by one in the model tests.
 */
export const INTENDED_EDGES: readonly string[] = [
  // idle
  'idle --api.open--> connecting',
  'idle --api.adopt [keepaliveOn]--> open.quiet', // server side: the socket is open already (§4.2.2)
  'idle --api.adopt--> open.keepalive-off',
  'idle --api.close--> closed',
  'idle --api.terminate--> closed',
  // connecting (RFC 6455 §4.1)
  'connecting --ws.open [keepaliveOn]--> open.quiet',
  'connecting --ws.open--> open.keepalive-off',
  'connecting --ws.handshake-failed--> closed',
  'connecting --xstate.after.connect--> closed',
  'connecting --api.close--> closed',
  'connecting --api.terminate--> closed',
  // open
  'open --api.ping--> (stays)', // §5.5.2, conn.ping()
  'open --api.close--> closing-sent', // §7.1.2
  'open --ws.close-received--> closing-sent', // §5.5.1, §7.1.3
  'open --ws.closed--> closed', // §7.1.5 (1006)
  'open --ws.protocol-error--> closed', // §7.1.7
  'open --api.terminate--> closed',
  // open's keepalive sub-states: activity-based pings, a deadline for any frame after one
  'open.quiet --xstate.after.interval--> open.awaiting-pong',
  'open.quiet --ws.activity--> open.quiet',
  'open.awaiting-pong --xstate.after.pong--> closed', // §7.1.7, ERR_KEEPALIVE_TIMEOUT
  'open.awaiting-pong --ws.activity--> open.quiet',
  // closing-sent
  'closing-sent --ws.flushed--> draining',
  'closing-sent --xstate.after.write--> closed',
  'closing-sent --ws.close-received--> (stays)', // §7.1.3, both sides closing
  'closing-sent --ws.closed [peerCloseReceived]--> closed',
  'closing-sent --ws.closed--> closed',
  'closing-sent --ws.protocol-error--> closed',
  'closing-sent --api.terminate--> closed',
  // draining
  'draining --ws.close-received--> (stays)', // §7.1.2
  'draining --ws.closed [peerCloseReceived]--> closed', // §7.1.4
  'draining --ws.closed--> closed',
  'draining --xstate.after.read [peerCloseReceived]--> closed', // §7.1.1
  'draining --xstate.after.read--> closed',
  'draining --ws.protocol-error--> closed',
  'draining --api.terminate--> closed',
];
