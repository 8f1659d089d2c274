/**
 * Properties of the pure connection machine under random event sequences (fast-check), with a
 * SimulatedClock: any event in any state, the expected ones and the others, and time passing.
 *
 * - `closed` is reached at most once and never left; exactly one output, which never changes;
 * - every non-final state has a deadline armed, except the states that wait on the caller alone
 *   (written by hand: `idle`, and `open` with keepalive off);
 * - after `api.close`, `closed` comes within `worstCaseCloseMs` (machines/bounds.ts) once the clock
 *   gets there; after the peer goes silent, within `deadPeerBounds` from the state it was in;
 * - the trail built from the emitted `lifecycle.state` events (as src/core/connection-core.ts builds
 *   it) replays through `verifyTrail`;
 * - the outcome agrees with an oracle written from RFC 6455 and the README's CloseInfo, fed the events
 *   sent and the phase each was sent in, never the machine's context.
 *
 * Seeds that once found a bug are kept in REGRESSIONS and replayed first.
 *
 * The supervisor machine (managed connection) gets the same treatment at the end, with the pure
 * connection machine as its attempt, driven by random `ws.*` events as its socket would be.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type AnyActorRef,
  createActor,
  createMachine,
  type InspectionEvent,
  SimulatedClock,
  transition,
} from 'xstate';
import { closeBounds, deadPeerBounds, worstCaseManagedCloseMs } from '../../machines/bounds.js';
import { ConnectionError, type ConnectionErrorCode } from '../../machines/connection-error.js';
import { connectionMachine } from '../../machines/connection-machine.js';
import { supervisorMachine } from '../../machines/supervisor-machine.js';
import type { SupervisorEvent, SupervisorInput, SupervisorOutput } from '../../machines/supervisor-types.js';
import type {
  CloseInfo,
  ConnectionEvent,
  ConnectionInput,
  StateChangeEmitted,
  TransportCommand,
} from '../../machines/types.js';
import type { AuditRecord } from '../../src/audit/audit.js';
import { verifyTrail } from '../../src/audit/verify-trail.js';
import { closeReason, sendableCode } from '../audit/arbitraries.js';

/**
 * `PROPERTIES_STRICT=second-close npx vitest run test/machines/properties.test.ts` checks that
 * known defect of the machine too (see below): the way to find a seed for it, and to see it fixed.
 */
const STRICT = new Set((process.env.PROPERTIES_STRICT ?? '').split(','));

/** A SimulatedClock that also tells which of its timers are pending, and when each is due. */
class WatchedClock extends SimulatedClock {
  readonly pending = new Map<number, number>();

  override setTimeout(fn: (...args: unknown[]) => void, timeout: number): number {
    const id: number = super.setTimeout(() => {
      this.pending.delete(id);
      fn();
    }, timeout);
    this.pending.set(id, this.now() + timeout);
    return id;
  }

  override clearTimeout(id: number): void {
    this.pending.delete(id);
    super.clearTimeout(id);
  }

  /**
   * Lets `ms` pass, stopping at every due timer and at each of `stops`, and calls `check` at each
   * stop: a SimulatedClock runs a timer's callback at the end of the increment that passed it, so
   * whatever that timer arms would otherwise start late; and nothing changes between two stops.
   */
  advance(ms: number, check: () => void = () => {}, stops: readonly number[] = []): void {
    const end = this.now() + ms;
    for (let guard = 0; this.now() < end; guard++) {
      if (guard > 10_000) throw new Error('the clock did not get to its end');
      const next = Math.min(end, ...[...this.pending.values(), ...stops].filter((t) => t > this.now()));
      this.increment(next - this.now());
      check();
    }
    // Timers due at the very instant (0 ms ones) run too.
    this.set(end);
    check();
  }
}

type Step = { send: ConnectionEvent } | { tick: number };

