import { createActor, initialTransition, type SnapshotFrom, transition } from 'xstate';
import { type ConnectionEvent, type ConnectionInput, connectionMachine } from '../../machines/index.js';
import { createConnection } from '../../src/index.js';
import type { MachineCost } from './types.js';

const input: ConnectionInput = { timeouts: { connect: 10_000, write: 5_000, read: 5_000 } };

/** A clean life: open, handshake done, close(1000), our Close written, the peer's Close, TCP closed. */
const events: readonly ConnectionEvent[] = [
  { type: 'api.open' },
  { type: 'ws.open', protocol: '' },
  { type: 'api.close', code: 1000, reason: '' },
  { type: 'ws.flushed' },
  { type: 'ws.close-received', code: 1000, reason: '' },
  { type: 'ws.closed', code: 1000, reason: '' },
];

const [initial] = initialTransition(connectionMachine, input);

export const machineCost: MachineCost = {
  /** The pure machine's actor (its socket actor is the do-nothing placeholder). */
  createAndStopActor() {
    createActor(connectionMachine, { input }).start().stop();
  },
  /** A whole Connection, never opened: options, link, actor with the ws actor, closed while idle. */
  createAndCloseConnection() {
    void createConnection('ws://127.0.0.1:9', { trail: false }).close();
  },
  lifecycle: {
    events: events.length,
    run() {
      let snapshot: SnapshotFrom<typeof connectionMachine> = initial;
      for (const event of events) [snapshot] = transition(connectionMachine, snapshot, event);
      return snapshot.value;
    },
  },
};
