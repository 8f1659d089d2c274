/**
 * The pure machine with recording `transport.*` actions and a SimulatedClock: the commands it gives,
 * the state records it emits, and its output. Shared by the pure machine tests.
 */
import { createActor, SimulatedClock } from 'xstate';
import {
  type CloseCommand,
  type ConnectionEvent,
  connectionMachine,
  type Keepalive,
  type StateChangeEmitted,
  type TransportCommand,
} from '../../machines/index.js';

export const TIMEOUTS = { connect: 1000, write: 300, read: 700 };

/** A running machine whose transport actions record commands, driven by a simulated clock. */
export function start(keepalive: Keepalive | null = null) {
  const commands: TransportCommand[] = [];
  const closeCommands: CloseCommand[] = [];
  const record = (type: TransportCommand) => () => {
    commands.push(type);
  };
  const clock = new SimulatedClock();
  const machine = connectionMachine.provide({
    actions: {
      'transport.connect': record('transport.connect'),
      'transport.close': (_, params: CloseCommand) => {
        commands.push('transport.close');
        closeCommands.push(params);
      },
      'transport.destroy': record('transport.destroy'),
      'transport.ping': record('transport.ping'),
      'transport.release': record('transport.release'),
    },
  });
  const actor = createActor(machine, {
    clock,
    input: { connectionId: 'test', timeouts: TIMEOUTS, keepalive },
  });
  const emitted: StateChangeEmitted[] = [];
  actor.on('lifecycle.state', (change) => emitted.push(change));
  actor.start();
  const send = (...events: ConnectionEvent[]) => {
    for (const event of events) actor.send(event);
  };
  /** The top-level state. */
  const state = () => {
    const value = actor.getSnapshot().value;
    return typeof value === 'string' ? value : Object.keys(value)[0];
  };
  const output = () => actor.getSnapshot().output;
  return { actor, clock, commands, closeCommands, emitted, send, state, output };
}