const protocol = fc.constantFrom('', 'chat');
const anyEvent: fc.Arbitrary<ConnectionEvent> = fc.oneof(
  fc.constant({ type: 'api.open' as const }),
  protocol.map((p) => ({ type: 'api.adopt' as const, protocol: p })),
  fc.record({ type: fc.constant('api.close' as const), code: sendableCode, reason: closeReason }),
  fc.constant({ type: 'api.terminate' as const }),
  fc.constant({ type: 'api.ping' as const }),
  protocol.map((p) => ({ type: 'ws.open' as const, protocol: p })),
  fc.constantFrom(undefined, 400, 503).map((status) => ({
    type: 'ws.handshake-failed' as const,
    error: new ConnectionError('ERR_CONNECT_FAILED', 'refused', status === undefined ? {} : { status }),
  })),
  fc.record({
    type: fc.constant('ws.close-received' as const),
    code: fc.oneof(sendableCode, fc.constant(1005)),
    reason: closeReason,
  }),
  fc.constant({ type: 'ws.flushed' as const }),
  fc.record({
    type: fc.constant('ws.closed' as const),
    code: fc.constantFrom(1006, 1000),
    reason: fc.constant(''),
  }),
  fc.constant({
    type: 'ws.protocol-error' as const,
    error: new ConnectionError('ERR_PROTOCOL', 'invalid frame', { closeCode: 1002 }),
  }),
  fc.constant({ type: 'ws.activity' as const }),
);

/** Deadlines small enough that random ticks reach them, and keepalive on or off. */
const anySetup = fc.record({
  timeouts: fc.record({
    connect: fc.integer({ min: 1, max: 60 }),
    write: fc.integer({ min: 1, max: 60 }),
    read: fc.integer({ min: 1, max: 60 }),
  }),
  keepalive: fc.option(
    fc.record({ interval: fc.integer({ min: 1, max: 60 }), timeout: fc.integer({ min: 1, max: 60 }) }),
    { nil: null },
  ),
});
/**
 * Runs draw their options from 24 random ones drawn once (a fixed seed): each distinct options object
 * costs a bound computation, and the events, not the options, are what the runs explore.
 */
const setup = fc.constantFrom(...fc.sample(anySetup, { numRuns: 24, seed: 6455 }));

const steps = fc.array(
  fc.oneof(
    { weight: 3, arbitrary: anyEvent.map((send): Step => ({ send })) },
    { weight: 2, arbitrary: fc.integer({ min: 0, max: 80 }).map((tick): Step => ({ tick })) },
  ),
  { maxLength: 40 },
);

/** The top-level state, as the trail names it. */
function topLevel(value: unknown): string {
  return typeof value === 'string' ? value : (Object.keys(value as object)[0] as string);
}

function fullState(value: unknown): string {
  if (typeof value === 'string') return value;
  const [parent, child] = Object.entries(value as Record<string, unknown>)[0] ?? [];
  return `${parent}.${fullState(child)}`;
}

/** Written by hand: the states in which nothing but the caller moves the machine on, so no deadline runs. */
const WAITS_ON_CALLER_ONLY = new Set(['idle', 'open.keepalive-off']);

interface Sent {
  event: ConnectionEvent;
  /** The top-level state the event found. */
  phase: string;
}

