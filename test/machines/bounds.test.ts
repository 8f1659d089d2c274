/**
 * The bounds of machines/bounds.ts, proved three ways, none of which reads the walk's own arithmetic:
 * - from the spec: the numbers docs/lifecycle.md's deadline table implies (write + read for a close;
 *   interval + timeout for a silent peer while open), for the defaults and for random options;
 * - by traversal: every simple path xstate/graph finds from each state to `closed`, costed with a
 *   hand-written table of which deadline each state arms; none exceeds the bound and one reaches it;
 * - by running: the worst path driven through a real actor with a SimulatedClock ends exactly at the
 *   bound (less the 1 ms by which each raced event beats its deadline).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type AnyStateMachine,
  assign,
  createActor,
  createMachine,
  fromPromise,
  initialTransition,
  SimulatedClock,
  sendTo,
  spawnChild,
  stopChild,
  transition,
} from 'xstate';
import { getSimplePaths } from 'xstate/graph';
import {
  type BoundTable,
  closeBounds,
  deadPeerBounds,
  machineBounds,
  managedCloseBounds,
  type StateBound,
  worstCaseCloseMs,
  worstCaseManagedCloseMs,
} from '../../machines/bounds.js';
import { ConnectionError } from '../../machines/connection-error.js';
import { connectionMachine } from '../../machines/connection-machine.js';
import { supervisorMachine } from '../../machines/supervisor-machine.js';
import type { SupervisorEvent } from '../../machines/supervisor-types.js';
import type { ConnectionEvent, ConnectionInput, Keepalive, Timeouts } from '../../machines/types.js';
import { stateNodes } from './edges.js';

type Snapshot = ReturnType<typeof connectionMachine.getInitialSnapshot>;

const DEFAULTS: Timeouts & Keepalive = {
  connect: 10_000,
  write: 5_000,
  read: 5_000,
  interval: 20_000,
  timeout: 10_000,
};

/** One event of each type, for driving and for traversal. */
const EVENTS: Record<ConnectionEvent['type'], ConnectionEvent> = {
  'api.open': { type: 'api.open' },
  'api.adopt': { type: 'api.adopt', protocol: '' },
  'api.close': { type: 'api.close', code: 1000, reason: 'bye' },
  'api.terminate': { type: 'api.terminate' },
  'api.ping': { type: 'api.ping' },
  'ws.open': { type: 'ws.open', protocol: '' },
  'ws.handshake-failed': {
    type: 'ws.handshake-failed',
    error: new ConnectionError('ERR_CONNECT_FAILED', 'test'),
  },
  'ws.close-received': { type: 'ws.close-received', code: 1001, reason: 'away' },
  'ws.flushed': { type: 'ws.flushed' },
  'ws.closed': { type: 'ws.closed', code: 1006, reason: '' },
  'ws.protocol-error': { type: 'ws.protocol-error', error: new ConnectionError('ERR_PROTOCOL', 'test') },
  'ws.activity': { type: 'ws.activity' },
};

/**
 * Which deadline each state arms, from docs/lifecycle.md (Deadlines) and the keepalive option's docs;
 * `null`: none (the state waits on the caller or on the peer).
 */
function deadlineOf(state: string, o: Timeouts & Keepalive): number | null {
  switch (state) {
    case 'connecting':
      return o.connect;
    case 'open.quiet':
      return o.interval;
    case 'open.awaiting-pong':
      return o.timeout;
    case 'closing-sent':
      return o.write;
    case 'draining':
      return o.read;
    default:
      return null;
  }
}

/** The events a silent peer and an idle caller leave possible: none that needs bytes from the peer. */
const DEAD_PEER_EVENTS: ConnectionEvent[] = [
  EVENTS['ws.flushed'],
  EVENTS['ws.closed'],
  EVENTS['ws.handshake-failed'],
];

/** How to get to each state from idle: events, or a number of ms to let pass. */
const ROUTES: Record<string, ReadonlyArray<ConnectionEvent['type'] | 'interval'>> = {
  idle: [],
  connecting: ['api.open'],
  'open.quiet': ['api.open', 'ws.open'],
  'open.keepalive-off': ['api.open', 'ws.open'],
  'open.awaiting-pong': ['api.open', 'ws.open', 'interval'],
  'closing-sent': ['api.open', 'ws.open', 'api.close'],
  draining: ['api.open', 'ws.open', 'api.close', 'ws.flushed'],
  closed: ['api.terminate'],
};

function label(value: unknown): string {
  if (typeof value === 'string') return value;
  const [parent, child] = Object.entries(value as Record<string, unknown>)[0] ?? [];
  return `${parent}.${label(child)}`;
}

