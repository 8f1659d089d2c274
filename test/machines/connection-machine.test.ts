/**
 * The pure machine, without sockets: `transition()` for single steps, a SimulatedClock for deadlines,
 * and recording `transport.*` actions that only collect the commands the machine gives. Grouped by the
 * RFC 6455 process each rule comes from. Keepalive is off here (keepalive.test.ts covers it).
 */

import { describe, expect, it } from 'vitest';
import { initialTransition, transition } from 'xstate';
import { ConnectionError, type ConnectionEvent, connectionMachine } from '../../machines/index.js';
import { start, TIMEOUTS } from './harness.js';

const failed = (code: 'ERR_CONNECT_FAILED' | 'ERR_PROTOCOL') => new ConnectionError(code, 'test');

/** Drives a fresh machine to `open`. */
function opened() {
  const m = start();
  m.send({ type: 'api.open' }, { type: 'ws.open', protocol: '' });
  expect(m.state()).toBe('open');
  return m;
}

describe('initial state', () => {
  it('starts idle with no initiator, nothing received, nothing sent', () => {
    const [snapshot] = initialTransition(connectionMachine, { timeouts: TIMEOUTS });
    expect(snapshot.value).toBe('idle');
    expect(snapshot.context).toMatchObject({
      initiator: null,
      received: null,
      closeSent: false,
      error: null,
    });
    expect(snapshot.context.timeouts).toEqual(TIMEOUTS);
  });

  it('fills missing timeouts with the defaults 10000 / 5000 / 5000', () => {
    const [snapshot] = initialTransition(connectionMachine, { timeouts: { write: 42 } });
    expect(snapshot.context.timeouts).toEqual({ connect: 10_000, write: 42, read: 5_000 });
  });

  it('keeps no URL or header in its context', () => {
    const [snapshot] = initialTransition(connectionMachine, { connectionId: 'c1' });
    expect(Object.keys(snapshot.context).sort()).toEqual(
      ['closeSent', 'connectionId', 'error', 'initiator', 'keepalive', 'received', 'timeouts'].sort(),
    );
  });
});

describe('RFC 6455 §4.1 opening handshake', () => {
  it('asks the socket to connect on api.open', () => {
    const m = start();
    m.send({ type: 'api.open' });
    expect(m.state()).toBe('connecting');
    expect(m.commands).toEqual(['transport.connect']);
  });

  it('is established on ws.open', () => {
    const m = start();
    m.send({ type: 'api.open' }, { type: 'ws.open', protocol: 'chat' });
    expect(m.state()).toBe('open');
    expect(m.emitted.at(-1)).toEqual({
      type: 'lifecycle.state',
      to: 'open',
      event: 'ws.open',
      detail: { protocol: 'chat' },
    });
  });

  it('fails on a refused handshake, initiated by the remote side, keeping the error instance', () => {
    const m = start();
    const error = failed('ERR_CONNECT_FAILED');
    m.send({ type: 'api.open' }, { type: 'ws.handshake-failed', error });
    expect(m.state()).toBe('closed');
    expect(m.output()).toEqual({ code: 1006, reason: '', wasClean: false, initiator: 'remote', error });
    expect(m.output()?.error).toBe(error);
  });

  it('aborts at the connect deadline, not a millisecond earlier', () => {
    const m = start();
    m.send({ type: 'api.open' });
    m.clock.increment(TIMEOUTS.connect - 1);
    expect(m.state()).toBe('connecting');
    m.clock.increment(1);
    expect(m.state()).toBe('closed');
    expect(m.output()?.error?.code).toBe('ERR_CONNECT_TIMEOUT');
    expect(m.output()?.initiator).toBe('local');
    expect(m.commands).toEqual(['transport.connect', 'transport.destroy', 'transport.release']);
  });

  it.each(['api.close', 'api.terminate'] as const)('is aborted by %s without an error', (type) => {
    const m = start();
    m.send({ type: 'api.open' });
    m.send(type === 'api.close' ? { type, code: 1000, reason: '' } : { type });
    expect(m.state()).toBe('closed');
    expect(m.output()).toEqual({ code: 1006, reason: '', wasClean: false, initiator: 'local' });
    expect(m.commands).toEqual(['transport.connect', 'transport.destroy', 'transport.release']);
  });
});