function startRun(input: ConnectionInput) {
  const clock = new WatchedClock();
  const commands: TransportCommand[] = [];
  const record = (type: TransportCommand) => () => {
    commands.push(type);
  };
  const machine = connectionMachine.provide({
    actions: {
      'transport.connect': record('transport.connect'),
      'transport.close': record('transport.close'),
      'transport.destroy': record('transport.destroy'),
      'transport.ping': record('transport.ping'),
      'transport.release': record('transport.release'),
    },
  });
  const actor = createActor(machine, { clock, input: { connectionId: 'property', ...input } });
  const emitted: Array<StateChangeEmitted & { at: number }> = [];
  const outputs: CloseInfo[] = [];
  actor.on('lifecycle.state', (change) => emitted.push({ ...change, at: clock.now() }));
  actor.subscribe({ complete: () => outputs.push(actor.getSnapshot().output as CloseInfo) });
  actor.start();
  const sent: Sent[] = [];
  const send = (event: ConnectionEvent) => {
    const snapshot = actor.getSnapshot();
    sent.push({ event, phase: topLevel(snapshot.value) });
    if (snapshot.status === 'active') {
      actor.send(event);
      return;
    }
    // A stopped actor only warns; the pure machine shows what the event would do: nothing at all.
    const [next, actions] = transition(connectionMachine, snapshot, event);
    expect(next.status).toBe('done');
    expect(next.value).toBe('closed');
    expect(next.output).toEqual(snapshot.output);
    expect(actions).toEqual([]);
  };
  return { actor, clock, commands, emitted, outputs, sent, send };
}

type Started = ReturnType<typeof startRun>;

/** Audit records as src/core/connection-core.ts builds them from the emitted changes. */
function trailOf(run: Started): AuditRecord[] {
  let from: AuditRecord['from'] = null;
  return run.emitted.map((change, seq) => {
    const record: AuditRecord = {
      seq,
      time: 1_750_000_000_000 + change.at,
      elapsedMs: change.at,
      connectionId: 'property',
      from,
      to: change.to,
      event: change.event,
    };
    if (change.detail) record.detail = change.detail;
    from = change.to;
    return record;
  });
}

/** The peer's Close frames that arrived after the opening handshake and before closed. */
function peerCloses(sent: Sent[]): Array<Extract<ConnectionEvent, { type: 'ws.close-received' }>> {
  const afterHandshake = new Set(['open', 'closing-sent', 'draining']);
  return sent.flatMap((s) =>
    s.event.type === 'ws.close-received' && afterHandshake.has(s.phase) ? [s.event] : [],
  );
}

/** A second Close frame with another status: no transport reports one (ws stops reading at the first). */
function secondPeerClose(sent: Sent[]): boolean {
  const [first, ...rest] = peerCloses(sent);
  return rest.some((c) => c.code !== first?.code || c.reason !== first?.reason);
}

/**
 * The outcome RFC 6455 gives for what was sent and the phases it found (README, CloseInfo):
 * - `code`/`reason`: the peer's Close frame, the first one that arrived after the opening handshake
 *   (§5.5.1: nothing follows a Close); 1006 and '' if none did (§7.1.5, §7.4.1);
 * - `wasClean`: Close frames went both ways: the peer's arrived and ours was written (§7.1.1, §7.1.4);
 * - `initiator`: whoever caused the first move out of connecting/open — the caller, our own deadlines
 *   and our failing the connection on a protocol error (§7.1.7) are local; the peer's Close, the TCP
 *   end and a refused handshake are remote;
 * - `error`: the cause that ended the connection, if it is a failure: a deadline (connect, keepalive,
 *   write; read unless the peer's Close arrived, §7.1.1), TCP ending with no Close (§7.1.5), the
 *   handshake's or the protocol's own error (the same instance); never the caller's close/terminate.
 */