function inputOf(o: Timeouts & Keepalive, keepalive: boolean): ConnectionInput {
  return {
    timeouts: { connect: o.connect, write: o.write, read: o.read },
    keepalive: keepalive ? { interval: o.interval, timeout: o.timeout } : null,
  };
}

function optionsOf(o: Timeouts & Keepalive, keepalive: boolean) {
  return {
    timeouts: { connect: o.connect, write: o.write, read: o.read },
    keepalive: keepalive ? { interval: o.interval, timeout: o.timeout } : (false as const),
  };
}

/** A snapshot in `state`, reached with `transition()` along its route. */
function snapshotIn(state: string, input: ConnectionInput): Snapshot {
  let [snapshot] = initialTransition(connectionMachine, input);
  for (const step of ROUTES[state] ?? []) {
    const event =
      step === 'interval'
        ? ({ type: 'xstate.after.interval.connection.open.quiet' } as unknown as ConnectionEvent)
        : EVENTS[step];
    [snapshot] = transition(connectionMachine, snapshot, event);
  }
  expect(label(snapshot.value)).toBe(state);
  return snapshot;
}

/** Every deadline event of the machine (`xstate.after.<delay>.<state id>`), read from its graph. */
const DEADLINE_EVENTS = stateNodes(connectionMachine).flatMap((node) =>
  node.after.map((t) => ({ type: t.eventType }) as unknown as ConnectionEvent),
);

/**
 * The cost of a path: each visit to a state lasts at most the deadline it arms (an event may come just
 * before it), and exactly that when the deadline ends it; a visit to a state with no deadline, left
 * again, may last forever. Steps that stay in the state (the peer's Close while closing) are one visit.
 */
function pathCost(states: string[], o: Timeouts & Keepalive): number {
  let cost = 0;
  for (let i = 0; i < states.length - 1; i++) {
    if (states[i + 1] === states[i]) continue;
    cost += deadlineOf(states[i] as string, o) ?? Number.POSITIVE_INFINITY;
  }
  return cost;
}

/** The cost of every simple path from `from` to `closed` with these events (xstate/graph). */
function pathCosts(
  from: Snapshot,
  events: ConnectionEvent[],
  o: Timeouts & Keepalive,
  input: ConnectionInput,
) {
  const paths = getSimplePaths(connectionMachine, {
    fromState: from,
    input,
    events,
    // Nodes by state and what the guards read, so a Close received while closing is a step of its own.
    serializeState: (s) =>
      `${label(s.value)}|${s.context.received ? 'peer-closed' : ''}|${s.context.closeSent ? 'sent' : ''}`,
    toState: (s) => s.status === 'done',
  });
  return paths
    .filter((p) => p.state.status === 'done')
    .map((p) => {
      const states = p.steps.map((step) => label(step.state.value));
      // steps[0] is the start itself when the traversal records it; a path always starts at `from`.
      if (states[0] !== label(from.value)) states.unshift(label(from.value));
      return { cost: pathCost(states, o), states };
    });
}

function bound(table: BoundTable, state: string): StateBound {
  const found = table.states.find((s) => s.state === state);
  if (!found) throw new Error(`no bound for ${state}`);
  return found;
}

const ms = fc.integer({ min: 1, max: 100_000 });
const options = fc.record({ connect: ms, write: ms, read: ms, interval: ms, timeout: ms });

describe('worstCaseCloseMs: the longest close(), from any state (RFC 6455 §7.1.1 under our two deadlines)', () => {
  it('is write + read for the defaults: 10 000 ms', () => {
    expect(worstCaseCloseMs()).toBe(10_000);
    expect(worstCaseCloseMs({})).toBe(10_000);
  });

  it('per state: nothing to wait for before open, write + read while open or closing-sent, read once draining', () => {
    const table = closeBounds();
    expect(table.states.map((s) => [s.state, s.ms])).toEqual([
      ['idle', 0],
      ['connecting', 0],
      ['open.quiet', 10_000],
      ['open.awaiting-pong', 10_000],
      ['closing-sent', 10_000],
      ['draining', 5_000],
      ['closed', 0],
    ]);
    expect(table.maxMs).toBe(10_000);
    expect(table.worst).toBe('open.quiet');
  });

  it('covers keepalive-off instead of the keepalive sub-states when keepalive is off', () => {
    const table = closeBounds({ keepalive: false });
    expect(table.states.map((s) => s.state)).toEqual([
      'idle',
      'connecting',
      'open.keepalive-off',
      'closing-sent',
      'draining',
      'closed',
    ]);
    expect(bound(table, 'open.keepalive-off').ms).toBe(10_000);
  });

  it('is write + read for any deadlines, and the keepalive does not change it', () => {
    fc.assert(
      fc.property(options, fc.boolean(), (o, keepalive) => {
        expect(worstCaseCloseMs(optionsOf(o, keepalive))).toBe(o.write + o.read);
        const table = closeBounds(optionsOf(o, keepalive));
        expect(bound(table, 'draining').ms).toBe(o.read);
        expect(bound(table, 'connecting').ms).toBe(0);
      }),
      { numRuns: 30 },
    );
  });

  it('reads partial timeouts over the defaults, and ignores the rest of a connection’s options', () => {
    expect(worstCaseCloseMs({ timeouts: { write: 1 } })).toBe(1 + DEFAULTS.read);
    expect(worstCaseCloseMs({ timeouts: { read: 2, connect: 3 } })).toBe(DEFAULTS.write + 2);
    const connectionOptions = { timeouts: { write: 7, read: 8 }, protocols: ['chat'], trail: false };
    expect(worstCaseCloseMs(connectionOptions)).toBe(15);
  });
});