describe('never opened', () => {
  it.each(['api.close', 'api.terminate'] as const)(
    'goes from idle to closed on %s, touching no socket',
    (type) => {
      const m = start();
      m.send(type === 'api.close' ? { type, code: 1000, reason: '' } : { type });
      expect(m.output()).toEqual({ code: 1006, reason: '', wasClean: false, initiator: 'local' });
      // Released, though no socket was ever made.
      expect(m.commands).toEqual(['transport.release']);
    },
  );
});

describe('RFC 6455 §7.1.2 start the closing handshake', () => {
  it('sends our Close with the caller’s code and reason', () => {
    const m = opened();
    m.send({ type: 'api.close', code: 4001, reason: 'bye' });
    expect(m.state()).toBe('closing-sent');
    expect(m.closeCommands).toEqual([{ code: 4001, reason: 'bye' }]);
    expect(m.emitted.at(-1)?.detail).toEqual({ code: 4001, reason: 'bye' });
  });

  it('drains once our Close is written, then closes cleanly on the peer’s Close and the end of TCP (§7.1.4)', () => {
    const m = opened();
    m.send(
      { type: 'api.close', code: 1000, reason: '' },
      { type: 'ws.flushed' },
      { type: 'ws.close-received', code: 1000, reason: 'ok' },
    );
    expect(m.state()).toBe('draining');
    m.send({ type: 'ws.closed', code: 1000, reason: 'ok' });
    expect(m.output()).toEqual({ code: 1000, reason: 'ok', wasClean: true, initiator: 'local' });
    // The server ended TCP: nothing to destroy, only our listeners to remove.
    expect(m.commands).toEqual(['transport.connect', 'transport.close', 'transport.release']);
  });

  it('reports 1005 from a Close without status as the code', () => {
    const m = opened();
    m.send({ type: 'api.close', code: 1000, reason: '' }, { type: 'ws.flushed' });
    m.send(
      { type: 'ws.close-received', code: 1005, reason: '' },
      { type: 'ws.closed', code: 1005, reason: '' },
    );
    expect(m.output()).toMatchObject({ code: 1005, wasClean: true });
  });

  it('destroys the socket at the write deadline when our Close is stuck', () => {
    const m = opened();
    m.send({ type: 'api.close', code: 1000, reason: '' });
    m.clock.increment(TIMEOUTS.write - 1);
    expect(m.state()).toBe('closing-sent');
    m.clock.increment(1);
    expect(m.output()).toMatchObject({ code: 1006, wasClean: false, initiator: 'local' });
    expect(m.output()?.error?.code).toBe('ERR_WRITE_DEADLINE');
    expect(m.commands.slice(-2)).toEqual(['transport.destroy', 'transport.release']);
  });

  it('fails at the read deadline when the peer never answers, counted from entering draining', () => {
    const m = opened();
    m.send({ type: 'api.close', code: 1000, reason: '' });
    m.clock.increment(TIMEOUTS.write - 1); // the write deadline must not carry over
    m.send({ type: 'ws.flushed' });
    m.clock.increment(TIMEOUTS.read - 1);
    expect(m.state()).toBe('draining');
    m.clock.increment(1);
    expect(m.output()?.error?.code).toBe('ERR_READ_DEADLINE');
    expect(m.output()).toMatchObject({ code: 1006, wasClean: false });
    expect(m.commands.slice(-2)).toEqual(['transport.destroy', 'transport.release']);
  });

  it('is not extended by the peer’s Close: then the deadline ends a clean close (§7.1.1)', () => {
    const m = opened();
    m.send({ type: 'api.close', code: 1000, reason: '' }, { type: 'ws.flushed' });
    m.clock.increment(TIMEOUTS.read - 10);
    m.send({ type: 'ws.close-received', code: 1000, reason: '' });
    m.clock.increment(10);
    expect(m.state()).toBe('closed');
    expect(m.output()).toEqual({ code: 1000, reason: '', wasClean: true, initiator: 'local' });
    expect(m.commands.slice(-2)).toEqual(['transport.destroy', 'transport.release']);
  });

  it('keeps the peer’s Close that crosses ours (§7.1.3) while our Close is still queued', () => {
    const m = opened();
    m.send(
      { type: 'api.close', code: 1000, reason: '' },
      { type: 'ws.close-received', code: 1001, reason: 'x' },
    );
    expect(m.state()).toBe('closing-sent');
    m.send({ type: 'ws.flushed' }, { type: 'ws.closed', code: 1001, reason: 'x' });
    expect(m.output()).toEqual({ code: 1001, reason: 'x', wasClean: true, initiator: 'local' });
  });

  it('ignores a repeated close: the first handshake goes on', () => {
    const m = opened();
    m.send(
      { type: 'api.close', code: 4001, reason: 'first' },
      { type: 'api.close', code: 4002, reason: 'second' },
    );
    m.send({ type: 'ws.flushed' }, { type: 'api.close', code: 4003, reason: 'third' });
    expect(m.closeCommands).toEqual([{ code: 4001, reason: 'first' }]);
    expect(m.state()).toBe('draining');
  });
});

