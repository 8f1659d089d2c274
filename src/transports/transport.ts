/**
 * The transport seam: how the pure `connectionMachine` drives a socket, whatever kind it is.
 *
 * Commands out: the machine's `transport.*` actions (connect, close, destroy, ping, release) become
 * calls on a {@link Transport}. Events in: the transport reports what happens on its socket as `ws.*`
 * events, and data as messages, to its {@link TransportSink}. A transport decides nothing; every
 * lifecycle decision is the machine's. This is python-websockets' sans-I/O shape, with XState's
 * `transition()` showing both halves of every step (docs/architecture.md).
 *
 * The commands are provided as actions (`machine.provide({ actions })`), not an invoked actor: no
 * second actor per connection, no relay. The actor carries its transport under a private symbol.
 */
import type { AnyActorRef } from 'xstate';
import { connectionMachine } from '../../machines/connection-machine.js';
import type { CloseCommand, ConnectionEvent } from '../../machines/types.js';

/** A data message as delivered: text as a string, binary as bytes. */
export type MessageData = string | Uint8Array;

/** What `send` accepts: text, or binary as bytes or an ArrayBuffer. */
export type SendData = string | Uint8Array | ArrayBuffer;

/** Where a transport reports: events to the machine, data to the caller. */
export interface TransportSink {
  /** An event in (`ws.*`) for the machine. */
  event(event: ConnectionEvent): void;
  /** A data message arrived (also while closing). */
  message(data: MessageData): void;
  /** A frame arrived (data, ping or pong): cheap, called per frame; the sink coalesces it. */
  frame(): void;
  /** A pong frame arrived (for round-trip times). */
  pong(): void;
  /**
   * A ping frame arrived from the peer, which the transport has answered (after `frame()`). Only
   * transports that see ping frames call it.
   */
  peerPing?(data: Uint8Array): void;
}

/** One socket, driven by the machine's commands. Every method is called by the machine only. */
export interface Transport {
  /** `transport.connect`: start the opening handshake. */
  connect(): void;
  /**
   * `transport.close`: queue our Close behind the data already sent (with `code`/`reason`, or the echo
   * of the peer's Close when none is given) and report `ws.flushed` once it is really written.
   */
  close(command: CloseCommand): void;
  /** `transport.destroy`: end the socket at once, no handshake. */
  destroy(): void;
  /** `transport.ping`: send a ping frame. */
  ping(): void;
  /** `transport.release`: the connection is over; remove every listener and timer, end the socket. */
  release(): void;
  /** Send a data message; the caller has checked that the connection is open. Not a command. */
  send(data: SendData): void;
}

const kTransport = Symbol('ws-lifecycle.transport');

interface Carrier {
  [kTransport]?: Transport;
}

/** Attaches `transport` to the actor that runs the machine, before it starts. */
export function attachTransport(actor: AnyActorRef, transport: Transport): void {
  (actor as Carrier)[kTransport] = transport;
}

function transportOf(self: AnyActorRef): Transport {
  const transport = (self as Carrier)[kTransport];
  if (!transport) throw new Error('ws-lifecycle: no transport attached to this connection actor');
  return transport;
}

/** The machine with the commands routed to the actor's transport: what every connection runs. */
export const drivenConnectionMachine = connectionMachine.provide({
  actions: {
    'transport.connect': ({ self }) => transportOf(self).connect(),
    'transport.close': ({ self }, params: CloseCommand) => transportOf(self).close(params),
    'transport.destroy': ({ self }) => transportOf(self).destroy(),
    'transport.ping': ({ self }) => transportOf(self).ping(),
    'transport.release': ({ self }) => transportOf(self).release(),
  },
});