describe('deadPeerBounds: a connection nobody closes ends within the bound once its peer is silent', () => {
  it('from each state, with the defaults: the deadline of the state and of those it must go through', () => {
    const table = deadPeerBounds();
    expect(table.states.map((s) => [s.state, s.ms])).toEqual([
      ['idle', Number.POSITIVE_INFINITY], // nothing on the network: only open() moves it
      ['connecting', 10_000],
      ['open.quiet', 30_000], // interval, then the ping's timeout
      ['open.awaiting-pong', 10_000],
      ['closing-sent', 10_000], // our Close written just before the write deadline, then read
      ['draining', 5_000],
      ['closed', 0],
    ]);
    expect(table.maxMs).toBe(30_000);
    expect(table.worst).toBe('open.quiet');
  });

  it('with keepalive off: open waits on the caller alone (∞), connecting is still bounded by connect', () => {
    const table = deadPeerBounds({ keepalive: false });
    expect(bound(table, 'open.keepalive-off').ms).toBe(Number.POSITIVE_INFINITY);
    expect(bound(table, 'connecting').ms).toBe(10_000);
    expect(table.maxMs).toBe(Number.POSITIVE_INFINITY);
    expect(table.worst).toBe('open.keepalive-off');
  });

  it('for any options: connect, interval + timeout, timeout, write + read, read; the max over all but idle', () => {
    fc.assert(
      fc.property(options, (o) => {
        const table = deadPeerBounds(optionsOf(o, true));
        expect(bound(table, 'connecting').ms).toBe(o.connect);
        expect(bound(table, 'open.quiet').ms).toBe(o.interval + o.timeout);
        expect(bound(table, 'open.awaiting-pong').ms).toBe(o.timeout);
        expect(bound(table, 'closing-sent').ms).toBe(o.write + o.read);
        expect(bound(table, 'draining').ms).toBe(o.read);
        expect(table.maxMs).toBe(Math.max(o.connect, o.interval + o.timeout, o.write + o.read));
      }),
      { numRuns: 30 },
    );
  });

  it('a partial keepalive takes the rest from the defaults; heartbeat functions change nothing', () => {
    expect(bound(deadPeerBounds({ keepalive: { interval: 100 } }), 'open.quiet').ms).toBe(
      100 + DEFAULTS.timeout,
    );
    const heartbeat = { interval: 100, timeout: 50, message: () => 'ping', isPong: () => true };
    expect(bound(deadPeerBounds({ keepalive: heartbeat }), 'open.quiet').ms).toBe(150);
  });
});