function rfcOutcome(
  sent: Sent[],
  trail: AuditRecord[],
): { info: CloseInfo; errorCode?: ConnectionErrorCode } {
  const peerClose = peerCloses(sent)[0];
  const ourCloseWritten = sent.some((s) => s.event.type === 'ws.flushed' && s.phase === 'closing-sent');
  const end = trail.at(-1) as AuditRecord;
  const firstMove =
    trail.find(
      (r) => (r.from === 'connecting' || r.from === 'open') && r.to !== 'open' && r.to !== 'connecting',
    ) ?? end;
  const remote = ['ws.close-received', 'ws.closed', 'ws.handshake-failed'].includes(firstMove.event);
  const info: CloseInfo = {
    code: peerClose ? peerClose.code : 1006,
    reason: peerClose ? peerClose.reason : '',
    wasClean: peerClose !== undefined && ourCloseWritten,
    initiator: remote ? 'remote' : 'local',
  };
  const deadline = /^xstate\.after\.([^.]+)\./.exec(end.event)?.[1];
  let errorCode: ConnectionErrorCode | undefined;
  if (deadline === 'connect') errorCode = 'ERR_CONNECT_TIMEOUT';
  else if (deadline === 'pong') errorCode = 'ERR_KEEPALIVE_TIMEOUT';
  else if (deadline === 'write') errorCode = 'ERR_WRITE_DEADLINE';
  else if (deadline === 'read') errorCode = peerClose ? undefined : 'ERR_READ_DEADLINE';
  else if (end.event === 'ws.closed') errorCode = peerClose ? undefined : 'ERR_SOCKET';
  else if (end.event === 'ws.handshake-failed' || end.event === 'ws.protocol-error') {
    // The one that ended it: the last of its type sent before closed.
    const cause = [...sent].reverse().find((s) => s.event.type === end.event && s.phase !== 'closed')
      ?.event as {
      error: ConnectionError;
    };
    info.error = cause.error;
    errorCode = cause.error.code;
  }
  return errorCode === undefined ? { info } : { info, errorCode };
}

const boundsCache = new Map<string, { close: number; deadPeer: ReturnType<typeof deadPeerBounds> }>();

/** The bounds for these options (machines/bounds.ts), computed once per distinct options. */
function boundsOf(input: ConnectionInput) {
  const key = JSON.stringify(input);
  let bounds = boundsCache.get(key);
  if (!bounds) {
    const options = {
      timeouts: input.timeouts,
      keepalive: input.keepalive === null ? (false as const) : (input.keepalive ?? undefined),
    };
    bounds = { close: closeBounds(options).maxMs, deadPeer: deadPeerBounds(options) };
    boundsCache.set(key, bounds);
  }
  return bounds;
}

interface Checked {
  /** The run reached closed. */
  done: boolean;
  run: Started;
}

/** Runs `steps` and checks every property after each step. */
function check(
  input: ConnectionInput,
  steps: readonly Step[],
  strict: ReadonlySet<string> = STRICT,
): Checked {
  const run = startRun(input);
  const bound = boundsOf(input).close;
  let closeCalledAt: number | null = null;
  let doneAt: number | null = null;
  let firstOutput: CloseInfo | undefined;

  const invariants = () => {
    const snapshot = run.actor.getSnapshot();
    const closedRecords = run.emitted.filter((e) => e.to === 'closed').length;
    if (snapshot.status === 'done') {
      doneAt ??= run.clock.now();
      firstOutput ??= snapshot.output;
      // Never left, one output, never changed, one closed record, one release.
      expect(topLevel(snapshot.value)).toBe('closed');
      expect(snapshot.output).toBe(firstOutput);
      expect(run.outputs).toEqual([firstOutput]);
      expect(run.outputs[0]).toBe(firstOutput);
      expect(closedRecords).toBe(1);
      expect(run.emitted.at(-1)?.to).toBe('closed');
      expect(run.commands.filter((c) => c === 'transport.release')).toHaveLength(1);
      expect(run.clock.pending.size, 'no deadline left armed once closed').toBe(0);
    } else {
      expect(snapshot.status).toBe('active');
      expect(snapshot.output).toBeUndefined();
      expect(run.outputs).toEqual([]);
      expect(closedRecords).toBe(0);
      expect(run.commands).not.toContain('transport.release');
      const state = fullState(snapshot.value);
      if (WAITS_ON_CALLER_ONLY.has(state)) expect(run.clock.pending.size, state).toBe(0);
      else expect(run.clock.pending.size, `${state} has a deadline armed`).toBeGreaterThan(0);
      if (closeCalledAt !== null) {
        expect(run.clock.now(), 'closed within worstCaseCloseMs of close()').toBeLessThan(
          closeCalledAt + bound,
        );
      }
    }
    if (closeCalledAt !== null && doneAt !== null) expect(doneAt - closeCalledAt).toBeLessThanOrEqual(bound);
  };

  invariants();
  for (const step of steps) {
    if ('send' in step) {
      if (step.send.type === 'api.close' && run.actor.getSnapshot().status === 'active') {
        closeCalledAt ??= run.clock.now();
      }
      run.send(step.send);
      invariants();
    } else {
      // Stopping at every deadline and at the close bound: the invariants hold at every instant.
      run.clock.advance(step.tick, invariants, closeCalledAt === null ? [] : [closeCalledAt + bound]);
    }
  }
  if (closeCalledAt !== null) {
    // Once the clock gets there, a close() has always ended.
    run.clock.advance(Math.max(0, closeCalledAt + bound - run.clock.now()));
    invariants();
    expect(run.actor.getSnapshot().status).toBe('done');
  }

  const trail = trailOf(run);
  const done = run.actor.getSnapshot().status === 'done';
  expect(verifyTrail(trail, { complete: done })).toEqual({ ok: true, checked: trail.length });
  if (done) {
    const expected = rfcOutcome(run.sent, trail);
    const output = run.actor.getSnapshot().output as CloseInfo;
    const { error, ...rest } = output;
    const { error: expectedError, ...expectedRest } = expected.info;
    if (!strict.has('second-close') && secondPeerClose(run.sent)) {
      // MACHINE_DEFECTS: the machine reports the last Close, the RFC the first; the rest must agree.
      expect({ ...rest, code: 0, reason: '' }).toEqual({ ...expectedRest, code: 0, reason: '' });
    } else expect(rest).toEqual(expectedRest);
    expect(error?.code).toBe(expected.errorCode);
    if (expectedError) expect(error).toBe(expectedError);
  }
  run.actor.stop();
  return { done, run };
}