describe('RFC 6455 §7.1.3 the peer starts the closing handshake', () => {
  it('answers (ws echoes by itself), keeps initiator remote and passes through closing-sent and draining', () => {
    const m = opened();
    m.send({ type: 'ws.close-received', code: 1001, reason: 'going away' });
    expect(m.state()).toBe('closing-sent');
    expect(m.closeCommands).toEqual([{}]);
    m.send({ type: 'ws.flushed' });
    expect(m.state()).toBe('draining');
    m.send({ type: 'ws.closed', code: 1001, reason: 'going away' });
    expect(m.output()).toEqual({ code: 1001, reason: 'going away', wasClean: true, initiator: 'remote' });
    expect(m.emitted.map((e) => e.to)).toEqual([
      'idle',
      'connecting',
      'open',
      'closing-sent',
      'draining',
      'closed',
    ]);
  });

  it('is not clean when TCP ends before our answer was written', () => {
    const m = opened();
    m.send(
      { type: 'ws.close-received', code: 1001, reason: '' },
      { type: 'ws.closed', code: 1001, reason: '' },
    );
    expect(m.output()).toEqual({ code: 1001, reason: '', wasClean: false, initiator: 'remote' });
  });

  it('never changes the initiator once set', () => {
    const m = opened();
    m.send(
      { type: 'api.close', code: 1000, reason: '' },
      { type: 'ws.close-received', code: 1000, reason: '' },
    );
    m.send({ type: 'ws.closed', code: 1000, reason: '' });
    expect(m.output()?.initiator).toBe('local');
  });
});

describe('RFC 6455 §7.1.5 abnormal closure (1006)', () => {
  it.each([
    ['open', [] as ConnectionEvent[], 'remote'],
    ['closing-sent', [{ type: 'api.close', code: 1000, reason: '' }] as ConnectionEvent[], 'local'],
    [
      'draining',
      [{ type: 'api.close', code: 1000, reason: '' }, { type: 'ws.flushed' }] as ConnectionEvent[],
      'local',
    ],
  ])('TCP ending in %s without the peer’s Close is ERR_SOCKET', (_state, before, initiator) => {
    const m = opened();
    m.send(...before, { type: 'ws.closed', code: 1006, reason: '' });
    expect(m.output()).toMatchObject({ code: 1006, wasClean: false, initiator });
    expect(m.output()?.error?.code).toBe('ERR_SOCKET');
  });
});