describe('the bounds hold on every path the graph has (xstate/graph simple paths), and are reached', () => {
  const cases = [
    { name: 'the defaults', o: DEFAULTS },
    { name: 'distinct deadlines', o: { connect: 11, write: 3, read: 7, interval: 13, timeout: 5 } },
    { name: 'write longer than read', o: { connect: 2, write: 900, read: 40, interval: 1, timeout: 1 } },
  ];

  it.each(cases)('close() from every state, $name', ({ o }) => {
    for (const keepalive of [true, false]) {
      const input = inputOf(o, keepalive);
      const table = closeBounds(optionsOf(o, keepalive));
      for (const state of table.states) {
        const before = snapshotIn(state.state, input);
        const [after] = transition(connectionMachine, before, EVENTS['api.close']);
        const events = [...Object.values(EVENTS), ...DEADLINE_EVENTS];
        const costs = after.status === 'done' ? [0] : pathCosts(after, events, o, input).map((p) => p.cost);
        expect(costs.length, state.state).toBeGreaterThan(0);
        expect(Math.max(...costs), `${state.state}: the longest path`).toBe(state.ms);
      }
    }
  });

  it.each(cases)('a silent peer from every state, $name', ({ o }) => {
    for (const keepalive of [true, false]) {
      const input = inputOf(o, keepalive);
      const table = deadPeerBounds(optionsOf(o, keepalive));
      for (const state of table.states) {
        const from = snapshotIn(state.state, input);
        const paths =
          from.status === 'done'
            ? [{ cost: 0 }]
            : pathCosts(from, [...DEAD_PEER_EVENTS, ...DEADLINE_EVENTS], o, input);
        // idle reaches closed on no allowed event: it waits on the caller, forever.
        const longest = paths.length === 0 ? Number.POSITIVE_INFINITY : Math.max(...paths.map((p) => p.cost));
        expect(longest, state.state).toBe(state.ms);
      }
    }
  });

  it('the traversal finds the paths it should (a sanity check of the checker itself)', () => {
    const input = inputOf(DEFAULTS, true);
    const [after] = transition(connectionMachine, snapshotIn('open.quiet', input), EVENTS['api.close']);
    const paths = pathCosts(after, [...Object.values(EVENTS), ...DEADLINE_EVENTS], DEFAULTS, input);
    const routes = paths.map((p) => p.states.join(' → '));
    expect(routes).toContain('closing-sent → closed'); // the write deadline, or TCP lost
    expect(routes).toContain('closing-sent → draining → closed');
    expect(routes).toContain('closing-sent → closing-sent → draining → closed'); // the peer's Close first
    expect(Math.min(...paths.map((p) => p.cost))).toBe(DEFAULTS.write);
  });
});

/**
 * Drives `witness` through a real actor with a SimulatedClock: deadlines fire on their own, events are
 * sent at their time, a raced one 1 ms before the deadline it beats. Returns when closed was reached,
 * from the start of the witness, and how many events were raced.
 */
function drive(state: string, table: BoundTable, input: ConnectionInput, withClose: boolean) {
  const clock = new SimulatedClock();
  const actor = createActor(connectionMachine, { clock, input });
  actor.start();
  for (const step of ROUTES[state] ?? []) {
    if (step === 'interval') clock.increment(input.keepalive?.interval ?? 0);
    else actor.send(EVENTS[step]);
  }
  expect(label(actor.getSnapshot().value)).toBe(state);
  const t0 = clock.now();
  let lag = 0;
  let closedAt: number | null = null;
  actor.subscribe({ complete: () => (closedAt = clock.now() - t0) });
  if (withClose) actor.send(EVENTS['api.close']);
  const steps = bound(table, state).witness.filter((step, i) => !(i === 0 && step.event === 'api.close'));
  for (const step of steps) {
    const at = t0 + step.atMs - lag;
    if (step.event.startsWith('xstate.after.')) {
      expect(actor.getSnapshot().status).toBe('active');
      clock.increment(at - clock.now());
    } else {
      expect(step.raced).toBe(true); // nothing in a witness waits less than the deadline it races
      lag += 1;
      clock.increment(at - 1 - clock.now());
      expect(actor.getSnapshot().status, `${step.event} comes before closed`).toBe('active');
      actor.send(EVENTS[step.event as ConnectionEvent['type']]);
    }
  }
  actor.stop();
  return { closedAt, lag };
}

describe('the worst path, run through an actor with a SimulatedClock, ends exactly at the bound', () => {
  const o = { connect: 400, write: 300, read: 700, interval: 200, timeout: 100 };

  it.each([true, false])('close() from every state (keepalive %s)', (keepalive) => {
    const input = inputOf(o, keepalive);
    const table = closeBounds(optionsOf(o, keepalive));
    for (const state of table.states) {
      if (state.state === 'closed') continue;
      const { closedAt, lag } = drive(state.state, table, input, true);
      expect(closedAt, state.state).toBe(state.ms - lag);
    }
  });

  it('the worst close: our Close written 1 ms before the write deadline, then the whole read deadline', () => {
    const worst = drive('open.keepalive-off', closeBounds(optionsOf(o, false)), inputOf(o, false), true);
    expect(worst).toEqual({ closedAt: o.write + o.read - 1, lag: 1 });
  });

  it('a silent peer from every state with a deadline', () => {
    const input = inputOf(o, true);
    const table = deadPeerBounds(optionsOf(o, true));
    for (const state of table.states) {
      if (state.state === 'closed' || state.ms === Number.POSITIVE_INFINITY) continue;
      const { closedAt, lag } = drive(state.state, table, input, false);
      expect(closedAt, state.state).toBe(state.ms - lag);
    }
    expect(drive('open.quiet', table, input, false)).toEqual({ closedAt: o.interval + o.timeout, lag: 0 });
  });
});