const propertyWith = (strict: ReadonlySet<string>) =>
  fc.property(setup, steps, (input, s) => {
    check(input, s, strict);
  });
const property = propertyWith(STRICT);

/**
 * Seeds that found a bug, replayed before the random runs (seed and path are those of this file's
 * generators: changing an arbitrary invalidates them; the counterexample is in `found`). One whose
 * `defect` is still open is run checking that defect, and is expected to fail until it is fixed.
 */
const REGRESSIONS: ReadonlyArray<{ seed: number; path: string; found: string; defect?: string }> = [
  {
    seed: -864440683,
    path: '2:0:1:0:0:0',
    found: 'api.adopt alone: verifyTrail refused the adopted trail (fixed in 7fa6b69)',
  },
  {
    seed: -888518750,
    path: '63:3:2:4:5:5:8:10:9',
    found: 'api.adopt, then two Close frames (1005 déjà vu, 1005 終了): the outcome carries the second',
    defect: 'second-close',
  },
];

describe('the connection machine under random events (fast-check, SimulatedClock)', () => {
  const fixed = REGRESSIONS.filter((r) => r.defect === undefined);
  const open = REGRESSIONS.filter((r) => r.defect !== undefined);
  it.skipIf(fixed.length === 0).each(fixed)('regression: $found (seed $seed)', ({ seed, path }) => {
    fc.assert(property, { seed, path, endOnFailure: true });
  });
  it.fails.each(open)(
    'regression, defect still open (fails once fixed): $found',
    ({ seed, path, defect }) => {
      fc.assert(propertyWith(new Set([defect as string])), { seed, path, endOnFailure: true });
    },
  );

  // MACHINE_DEFECTS (machines/connection-machine.ts, not this suite's; found with seed -814633165,
  // path "199:0:6:6:6:8:9:11:11:12:0:7:7:8:7"): `recordPeerClose` overwrites the peer's Close with a
  // second one that arrives in closing-sent or draining, so the outcome carries the last Close's code
  // and reason; RFC 6455 §5.5.1 makes the first Close the peer's last frame. No transport reports a
  // second Close today (ws stops reading at the first), so the property only skips code and reason for
  // such runs. This test fails once the machine keeps the first Close: then delete it and the skip.
  it.fails('KNOWN DEFECT in the machine, fails once fixed: a second Close frame does not replace the first', () => {
    const run = startRun({ keepalive: null });
    run.send({ type: 'api.adopt', protocol: '' });
    run.send({ type: 'ws.close-received', code: 3000, reason: '' });
    run.send({ type: 'ws.close-received', code: 3000, reason: 'déjà vu' });
    run.send({ type: 'ws.closed', code: 1006, reason: '' });
    expect(run.actor.getSnapshot().output).toMatchObject({ code: 3000, reason: '' });
  });

  it('closed at most once and never left, one output, deadlines armed, close bounded, trail replays, RFC outcome', () => {
    fc.assert(property, { numRuns: 300 });
  }, 60_000);

  it('the runs reach every top-level state and every way of ending (the generator is not stuck in a corner)', () => {
    const seen = new Set<string>();
    const endings = new Set<string>();
    fc.assert(
      fc.property(setup, steps, (input, s) => {
        const { run, done } = check(input, s);
        for (const change of run.emitted) seen.add(change.to);
        if (done)
          endings.add((run.emitted.at(-1)?.event ?? '').replace(/^(xstate\.after\.[^.]+)\..*$/, '$1'));
      }),
      { numRuns: 300, seed: 15 },
    );
    expect([...seen].sort()).toEqual(['closed', 'closing-sent', 'connecting', 'draining', 'idle', 'open']);
    for (const ending of [
      'api.close',
      'api.terminate',
      'ws.closed',
      'ws.handshake-failed',
      'ws.protocol-error',
      'xstate.after.connect',
      'xstate.after.write',
      'xstate.after.read',
      'xstate.after.pong',
    ]) {
      expect(endings, ending).toContain(ending);
    }
  }, 60_000);

  it('a silent peer and an idle caller: closed within deadPeerBounds of the state the silence began in', () => {
    // After a random prefix, only what needs nothing from the peer: time, our Close written, TCP lost.
    const localEvent = fc.constantFrom<ConnectionEvent>(
      { type: 'ws.flushed' },
      { type: 'ws.closed', code: 1006, reason: '' },
      { type: 'ws.handshake-failed', error: new ConnectionError('ERR_CONNECT_FAILED', 'refused') },
    );
    const silence = fc.array(
      fc.oneof(
        localEvent.map((send): Step => ({ send })),
        fc.integer({ min: 0, max: 80 }).map((tick): Step => ({ tick })),
      ),
      { maxLength: 10 },
    );
    fc.assert(
      fc.property(setup, steps, silence, (input, prefix, quiet) => {
        const replay = startRun(input);
        for (const step of prefix) {
          if ('send' in step) replay.send(step.send);
          else replay.clock.advance(step.tick);
        }
        const from = fullState(replay.actor.getSnapshot().value);
        const table = boundsOf(input).deadPeer;
        const limit = table.states.find((s) => s.state === from)?.ms;
        expect(limit, from).toBeDefined();
        if (limit === undefined || limit === Number.POSITIVE_INFINITY) return;
        const start = replay.clock.now();
        for (const step of quiet) {
          if ('send' in step) replay.send(step.send);
          else replay.clock.advance(step.tick);
        }
        replay.clock.advance(Math.max(0, start + limit - replay.clock.now()));
        expect(replay.actor.getSnapshot().status, `from ${from} within ${limit} ms`).toBe('done');
        const closedAt = replay.emitted.at(-1)?.at ?? Number.POSITIVE_INFINITY;
        expect(closedAt - start).toBeLessThanOrEqual(limit);
        replay.actor.stop();
      }),
      { numRuns: 200 },
    );
  }, 60_000);
});