describe('RFC 6455 §7.1.7 fail the WebSocket connection', () => {
  it.each([
    ['open', [] as ConnectionEvent[]],
    ['closing-sent', [{ type: 'api.close', code: 1000, reason: '' }] as ConnectionEvent[]],
    [
      'draining',
      [{ type: 'api.close', code: 1000, reason: '' }, { type: 'ws.flushed' }] as ConnectionEvent[],
    ],
  ])('a protocol error in %s closes at once with ERR_PROTOCOL, initiated locally', (_state, before) => {
    const m = opened();
    const error = failed('ERR_PROTOCOL');
    m.send(...before, { type: 'ws.protocol-error', error });
    expect(m.output()).toMatchObject({ code: 1006, wasClean: false, initiator: 'local' });
    expect(m.output()?.error).toBe(error);
    expect(m.commands.slice(-2)).toEqual(['transport.destroy', 'transport.release']);
  });
});

describe('terminate (close the connection, no handshake)', () => {
  it.each([
    ['open', [] as ConnectionEvent[], { code: 1006, wasClean: false }],
    [
      'closing-sent',
      [{ type: 'api.close', code: 1000, reason: '' }] as ConnectionEvent[],
      { code: 1006, wasClean: false },
    ],
    [
      'draining after the peer’s Close',
      [
        { type: 'api.close', code: 1000, reason: '' },
        { type: 'ws.flushed' },
        { type: 'ws.close-received', code: 4000, reason: 'r' },
      ] as ConnectionEvent[],
      { code: 4000, wasClean: true },
    ],
  ])('escalates from %s at once, without an error', (_state, before, expected) => {
    const m = opened();
    m.send(...before, { type: 'api.terminate' });
    expect(m.output()).toMatchObject({ ...expected, initiator: 'local' });
    expect(m.output()?.error).toBeUndefined();
    expect(m.commands.slice(-2)).toEqual(['transport.destroy', 'transport.release']);
  });
});

describe('recorded state changes', () => {
  it('emits one record per top-level change, with the event and what decided it', () => {
    const m = opened();
    m.send({ type: 'api.close', code: 4000, reason: 'done' }, { type: 'ws.flushed' });
    m.clock.increment(TIMEOUTS.read);
    expect(m.emitted).toEqual([
      { type: 'lifecycle.state', to: 'idle', event: 'xstate.init' },
      { type: 'lifecycle.state', to: 'connecting', event: 'api.open' },
      { type: 'lifecycle.state', to: 'open', event: 'ws.open' },
      {
        type: 'lifecycle.state',
        to: 'closing-sent',
        event: 'api.close',
        detail: { code: 4000, reason: 'done' },
      },
      { type: 'lifecycle.state', to: 'draining', event: 'ws.flushed' },
      {
        type: 'lifecycle.state',
        to: 'closed',
        event: 'xstate.after.read.connection.draining',
        detail: { code: 1006, reason: '', errorCode: 'ERR_READ_DEADLINE' },
      },
    ]);
  });

  it('does not record a change that stays in the same top-level state', () => {
    const m = opened();
    m.send(
      { type: 'api.close', code: 1000, reason: '' },
      { type: 'ws.close-received', code: 1000, reason: '' },
    );
    expect(m.emitted.map((e) => e.to)).toEqual(['idle', 'connecting', 'open', 'closing-sent']);
  });

  it('records the HTTP status of a refused upgrade', () => {
    const m = start();
    const error = new ConnectionError('ERR_CONNECT_FAILED', 'HTTP 403', { status: 403 });
    m.send({ type: 'api.open' }, { type: 'ws.handshake-failed', error });
    expect(m.emitted.at(-1)?.detail).toEqual({
      code: 1006,
      reason: '',
      errorCode: 'ERR_CONNECT_FAILED',
      status: 403,
    });
  });
});

describe('transition() is pure', () => {
  it('gives the same next snapshot for the same input and leaves the old one untouched', () => {
    const [initial] = initialTransition(connectionMachine, { timeouts: TIMEOUTS });
    const [a] = transition(connectionMachine, initial, { type: 'api.open' });
    const [b] = transition(connectionMachine, initial, { type: 'api.open' });
    expect(a.value).toBe('connecting');
    expect(b.value).toBe('connecting');
    expect(initial.value).toBe('idle');
  });
});