describe('the walk refuses what it cannot bound (proof obligations)', () => {
  it('a live peer can hold a connection open forever: with ws.activity allowed, the walk finds the cycle', () => {
    expect(() =>
      machineBounds(connectionMachine, {
        input: {},
        events: Object.values(EVENTS),
        allow: (type) => !type.startsWith('api.'),
      }),
    ).toThrow(/come back to open\.quiet .*no bound/);
  });

  it('two deadlines that lead to each other have no bound', () => {
    const pingPong = createMachine({
      initial: 'a',
      states: { a: { after: { 10: 'b' } }, b: { after: { 10: 'a' } } },
    });
    expect(() => machineBounds(pingPong, { events: [] })).toThrow(/no bound/);
  });

  it('a deadline that re-enters its own state has no bound', () => {
    const again = createMachine({
      initial: 'a',
      states: {
        a: { after: { 5: { target: 'a', reenter: true } }, on: { stop: 'done' } },
        done: { type: 'final' },
      },
    });
    expect(() => machineBounds(again, { events: [{ type: 'stop' }] })).toThrow(/no bound/);
  });

  it('refuses to walk a machine with an event it has no sample of, or to start on one', () => {
    const events = Object.values(EVENTS).filter((e) => e.type !== 'ws.flushed');
    expect(() => machineBounds(connectionMachine, { input: {}, events })).toThrow(
      'bounds: the machine takes ws.flushed, which the walk has no event for',
    );
    expect(() =>
      machineBounds(connectionMachine, { events: Object.values(EVENTS), start: 'api.shut' }),
    ).toThrow('bounds: no event api.shut');
  });

  it('a context that counts without end is refused after 10 000 steps, unless the key leaves the count out', () => {
    const counter = createMachine({
      types: {} as { context: { n: number } },
      context: { n: 0 },
      initial: 'a',
      states: {
        a: { after: { 5: 'done' }, on: { tick: { actions: assign({ n: ({ context }) => context.n + 1 }) } } },
        done: { type: 'final' },
      },
    });
    expect(() => machineBounds(counter, { events: [{ type: 'tick' }] })).toThrow(/more than 10000 steps/);
    const table = machineBounds(counter, { events: [{ type: 'tick' }], key: (snapshot) => snapshot.value });
    expect(table.maxMs).toBe(5);
  });

  it('an event that makes the machine fail (a child’s error nobody handles) is refused', () => {
    const failing = createMachine({
      initial: 'a',
      states: {
        a: { invoke: { id: 'kid', src: createMachine({}) }, after: { 5: 'done' } },
        done: { type: 'final' },
      },
    });
    const events = [{ type: 'xstate.error.actor.kid', error: new Error('boom') }];
    expect(() => machineBounds(failing, { events })).toThrow(
      /xstate\.error\.actor\.kid makes the machine fail/,
    );
  });

  it('a deadline whose guard refuses leaves the state waiting, with no deadline left: ∞', () => {
    const guarded = createMachine({
      initial: 'a',
      states: {
        a: { after: { 10: { guard: () => false, target: 'done' } }, on: { go: 'done' } },
        done: { type: 'final' },
      },
    });
    const table = machineBounds(guarded, { events: [{ type: 'go' }] });
    expect(bound(table, 'a').ms).toBe(Number.POSITIVE_INFINITY);
    expect(table.worst).toBe('a');
  });

  it('a child told to close twice ends when the first close says; stopping it cancels its end', () => {
    const kid = createMachine({});
    const parent = (stopInC: boolean) =>
      createMachine({
        entry: spawnChild(kid, { id: 'kid' }),
        initial: 'a',
        states: {
          a: { on: { close: { target: 'b', actions: sendTo('kid', { type: 'api.close' }) } } },
          b: { after: { 4: 'c' }, on: { 'xstate.done.actor.kid': 'done' } },
          c: {
            entry: stopInC ? stopChild('kid') : sendTo('kid', { type: 'api.close' }),
            on: { 'xstate.done.actor.kid': 'done' },
          },
          done: { type: 'final' },
        },
      });
    const children = { kid: { closeMs: 10, done: { type: 'xstate.done.actor.kid' } } };
    const events = [{ type: 'close' }, { type: 'xstate.done.actor.kid' }];
    // close at 0 arms 10; the second close at 4 does not re-arm it (4 + 10 would be 14).
    const twice = machineBounds(parent(false), { events, children, start: 'close' });
    expect(bound(twice, 'a').ms).toBe(10);
    expect(bound(twice, 'a').witness.at(-1)).toEqual({
      event: 'xstate.done.actor.kid',
      atMs: 10,
      raced: false,
    });
    // Stopped in c: nothing will end it.
    const stopped = machineBounds(parent(true), { events, children, start: 'close' });
    expect(bound(stopped, 'a').ms).toBe(Number.POSITIVE_INFINITY);
    // Without the child declared, b waits 4 ms and c forever.
    expect(machineBounds(parent(false), { events, start: 'close' }).maxMs).toBe(Number.POSITIVE_INFINITY);
  });

  it('names parallel states by each region, and the max covers every state unless told otherwise', () => {
    const parallel = createMachine({
      initial: 'p',
      states: {
        p: {
          type: 'parallel',
          states: { x: { initial: 'x1', states: { x1: {} } }, y: { initial: 'y1', states: { y1: {} } } },
          after: { 7: 'done' },
        },
        done: { type: 'final' },
      },
    });
    const table = machineBounds(parallel, { events: [] });
    expect(table.states.map((s) => s.state)).toContain('p.x.x1,y.y1');
    expect(table.maxMs).toBe(7);
    expect(machineBounds(parallel, { events: [], skipInitial: true }).maxMs).toBe(0);
  });

  it('an acyclic machine gets its longest chain of deadlines, events costing the time they can wait', () => {
    const chain: AnyStateMachine = createMachine({
      initial: 'a',
      states: {
        a: { after: { 10: 'b' }, on: { skip: 'c' } },
        b: { after: { 20: 'done' } },
        c: { after: { 30: 'done' } },
        done: { type: 'final' },
      },
    });
    const table = machineBounds(chain, { events: [{ type: 'skip' }] });
    // a lasts at most 10 ms whichever way it ends; from c 30 more: 40 (not 30, not 10 + 20).
    expect(table.states.map((s) => [s.state, s.ms])).toEqual([
      ['a', 40],
      ['b', 20],
      ['c', 30],
      ['done', 0],
    ]);
    expect(bound(table, 'a').witness).toEqual([
      { event: 'skip', atMs: 10, raced: true },
      { event: 'xstate.after.30.(machine).c', atMs: 40, raced: false },
    ]);
  });
});