// ---------------------------------------------------------------------------------------------------
// The supervisor machine: random caller calls, random socket events to its attempt, time passing.

type SupervisorStep = { api: SupervisorEvent } | { socket: ConnectionEvent } | { tick: number };

/** The caller's onOpen, as a machine so it settles synchronously: done at once, never, or failing. */
const ON_OPEN = {
  resolves: createMachine({ initial: 'done', states: { done: { type: 'final' } } }),
  hangs: createMachine({ initial: 'running', states: { running: {} } }),
  throws: createMachine({
    entry: () => {
      throw new Error('onOpen failed');
    },
  }),
};

const supervisorSetup = fc.record({
  // From 12 drawn once (seed fixed): each distinct policy costs a bound computation.
  reconnect: fc.constantFrom(
    false as const,
    ...fc.sample(
      fc.record({
        initialDelay: fc.integer({ min: 0, max: 3000 }),
        maxDelay: fc.integer({ min: 0, max: 8000 }),
        factor: fc.constantFrom(1, 2, 3),
        maxAttempts: fc.constantFrom(1, 2, 4, Number.POSITIVE_INFINITY),
        minUptime: fc.integer({ min: 0, max: 8000 }),
      }),
      { numRuns: 11, seed: 6455 },
    ),
  ),
  onOpenTimeout: fc.integer({ min: 1, max: 15_000 }),
  random: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
  onOpen: fc.constantFrom<keyof typeof ON_OPEN>('resolves', 'hangs', 'throws'),
});

