/**
 * What the pure machine records about a connection, beyond its states: who initiated (context and
 * CloseInfo), what each state record carries, the failures' messages, and the defaults of its input.
 * A recording socket actor and a SimulatedClock, as in connection-machine.test.ts.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createActor, initialTransition, SimulatedClock } from 'xstate';
import { ConnectionError } from '../../machines/connection-error.js';
import type {
  ConnectionEvent,
  ConnectionInput,
  Initiator,
  Keepalive,
  StateChangeEmitted,
} from '../../machines/index.js';
import { INTENDED_EDGES } from './intended-edges.js';

type Machines = typeof import('../../machines/index.js');

// Imported inside a hook: a machine that fails to load fails these tests (docs/testing.md).
let m: Machines;
beforeAll(async () => {
  m = await import('../../machines/index.js');
});

const TIMEOUTS = { connect: 1000, write: 300, read: 700 };
const KEEPALIVE: Keepalive = { interval: 200, timeout: 100 };

/** An event to send, or milliseconds for the simulated clock to advance. */
type Step = ConnectionEvent | number;

function drive(steps: Step[], keepalive: Keepalive | null = KEEPALIVE) {
  const clock = new SimulatedClock();
  const actor = createActor(m.connectionMachine, {
    clock,
    input: { connectionId: 'outcome', timeouts: TIMEOUTS, keepalive },
  });
  const emitted: StateChangeEmitted[] = [];
  actor.on('lifecycle.state', (change) => emitted.push(change));
  actor.start();
  for (const step of steps) {
    if (typeof step === 'number') clock.increment(step);
    else actor.send(step);
  }
  return { actor, emitted, snapshot: () => actor.getSnapshot() };
}

const open: ConnectionEvent = { type: 'api.open' };
const opened: Step[] = [open, { type: 'ws.open', protocol: '' }];
const close: ConnectionEvent = { type: 'api.close', code: 1000, reason: '' };
const adopt: ConnectionEvent = { type: 'api.adopt', protocol: '' };
const activity: ConnectionEvent = { type: 'ws.activity' };
const failed = (code: 'ERR_CONNECT_FAILED' | 'ERR_PROTOCOL') => new ConnectionError(code, 'test');

describe('who initiated: set by the first edge out of idle, connecting or open, then never changed', () => {
  const rows: [edge: string, steps: Step[], initiator: Initiator | null, keepalive?: null][] = [
    ['idle --api.open--> connecting', [open], null],
    ['idle --api.adopt [keepaliveOn]--> open.quiet', [adopt], null],
    ['idle --api.adopt--> open.keepalive-off', [adopt], null, null],
    ['idle --api.close--> closed', [close], 'local'],
    ['idle --api.terminate--> closed', [{ type: 'api.terminate' }], 'local'],
    ['connecting --ws.open [keepaliveOn]--> open.quiet', opened, null],
    ['connecting --ws.open--> open.keepalive-off', opened, null, null],
    [
      'connecting --ws.handshake-failed--> closed',
      [open, { type: 'ws.handshake-failed', error: failed('ERR_CONNECT_FAILED') }],
      'remote',
    ],
    ['connecting --xstate.after.connect--> closed', [open, TIMEOUTS.connect], 'local'],
    ['connecting --api.close--> closed', [open, close], 'local'],
    ['connecting --api.terminate--> closed', [open, { type: 'api.terminate' }], 'local'],
    ['open --api.ping--> (stays)', [...opened, { type: 'api.ping' }], null],
    ['open --api.close--> closing-sent', [...opened, close], 'local'],
    [
      'open --ws.close-received--> closing-sent',
      [...opened, { type: 'ws.close-received', code: 1001, reason: '' }],
      'remote',
    ],
    ['open --ws.closed--> closed', [...opened, { type: 'ws.closed', code: 1006, reason: '' }], 'remote'],
    [
      'open --ws.protocol-error--> closed',
      [...opened, { type: 'ws.protocol-error', error: failed('ERR_PROTOCOL') }],
      'local',
    ],
    ['open --api.terminate--> closed', [...opened, { type: 'api.terminate' }], 'local'],
    ['open.quiet --xstate.after.interval--> open.awaiting-pong', [...opened, KEEPALIVE.interval], null],
    ['open.quiet --ws.activity--> open.quiet', [...opened, activity], null],
    [
      'open.awaiting-pong --xstate.after.pong--> closed',
      [...opened, KEEPALIVE.interval, KEEPALIVE.timeout],
      'local',
    ],
    ['open.awaiting-pong --ws.activity--> open.quiet', [...opened, KEEPALIVE.interval, activity], null],
  ];

  it('covers every intended edge out of idle, connecting and open', () => {
    const outOfStart = INTENDED_EDGES.filter((edge) => /^(idle|connecting|open)[ .]/.test(edge));
    expect(rows.map(([edge]) => edge).sort()).toEqual([...outOfStart].sort());
  });

  it.each(rows)('%s', (_edge, steps, initiator, keepalive) => {
    const run = drive(steps, keepalive);
    expect(run.snapshot().context.initiator).toBe(initiator);
    if (initiator === null) return;
    // Whatever happens next (the other side closing too, TCP ending), the initiator stays.
    if (run.snapshot().status === 'active') {
      run.actor.send({ type: 'ws.close-received', code: 1000, reason: '' });
      run.actor.send({ type: 'ws.flushed' });
      run.actor.send({ type: 'ws.closed', code: 1000, reason: '' });
    }
    expect(run.snapshot().status).toBe('done');
    expect(run.snapshot().context.initiator).toBe(initiator);
    expect(run.snapshot().output?.initiator).toBe(initiator);
  });
});