describe('options are checked as createConnection checks them: ERR_INVALID_OPTIONS, nothing computed', () => {
  const refused: Array<[string, unknown, RegExp]> = [
    ['not an object', 5, /bounds options must be an object, got number/],
    ['null', null, /got null/],
    ['an array', [], /got array/],
    ['timeouts not an object', { timeouts: 'fast' }, /timeouts must be an object, got string/],
    ['an unknown timeout', { timeouts: { close: 5 } }, /unknown timeouts option "close"/],
    [
      'a zero deadline',
      { timeouts: { write: 0 } },
      /timeouts\.write must be an integer number of ms from 1 to 2147483647, got 0/,
    ],
    ['a fraction', { timeouts: { read: 1.5 } }, /timeouts\.read .* got 1\.5/],
    ['a string', { timeouts: { connect: '5' } }, /timeouts\.connect .* got string/],
    ['over 2^31−1', { timeouts: { connect: 2 ** 31 } }, /got 2147483648/],
    ['NaN', { timeouts: { write: Number.NaN } }, /got NaN/],
    ['keepalive true', { keepalive: true }, /keepalive must be an object, got boolean/],
    ['keepalive null', { keepalive: null }, /keepalive must be an object, got null/],
    ['an unknown keepalive option', { keepalive: { every: 5 } }, /unknown keepalive option "every"/],
    ['a negative interval', { keepalive: { interval: -1 } }, /keepalive\.interval .* got -1/],
  ];

  it.each(refused)('%s', (_, value, message) => {
    for (const fn of [worstCaseCloseMs, closeBounds, deadPeerBounds]) {
      const call = () => fn(value as never);
      expect(call).toThrow(ConnectionError);
      expect(call).toThrow(message);
      try {
        call();
      } catch (error) {
        expect((error as ConnectionError).code).toBe('ERR_INVALID_OPTIONS');
      }
    }
  });

  it('accepts the limits themselves and an explicit undefined', () => {
    expect(worstCaseCloseMs({ timeouts: { write: 1, read: 2 ** 31 - 1 } })).toBe(2 ** 31);
    expect(worstCaseCloseMs({ timeouts: { write: undefined }, keepalive: undefined })).toBe(10_000);
  });
});

// ---------------------------------------------------------------------------------------------------
// The managed connection (machines/supervisor-machine.ts): close() from any supervisor state.

