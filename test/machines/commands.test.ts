/**
 * Commands out: what each transition tells the transport to do, read from XState's pure `transition()`
 * (which returns the actions a step would run, without running them). The table is written by hand
 * from the RFC and docs/lifecycle.md, one row per intended edge, and must cover every edge of the graph.
 */
import { describe, expect, it } from 'vitest';
import { type AnyMachineSnapshot, initialTransition, transition } from 'xstate';
import {
  ConnectionError,
  type ConnectionEvent,
  connectionMachine,
  type Keepalive,
} from '../../machines/index.js';
import { edgeKey } from './edges.js';
import { INTENDED_EDGES } from './intended-edges.js';

const TIMEOUTS = { connect: 1000, write: 300, read: 700 };
const KEEPALIVE: Keepalive = { interval: 200, timeout: 100 };

const after = (delay: string, stateId: string) =>
  ({ type: `xstate.after.${delay}.connection.${stateId}` }) as unknown as ConnectionEvent;
const open: ConnectionEvent = { type: 'api.open' };
const wsOpen: ConnectionEvent = { type: 'ws.open', protocol: '' };
const close: ConnectionEvent = { type: 'api.close', code: 4000, reason: 'bye' };
const terminate: ConnectionEvent = { type: 'api.terminate' };
const peerClose: ConnectionEvent = { type: 'ws.close-received', code: 1000, reason: 'ok' };
const flushed: ConnectionEvent = { type: 'ws.flushed' };
const tcpEnd: ConnectionEvent = { type: 'ws.closed', code: 1006, reason: '' };
const protocolError: ConnectionEvent = {
  type: 'ws.protocol-error',
  error: new ConnectionError('ERR_PROTOCOL', 'test'),
};
const activity: ConnectionEvent = { type: 'ws.activity' };

/** A command as the transport receives it: its name, and the close command's parameters. */
type Command = string | [name: 'transport.close', params: { code?: number; reason?: string }];

interface Row {
  edge: string;
  /** Events that reach the edge's source state. */
  before: ConnectionEvent[];
  event: ConnectionEvent;
  commands: Command[];
  keepalive?: Keepalive | null;
}

const inOpen = [open, wsOpen];
const inClosingSent = [...inOpen, close];
const inDraining = [...inOpen, close, flushed];
const off = null;