/** The attempts run with the connection machine's defaults (the supervisor gives them no timeouts). */
const socketEvents = anyEvent.filter((e) => !e.type.startsWith('api.'));
const supervisorSteps = fc.array(
  fc.oneof(
    {
      weight: 2,
      arbitrary: fc
        .constantFrom<SupervisorEvent>(
          { type: 'api.open' },
          { type: 'api.close', code: 1000, reason: '' },
          { type: 'api.reconnect' },
        )
        .map((api): SupervisorStep => ({ api })),
    },
    { weight: 4, arbitrary: socketEvents.map((socket): SupervisorStep => ({ socket })) },
    { weight: 3, arbitrary: fc.integer({ min: 0, max: 12_000 }).map((tick): SupervisorStep => ({ tick })) },
  ),
  { maxLength: 40 },
);

const managedBounds = new Map<string, number>();

type SupervisorConfig = typeof supervisorSetup extends fc.Arbitrary<infer T> ? T : never;

function checkSupervisor(config: SupervisorConfig, steps: readonly SupervisorStep[]) {
  const { onOpen, random, ...rest } = config;
  const input: SupervisorInput = { ...rest, random: () => random };
  const key = JSON.stringify(rest.reconnect);
  let bound = managedBounds.get(key);
  if (bound === undefined) {
    bound = worstCaseManagedCloseMs({ reconnect: rest.reconnect });
    managedBounds.set(key, bound);
  }
  const clock = new WatchedClock();
  const attempts: AnyActorRef[] = [];
  const inspect = (event: InspectionEvent) => {
    const ref = event.actorRef as AnyActorRef;
    if (event.type !== '@xstate.actor' || ref.id !== 'attempt') return;
    // RFC 6455 §4.1: one connection in CONNECTING at a time; here, one attempt alive at a time.
    const previous = attempts.at(-1);
    if (previous)
      expect(previous.getSnapshot().status, 'a new attempt while the last runs').not.toBe('active');
    attempts.push(ref);
  };
  const machine = supervisorMachine.provide({ actors: { onOpen: ON_OPEN[onOpen] as never } });
  const actor = createActor(machine, { clock, input, inspect });
  const outputs: SupervisorOutput[] = [];
  const closedRecords: string[] = [];
  actor.on('supervisor.state', (change) => {
    if (change.to === 'closed') closedRecords.push(change.event);
  });
  actor.subscribe({ complete: () => outputs.push(actor.getSnapshot().output as SupervisorOutput) });
  actor.start();
  let closeCalledAt: number | null = null;
  let first: SupervisorOutput | undefined;

  const invariants = () => {
    const snapshot = actor.getSnapshot();
    if (snapshot.status === 'done') {
      first ??= snapshot.output;
      expect(snapshot.value).toBe('closed');
      expect(snapshot.output).toBe(first);
      expect(outputs).toEqual([first]);
      expect(closedRecords).toHaveLength(1);
      expect(clock.pending.size, 'no deadline left, the attempt’s included').toBe(0);
      for (const attempt of attempts) expect(attempt.getSnapshot().status).not.toBe('active');
    } else {
      expect(snapshot.status).toBe('active');
      expect(outputs).toEqual([]);
      const state = topLevel(snapshot.value);
      // Only idle waits on the caller alone; every other state waits under a deadline, its own or its attempt's.
      if (state !== 'idle')
        expect(clock.pending.size, `${fullState(snapshot.value)} has a deadline`).toBeGreaterThan(0);
      if (closeCalledAt !== null)
        expect(clock.now(), 'closed within worstCaseManagedCloseMs').toBeLessThan(
          closeCalledAt + (bound as number),
        );
    }
  };

  invariants();
  for (const step of steps) {
    const active = actor.getSnapshot().status === 'active';
    if ('api' in step) {
      if (!active) continue;
      if (step.api.type === 'api.close') closeCalledAt ??= clock.now();
      actor.send(step.api);
    } else if ('socket' in step) {
      const attempt = actor.getSnapshot().children.attempt as AnyActorRef | undefined;
      if (!active || !attempt || attempt.getSnapshot().status !== 'active') continue;
      attempt.send(step.socket);
    } else {
      clock.advance(step.tick, invariants, closeCalledAt === null ? [] : [closeCalledAt + bound]);
    }
    invariants();
  }
  if (closeCalledAt !== null) {
    clock.advance(Math.max(0, closeCalledAt + bound - clock.now()), invariants);
    expect(actor.getSnapshot().status).toBe('done');
  }
  const output = actor.getSnapshot().output as SupervisorOutput | undefined;
  if (output) {
    // docs/managed.md: your close() wins and carries no error; otherwise it gave up or met a final close, with one.
    if (closeCalledAt !== null) {
      expect(output.reason).toBe('closed');
      expect(output.error).toBeUndefined();
    } else {
      expect(['gave-up', 'final-close']).toContain(output.reason);
      expect(output.error).toBeInstanceOf(ConnectionError);
    }
    expect(output.attempts).toBe(attempts.length);
    const ended = attempts.filter((a) => a.getSnapshot().status === 'done');
    if (ended.length > 0 && closedRecords[0] === 'xstate.done.actor.attempt') {
      expect(output.last).toEqual(ended.at(-1)?.getSnapshot().output);
    }
  }
  actor.stop();
  return { output, attempts: attempts.length };
}

describe('the supervisor machine under random events (fast-check, SimulatedClock, a pure attempt)', () => {
  it('closed once, one output, one attempt at a time, a deadline armed beyond idle, close() bounded, the contract’s outcome', () => {
    fc.assert(
      fc.property(supervisorSetup, supervisorSteps, (config, steps) => {
        checkSupervisor(config, steps);
      }),
      { numRuns: 150 },
    );
  }, 60_000);

  it('the runs end every way a managed connection can (closed, gave-up, final-close) and retry', () => {
    const reasons = new Set<string>();
    let retried = false;
    fc.assert(
      fc.property(supervisorSetup, supervisorSteps, (config, steps) => {
        const { output, attempts } = checkSupervisor(config, steps);
        if (output) reasons.add(output.reason);
        if (attempts > 1) retried = true;
      }),
      { numRuns: 150, seed: 6 },
    );
    expect([...reasons].sort()).toEqual(['closed', 'final-close', 'gave-up']);
    expect(retried).toBe(true);
  }, 60_000);
});