const dropped = {
  code: 1006,
  reason: '',
  wasClean: false,
  initiator: 'remote' as const,
  error: new ConnectionError('ERR_SOCKET', 'test'),
};
const SUPERVISOR_EVENTS: Record<string, SupervisorEvent> = {
  'api.open': { type: 'api.open' },
  'api.close': { type: 'api.close', code: 1000, reason: 'bye' },
  'api.reconnect': { type: 'api.reconnect' },
  'attempt open': { type: 'xstate.snapshot.attempt', snapshot: { value: { open: 'keepalive-off' } } },
  'attempt done': { type: 'xstate.done.actor.attempt', output: dropped },
  'attempt failed': { type: 'xstate.error.actor.attempt', error: new Error('test') },
  'onOpen done': { type: 'xstate.done.actor.onOpen', output: undefined },
  'onOpen failed': { type: 'xstate.error.actor.onOpen', error: new Error('test') },
};

/** How to get to each supervisor state from idle (docs/managed.md's states). */
const SUPERVISOR_ROUTES: Record<string, string[]> = {
  idle: [],
  'connecting.handshake': ['api.open'],
  'connecting.preparing': ['api.open', 'attempt open'],
  'connecting.failing': ['api.open', 'attempt open', 'onOpen failed'],
  'connecting.releasing': ['api.open', 'api.reconnect'],
  'open.unstable': ['api.open', 'attempt open', 'onOpen done'],
  'open.stable': [
    'api.open',
    'attempt open',
    'onOpen done',
    'xstate.after.minUptime.supervisor.open.unstable',
  ],
  waiting: ['api.open', 'attempt done'],
  closing: ['api.open', 'api.close'],
  closed: ['api.close'],
};

function supervisorIn(state: string) {
  let [snapshot] = initialTransition(supervisorMachine, {});
  for (const step of SUPERVISOR_ROUTES[state] ?? []) {
    const event = SUPERVISOR_EVENTS[step] ?? ({ type: step } as unknown as SupervisorEvent);
    [snapshot] = transition(supervisorMachine, snapshot, event);
  }
  expect(label(snapshot.value)).toBe(state);
  return snapshot;
}