describe('state records', () => {
  it('carry the peer’s Close code and reason when its Close starts the closing handshake', () => {
    const run = drive([...opened, { type: 'ws.close-received', code: 4100, reason: 'peer' }]);
    expect(run.emitted.at(-1)).toStrictEqual({
      type: 'lifecycle.state',
      to: 'closing-sent',
      event: 'ws.close-received',
      detail: { code: 4100, reason: 'peer' },
    });
  });

  it('carry an error’s code, and its HTTP status only when it has one', () => {
    const deadline = drive([...opened, close, { type: 'ws.flushed' }, TIMEOUTS.read]);
    expect(deadline.emitted.at(-1)?.detail).toStrictEqual({
      code: 1006,
      reason: '',
      errorCode: 'ERR_READ_DEADLINE',
    });
    const refused = drive([
      open,
      { type: 'ws.handshake-failed', error: new ConnectionError('ERR_CONNECT_FAILED', 'x', { status: 503 }) },
    ]);
    expect(refused.emitted.at(-1)?.detail).toStrictEqual({
      code: 1006,
      reason: '',
      errorCode: 'ERR_CONNECT_FAILED',
      status: 503,
    });
  });

  it('carry only code and reason for a close without failure', () => {
    const run = drive([
      ...opened,
      close,
      { type: 'ws.flushed' },
      { type: 'ws.close-received', code: 1000, reason: 'ok' },
      { type: 'ws.closed', code: 1000, reason: 'ok' },
    ]);
    expect(run.emitted.at(-1)?.detail).toStrictEqual({ code: 1000, reason: 'ok' });
  });
});

describe('failure messages name the deadline and its value', () => {
  it.each([
    [
      'ERR_CONNECT_TIMEOUT',
      [open, TIMEOUTS.connect],
      'the opening handshake did not complete within 1000 ms (connect deadline); it was aborted',
    ],
    [
      'ERR_WRITE_DEADLINE',
      [...opened, close, TIMEOUTS.write],
      'our Close frame was not written within 300 ms (write deadline); the socket was destroyed',
    ],
    [
      'ERR_READ_DEADLINE',
      [...opened, close, { type: 'ws.flushed' }, TIMEOUTS.read],
      "the peer's Close frame did not arrive within 700 ms (read deadline); the socket was destroyed",
    ],
    [
      'ERR_KEEPALIVE_TIMEOUT',
      [...opened, KEEPALIVE.interval, KEEPALIVE.timeout],
      'no frame arrived within 100 ms of our ping, after 200 ms of silence (keepalive); the connection was failed',
    ],
    [
      'ERR_SOCKET',
      [...opened, { type: 'ws.closed', code: 1006, reason: '' }],
      "the TCP connection ended before the peer's Close frame arrived (1006, RFC 6455 §7.1.5)",
    ],
  ] as [string, Step[], string][])('%s', (code, steps, message) => {
    const error = drive(steps).snapshot().output?.error;
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error?.code).toBe(code);
    expect(error?.message).toBe(message);
  });
});

describe('input and outcome defaults', () => {
  it('without input: connection id "" and the default deadlines', () => {
    // As a JavaScript caller may: `createActor(connectionMachine)` with no options.
    const [snapshot] = initialTransition(m.connectionMachine, undefined as unknown as ConnectionInput);
    expect(snapshot.context.connectionId).toBe('');
    expect(snapshot.context.timeouts).toEqual({ connect: 10_000, write: 5_000, read: 5_000 });
    expect(snapshot.context.keepalive).toEqual({ interval: 20_000, timeout: 10_000 });
    expect(initialTransition(m.connectionMachine, { timeouts: {} })[0].context.connectionId).toBe('');
  });

  it('closeInfoOf a context where nothing happened yet: 1006, not clean, local, no error', () => {
    const [snapshot] = initialTransition(m.connectionMachine, { timeouts: TIMEOUTS });
    expect(m.closeInfoOf(snapshot.context)).toStrictEqual({
      code: 1006,
      reason: '',
      wasClean: false,
      initiator: 'local',
    });
  });
});