const ROWS: Row[] = [
  { edge: 'idle --api.open--> connecting', before: [], event: open, commands: ['transport.connect'] },
  {
    edge: 'idle --api.adopt [keepaliveOn]--> open.quiet',
    before: [],
    event: { type: 'api.adopt', protocol: 'chat' },
    commands: [],
  },
  {
    edge: 'idle --api.adopt--> open.keepalive-off',
    before: [],
    event: { type: 'api.adopt', protocol: '' },
    commands: [],
    keepalive: off,
  },
  // Nothing was ever made: only the (empty) release.
  { edge: 'idle --api.close--> closed', before: [], event: close, commands: ['transport.release'] },
  { edge: 'idle --api.terminate--> closed', before: [], event: terminate, commands: ['transport.release'] },
  { edge: 'connecting --ws.open [keepaliveOn]--> open.quiet', before: [open], event: wsOpen, commands: [] },
  {
    edge: 'connecting --ws.open--> open.keepalive-off',
    before: [open],
    event: wsOpen,
    commands: [],
    keepalive: off,
  },
  {
    edge: 'connecting --ws.handshake-failed--> closed',
    before: [open],
    event: { type: 'ws.handshake-failed', error: new ConnectionError('ERR_CONNECT_FAILED', 'test') },
    commands: ['transport.release'],
  },
  {
    edge: 'connecting --xstate.after.connect--> closed',
    before: [open],
    event: after('connect', 'connecting'),
    commands: ['transport.destroy', 'transport.release'],
  },
  {
    edge: 'connecting --api.close--> closed',
    before: [open],
    event: close,
    commands: ['transport.destroy', 'transport.release'],
  },
  {
    edge: 'connecting --api.terminate--> closed',
    before: [open],
    event: terminate,
    commands: ['transport.destroy', 'transport.release'],
  },
  {
    edge: 'open --api.ping--> (stays)',
    before: inOpen,
    event: { type: 'api.ping' },
    commands: ['transport.ping'],
  },
  // §7.1.2: our Close, with the caller's code and reason.
  {
    edge: 'open --api.close--> closing-sent',
    before: inOpen,
    event: close,
    commands: [['transport.close', { code: 4000, reason: 'bye' }]],
  },
  // §5.5.1: the echo (no code of ours).
  {
    edge: 'open --ws.close-received--> closing-sent',
    before: inOpen,
    event: peerClose,
    commands: [['transport.close', {}]],
  },
  // The peer ended TCP: nothing left to destroy.
  { edge: 'open --ws.closed--> closed', before: inOpen, event: tcpEnd, commands: ['transport.release'] },
  // §7.1.7: the socket goes at once.
  {
    edge: 'open --ws.protocol-error--> closed',
    before: inOpen,
    event: protocolError,
    commands: ['transport.destroy', 'transport.release'],
  },
  {
    edge: 'open --api.terminate--> closed',
    before: inOpen,
    event: terminate,
    commands: ['transport.destroy', 'transport.release'],
  },
  {
    edge: 'open.quiet --xstate.after.interval--> open.awaiting-pong',
    before: inOpen,
    event: after('interval', 'open.quiet'),
    commands: ['transport.ping'],
  },
  { edge: 'open.quiet --ws.activity--> open.quiet', before: inOpen, event: activity, commands: [] },
  // §7.1.7: Close 1011 as a best effort, then the socket goes at once.
  {
    edge: 'open.awaiting-pong --xstate.after.pong--> closed',
    before: [...inOpen, after('interval', 'open.quiet')],
    event: after('pong', 'open.awaiting-pong'),
    commands: [
      ['transport.close', { code: 1011, reason: 'keepalive timeout' }],
      'transport.destroy',
      'transport.release',
    ],
  },
  {
    edge: 'open.awaiting-pong --ws.activity--> open.quiet',
    before: [...inOpen, after('interval', 'open.quiet')],
    event: activity,
    commands: [],
  },
  { edge: 'closing-sent --ws.flushed--> draining', before: inClosingSent, event: flushed, commands: [] },
  {
    edge: 'closing-sent --xstate.after.write--> closed',
    before: inClosingSent,
    event: after('write', 'closing-sent'),
    commands: ['transport.destroy', 'transport.release'],
  },
  {
    edge: 'closing-sent --ws.close-received--> (stays)',
    before: inClosingSent,
    event: peerClose,
    commands: [],
  },
  {
    edge: 'closing-sent --ws.closed [peerCloseReceived]--> closed',
    before: [...inClosingSent, peerClose],
    event: tcpEnd,
    commands: ['transport.release'],
  },
  {
    edge: 'closing-sent --ws.closed--> closed',
    before: inClosingSent,
    event: tcpEnd,
    commands: ['transport.release'],
  },
  {
    edge: 'closing-sent --ws.protocol-error--> closed',
    before: inClosingSent,
    event: protocolError,
    commands: ['transport.destroy', 'transport.release'],
  },
  {
    edge: 'closing-sent --api.terminate--> closed',
    before: inClosingSent,
    event: terminate,
    commands: ['transport.destroy', 'transport.release'],
  },
  { edge: 'draining --ws.close-received--> (stays)', before: inDraining, event: peerClose, commands: [] },
  // §7.1.4: the server ended TCP.
  {
    edge: 'draining --ws.closed [peerCloseReceived]--> closed',
    before: [...inDraining, peerClose],
    event: tcpEnd,
    commands: ['transport.release'],
  },
  {
    edge: 'draining --ws.closed--> closed',
    before: inDraining,
    event: tcpEnd,
    commands: ['transport.release'],
  },
  // §7.1.1: the client may end TCP itself once both Close frames went.
  {
    edge: 'draining --xstate.after.read [peerCloseReceived]--> closed',
    before: [...inDraining, peerClose],
    event: after('read', 'draining'),
    commands: ['transport.destroy', 'transport.release'],
  },
  {
    edge: 'draining --xstate.after.read--> closed',
    before: inDraining,
    event: after('read', 'draining'),
    commands: ['transport.destroy', 'transport.release'],
  },
  {
    edge: 'draining --ws.protocol-error--> closed',
    before: inDraining,
    event: protocolError,
    commands: ['transport.destroy', 'transport.release'],
  },
  {
    edge: 'draining --api.terminate--> closed',
    before: inDraining,
    event: terminate,
    commands: ['transport.destroy', 'transport.release'],
  },
];

function reach(before: ConnectionEvent[], keepalive: Keepalive | null): AnyMachineSnapshot {
  let [snapshot] = initialTransition(connectionMachine, {
    connectionId: 'commands',
    timeouts: TIMEOUTS,
    keepalive,
  }) as [AnyMachineSnapshot, unknown];
  for (const event of before) [snapshot] = transition(connectionMachine, snapshot as never, event);
  return snapshot;
}

function commandsOf(actions: readonly { type: string; params?: unknown }[]): Command[] {
  return actions
    .filter((action) => action.type.startsWith('transport.'))
    .map((action) =>
      action.type === 'transport.close'
        ? ['transport.close', action.params as { code?: number; reason?: string }]
        : action.type,
    );
}

describe('commands out, per transition (transition() returns them without running them)', () => {
  it('the table has one row per intended edge', () => {
    expect(ROWS.map((row) => row.edge).sort()).toEqual([...INTENDED_EDGES].sort());
  });

  it.each(ROWS.map((row) => [row.edge, row] as const))('%s', (_edge, row) => {
    const snapshot = reach(row.before, row.keepalive === undefined ? KEEPALIVE : row.keepalive);
    // The row really takes its edge (not another one that happens to issue the same commands).
    const [taken] = connectionMachine.getTransitionData(snapshot as never, row.event);
    expect(taken && edgeKey(taken)).toBe(row.edge);
    const [, actions] = transition(connectionMachine, snapshot as never, row.event);
    expect(commandsOf(actions as never)).toEqual(row.commands);
  });

  it('issues no command for an event a state does not expect', () => {
    const snapshot = reach(inDraining, KEEPALIVE);
    for (const event of [open, wsOpen, activity, { type: 'api.ping' } as ConnectionEvent]) {
      const [next, actions] = transition(connectionMachine, snapshot as never, event);
      expect(commandsOf(actions as never)).toEqual([]);
      expect(next.value).toBe('draining');
    }
  });
});