describe('worstCaseManagedCloseMs: close() of a managed connection, from any supervisor state', () => {
  it('is the attempt’s own close bound, write + read: 10 000 ms for the defaults', () => {
    expect(worstCaseManagedCloseMs()).toBe(10_000);
  });

  it('per state: nothing to wait for while idle or waiting; otherwise the attempt closes under its deadlines', () => {
    const table = managedCloseBounds();
    expect(table.states.map((s) => [s.state, s.ms])).toEqual([
      ['idle', 0],
      ['connecting.handshake', 10_000],
      ['connecting.preparing', 10_000],
      ['connecting.failing', 10_000],
      ['connecting.releasing', 10_000],
      ['open.unstable', 10_000],
      ['open.stable', 10_000],
      ['waiting', 0],
      ['closing', 10_000],
      ['closed', 0],
    ]);
    // The supervisor adds no wait of its own: only the attempt's end moves closing on.
    expect(bound(table, 'open.stable').witness).toEqual([
      { event: 'api.close', atMs: 0, raced: false },
      { event: 'xstate.done.actor.attempt', atMs: 10_000, raced: false },
    ]);
  });

  it('for any deadlines and backoff: write + read; reconnect off drops the waiting state', () => {
    fc.assert(
      fc.property(
        options,
        fc.option(
          fc.record({
            initialDelay: fc.nat(5000),
            minUptime: fc.nat(5000),
            maxAttempts: fc.integer({ min: 1, max: 5 }),
          }),
          { nil: false as const },
        ),
        (o, reconnect) => {
          const table = managedCloseBounds({ ...optionsOf(o, true), reconnect });
          expect(table.maxMs).toBe(o.write + o.read);
          expect(table.states.some((s) => s.state === 'waiting')).toBe(reconnect !== false);
        },
      ),
      { numRuns: 8 },
    );
  });

  it('by traversal: after close() every path goes through closing alone, whose only way out is the attempt’s end', () => {
    const events = [
      ...Object.values(SUPERVISOR_EVENTS),
      ...stateNodes(supervisorMachine).flatMap((node) =>
        node.after.map((t) => ({ type: t.eventType }) as unknown as SupervisorEvent),
      ),
    ];
    const attemptBound = worstCaseCloseMs();
    const table = managedCloseBounds();
    for (const state of table.states) {
      const [after] = transition(
        supervisorMachine,
        supervisorIn(state.state),
        SUPERVISOR_EVENTS['api.close'] as SupervisorEvent,
      );
      if (after.status === 'done') {
        expect(state.ms, state.state).toBe(0);
        continue;
      }
      const paths = getSimplePaths(supervisorMachine, {
        fromState: after,
        events,
        serializeState: (s) => label(s.value),
        toState: (s) => s.status === 'done',
      }).filter((p) => p.state.status === 'done');
      expect(paths.length, state.state).toBeGreaterThan(0);
      for (const path of paths) {
        const states = [label(after.value), ...path.steps.map((step) => label(step.state.value))];
        expect(new Set(states), state.state).toEqual(new Set(['closing', 'closed']));
        // The attempt got close() (or was closing already): it ends within its own bound.
        const last = path.steps.at(-1);
        expect(last?.event.type).toMatch(/^xstate\.(done|error)\.actor\.attempt$/);
      }
      expect(state.ms, state.state).toBe(attemptBound);
    }
  });

  it('run: the supervisor with a pure connection as its attempt ends at the attempt’s worst close', async () => {
    const clock = new SimulatedClock();
    const machine = supervisorMachine.provide({ actors: { onOpen: fromPromise(async () => {}) } });
    const actor = createActor(machine, { clock, input: {} });
    let closedAt: number | null = null;
    actor.subscribe({ complete: () => (closedAt = clock.now()) });
    actor.start();
    actor.send({ type: 'api.open' });
    const attempt = () =>
      actor.getSnapshot().children.attempt as unknown as { send(e: ConnectionEvent): void };
    attempt().send({ type: 'ws.open', protocol: '' });
    await new Promise((resolve) => setTimeout(resolve, 0)); // the onOpen promise settles
    expect(label(actor.getSnapshot().value)).toBe('open.unstable');
    const t0 = clock.now();
    actor.send({ type: 'api.close', code: 1000, reason: '' });
    expect(label(actor.getSnapshot().value)).toBe('closing');
    // The attempt's worst close (it runs with the default deadlines here): Close written 1 ms before
    // the write deadline, then the whole read deadline.
    clock.increment(DEFAULTS.write - 1);
    attempt().send({ type: 'ws.flushed' });
    clock.increment(DEFAULTS.read - 1);
    expect(actor.getSnapshot().status).toBe('active');
    clock.increment(1);
    expect(actor.getSnapshot().status).toBe('done');
    expect(closedAt === null ? null : (closedAt as number) - t0).toBe(worstCaseManagedCloseMs() - 1);
    expect(actor.getSnapshot().output).toMatchObject({ reason: 'closed', attempts: 1 });
  });

  it.each([
    ['reconnect not an object', { reconnect: 5 }, /reconnect must be an object or false, got number/],
    ['an unknown reconnect option', { reconnect: { retries: 3 } }, /unknown reconnect option "retries"/],
    [
      'a factor below 1',
      { reconnect: { factor: 0.5 } },
      /reconnect\.factor must be a finite number ≥ 1, got 0\.5/,
    ],
    ['an infinite factor', { reconnect: { factor: Number.POSITIVE_INFINITY } }, /reconnect\.factor/],
    [
      'maxAttempts 0',
      { reconnect: { maxAttempts: 0 } },
      /reconnect\.maxAttempts must be an integer ≥ 1 or Infinity, got 0/,
    ],
    ['maxAttempts 1.5', { reconnect: { maxAttempts: 1.5 } }, /got 1\.5/],
    [
      'a negative delay',
      { reconnect: { initialDelay: -1 } },
      /reconnect\.initialDelay must be an integer number of ms from 0 to 2147483647, got -1/,
    ],
    ['a string delay', { reconnect: { minUptime: '5' } }, /reconnect\.minUptime .* got string/],
    ['bad timeouts', { timeouts: { read: 0 } }, /timeouts\.read/],
  ])('refuses %s: ERR_INVALID_OPTIONS', (_, value, message) => {
    const call = () => worstCaseManagedCloseMs(value as never);
    expect(call).toThrow(message);
    expect(call).toThrow(ConnectionError);
  });

  it('accepts reconnect false, Infinity attempts, zero delays and a shouldReconnect it never calls', () => {
    let called = false;
    const shouldReconnect = () => {
      called = true;
      return true;
    };
    const reconnect = {
      maxAttempts: Number.POSITIVE_INFINITY,
      initialDelay: 0,
      minUptime: 0,
      shouldReconnect,
    };
    expect(worstCaseManagedCloseMs({ reconnect })).toBe(10_000);
    expect(worstCaseManagedCloseMs({ reconnect: false, timeouts: { write: 1, read: 1 } })).toBe(2);
    expect(called).toBe(false);
  });
});
