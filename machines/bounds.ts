/**
 * Bounds proved from the machine itself: the longest a `close()` can take, and the longest a
 * connection nobody closes can outlive a peer that went silent. Nothing here is a formula typed in
 * beside the machine: the numbers come from walking it.
 *
 * The walk. A step is a snapshot of the machine plus the deadlines armed in it (the time left on each).
 * Snapshots come from XState's own `transition()`, so guards, targets and re-entry are exactly the
 * machine's; deadlines come from the `xstate.raise` / `xstate.cancel` actions it returns, whose delays
 * XState has resolved through the machine's named delays (`setup({ delays })`) with the context the
 * options built. From a step, one of two things happens next:
 * - the earliest deadline fires, costing the time left on it;
 * - an event arrives (any of the allowed ones), at the latest just before the earliest deadline,
 *   costing that time. The latest moment is the worst one: a deadline armed later ends later, and one
 *   already armed ends at the same time whenever the event comes. So an event does not cost 0: in
 *   `closing-sent`, `ws.flushed` may come just before the write deadline and start the read deadline
 *   then (write + read, not read).
 * A step with no deadline armed that is not final waits on something without a deadline: ∞. The bound
 * from a step is the longest path to the final state. A path that comes back to a step it already
 * passed (a deadline re-armed, the same context) has no bound: the walk throws. That is a proof
 * obligation of the machine, not of the options.
 *
 * Start points are the steps reachable from the initial snapshot, each with its deadlines just armed
 * (the state just entered): the latest possible end from that state, since less time left on a
 * deadline can only end things sooner.
 */
import { type AnyStateMachine, type EventObject, initialTransition, transition } from 'xstate';
import { ConnectionError } from './connection-error.js';
import { connectionMachine } from './connection-machine.js';
import { supervisorMachine } from './supervisor-machine.js';
import { ATTEMPT_ID, type Backoff, type SupervisorEvent, type SupervisorInput } from './supervisor-types.js';
import {
  type CloseInfo,
  type ConnectionEvent,
  type ConnectionInput,
  DEFAULT_TIMEOUTS,
  type Keepalive,
  type Timeouts,
} from './types.js';

/**
 * The options the bounds depend on, shaped like `createConnection`'s (other fields are ignored, so a
 * connection's own options object can be passed as it is).
 */
export interface BoundsOptions {
  /**
   * Deadlines in ms, integers from 1 to 2^31−1.
   * @default { connect: 10000, write: 5000, read: 5000 }
   */
  timeouts?: Partial<Timeouts>;
  /**
   * Keepalive, or `false` for none. `message` and `isPong` may be present; they do not change a bound.
   * @default { interval: 20000, timeout: 10000 } (on, as for `createConnection`)
   */
  keepalive?: Partial<Keepalive> | false;
}

/** One step of a worst-case path. */
export interface WitnessStep {
  /** The event, as the machine names it: `api.close`, `ws.flushed`, `xstate.after.write.connection.closing-sent`. */
  event: string;
  /** When it happens, in ms from the start of the path (the `close()` call, or entering the state). */
  atMs: number;
  /**
   * An event that arrives at the very moment a deadline is due at `atMs` and is handled first: the bound
   * is the limit of sending it ever closer to that deadline (`xstate.after.*` steps are never raced).
   */
  raced: boolean;
}

/** The bound from one state. */
export interface StateBound {
  /** The state, by its path: `connecting`, `open.quiet`, `closing-sent`. */
  state: string;
  /** The longest time from the start to the final state, in ms; `Infinity` if some path waits without a deadline. */
  ms: number;
  /**
   * A path that takes exactly `ms` (in the limit, see {@link WitnessStep.raced}). For `Infinity`, the path up
   * to the step that waits forever.
   */
  witness: readonly WitnessStep[];
}

/** A bound per state, and the largest of them. */
export interface BoundTable {
  /** The largest bound over the states it covers (see each function for which). */
  maxMs: number;
  /** The state `maxMs` is reached from. */
  worst: string;
  /** Every state reachable with these options, in the order the machine defines them. */
  states: readonly StateBound[];
}

/**
 * The longest time, in ms, from a `close()` call to `closed`, from any state of the connection machine,
 * whatever the peer and the socket do meanwhile. For the defaults: write + read (10 000 ms).
 * @throws {ConnectionError} ERR_INVALID_OPTIONS for options `createConnection` would refuse.
 * @example worstCaseCloseMs({ timeouts: { write: 2000, read: 2000 } }) // 4000
 */
export function worstCaseCloseMs(options?: BoundsOptions): number {
  return closeBounds(options).maxMs;
}

/**
 * {@link worstCaseCloseMs} per state: from each state, `api.close` is applied (where the state ignores
 * it, as `closing-sent` and `draining` do, the handshake already running is the one that counts) and
 * then any event may arrive, from the peer, the socket or the caller.
 * @throws {ConnectionError} ERR_INVALID_OPTIONS for options `createConnection` would refuse.
 */
export function closeBounds(options?: BoundsOptions): BoundTable {
  return machineBounds(connectionMachine, {
    input: inputOf(options),
    events: connectionEvents(),
    start: 'api.close',
  });
}

/**
 * The bound for a connection nobody closes whose peer has gone silent: from each state, the longest
 * time until `closed` when no byte arrives from the peer any more and the caller does nothing. A dead
 * peer ends the connection within it. `maxMs` covers every state but `idle` (nothing is on the network
 * until `open()`); it is `Infinity` with keepalive off, where `open` waits on the caller alone.
 *
 * Allowed events are those that need nothing from the peer: the deadlines, `ws.flushed` (the OS took our
 * Close), `ws.closed` and `ws.handshake-failed` (the local socket gave up). Not `ws.open`,
 * `ws.close-received`, `ws.activity` or `ws.protocol-error` (each is bytes from the peer), nor `api.*`.
 * @throws {ConnectionError} ERR_INVALID_OPTIONS for options `createConnection` would refuse.
 * @example deadPeerBounds().states // connecting 10000, open.quiet 30000 (interval + timeout), …
 */
export function deadPeerBounds(options?: BoundsOptions): BoundTable {
  return machineBounds(connectionMachine, {
    input: inputOf(options),
    events: connectionEvents(),
    allow: (type) => !type.startsWith('api.') && !PEER_BYTES.has(type),
    skipInitial: true,
  });
}

/** The options a managed connection's close bound depends on, shaped like `createManagedConnection`'s. */
export interface ManagedBoundsOptions extends BoundsOptions {
  /**
   * Reconnection, or `false`. It cannot lengthen a close (nothing reconnects after close()), but the
   * walk goes through the states it allows. `shouldReconnect` may be present; it is not called.
   * @default { initialDelay: 1000, maxDelay: 30000, factor: 2, maxAttempts: Infinity, minUptime: 5000 }
   */
  reconnect?:
    | (Partial<Backoff> & {
        /** Accepted so a managed connection's options pass as they are; never called. */ shouldReconnect?: unknown;
      })
    | false;
}

/**
 * The longest time, in ms, from a managed connection's `close()` to its `closed`, from any state of
 * the supervisor machine. Only an attempt that is running makes it wait, under its own deadlines: for
 * the defaults, write + read (10 000 ms), as for one connection.
 * @throws {ConnectionError} ERR_INVALID_OPTIONS for options `createManagedConnection` would refuse.
 */
export function worstCaseManagedCloseMs(options?: ManagedBoundsOptions): number {
  return managedCloseBounds(options).maxMs;
}

/**
 * {@link worstCaseManagedCloseMs} per supervisor state. The supervisor is walked like the connection
 * machine; its `attempt` child, once told to close (`api.close`, or the 1011 / reconnect closes the
 * supervisor sends itself), is a deadline of {@link worstCaseCloseMs} for the attempt's options, so a
 * state's bound assumes the attempt may be anywhere in its own worst close (an upper bound for the
 * states before the attempt is open; reached from `open`).
 * @throws {ConnectionError} ERR_INVALID_OPTIONS for options `createManagedConnection` would refuse.
 */
export function managedCloseBounds(options?: ManagedBoundsOptions): BoundTable {
  const input = inputOf(options);
  const supervisorInput: SupervisorInput = {
    reconnect: reconnectOf(isObject(options) ? options.reconnect : undefined),
    // The onOpen hook runs under the connect deadline (createManagedConnection).
    onOpenTimeout: input.timeouts?.connect ?? DEFAULT_TIMEOUTS.connect,
    random: () => 1,
  };
  const attempt = closeBounds(options).maxMs;
  const ended: CloseInfo = { code: 1000, reason: '', wasClean: true, initiator: 'local' };
  const done: SupervisorEvent = { type: 'xstate.done.actor.attempt', output: ended };
  return machineBounds(supervisorMachine, {
    input: supervisorInput,
    events: supervisorEvents(),
    start: 'api.close',
    children: {
      [ATTEMPT_ID]: { closeMs: attempt, done },
    },
    // The counts of attempts grow without end; no bound depends on them.
    key: (snapshot) => {
      const {
        attempt: _a,
        streak: _s,
        retries: _r,
        ...context
      } = snapshot.context as Record<string, unknown>;
      return { value: snapshot.value, context };
    },
  });
}

/** Samples of the supervisor's events: two of each kind whose payload its guards read (open or not; retried or final). */
function supervisorEvents(): EventObject[] {
  const dropped: CloseInfo = {
    code: 1006,
    reason: '',
    wasClean: false,
    initiator: 'remote',
    error: new ConnectionError('ERR_SOCKET', 'bound walk'),
  };
  const refused: CloseInfo = { code: 1008, reason: '', wasClean: true, initiator: 'remote' };
  const events: SupervisorEvent[] = [
    { type: 'api.open' },
    { type: 'api.close', code: 1000, reason: '' },
    { type: 'api.reconnect' },
    { type: 'xstate.snapshot.attempt', snapshot: { value: { open: 'quiet' } } },
    { type: 'xstate.snapshot.attempt', snapshot: { value: 'connecting' } },
    { type: 'xstate.done.actor.attempt', output: dropped },
    { type: 'xstate.done.actor.attempt', output: refused },
    { type: 'xstate.error.actor.attempt', error: new Error('bound walk') },
    { type: 'xstate.done.actor.onOpen', output: undefined },
    { type: 'xstate.error.actor.onOpen', error: new Error('bound walk') },
  ];
  return events;
}

const BACKOFF_KEYS: ReadonlySet<string> = new Set([
  'initialDelay',
  'maxDelay',
  'factor',
  'maxAttempts',
  'minUptime',
  'shouldReconnect',
]);

/** The `reconnect` option checked as createManagedConnection checks it (docs of ReconnectOptions). */
function reconnectOf(value: unknown): Partial<Backoff> | false | undefined {
  if (value === undefined || value === false) return value;
  if (!isObject(value)) throw invalid(`reconnect must be an object or false, got ${kind(value)}`);
  const backoff: Partial<Backoff> = {};
  for (const [key, field] of Object.entries(value)) {
    if (!BACKOFF_KEYS.has(key)) {
      throw invalid(`unknown reconnect option ${JSON.stringify(key)} (${[...BACKOFF_KEYS].join(', ')})`);
    }
    if (field === undefined || key === 'shouldReconnect') continue;
    const shown = typeof field === 'number' ? String(field) : kind(field);
    const n = field as number;
    if (key === 'factor') {
      if (typeof field !== 'number' || !Number.isFinite(n) || n < 1) {
        throw invalid(`reconnect.factor must be a finite number ≥ 1, got ${shown}`);
      }
    } else if (key === 'maxAttempts') {
      if (typeof field !== 'number' || !(n === Number.POSITIVE_INFINITY || (Number.isInteger(n) && n >= 1))) {
        throw invalid(`reconnect.maxAttempts must be an integer ≥ 1 or Infinity, got ${shown}`);
      }
    } else if (typeof field !== 'number' || !Number.isInteger(n) || n < 0 || n > MAX_MS) {
      throw invalid(`reconnect.${key} must be an integer number of ms from 0 to ${MAX_MS}, got ${shown}`);
    }
    backoff[key as keyof Backoff] = n;
  }
  return backoff;
}

/** Events that exist only because the peer sent bytes (RFC 6455 §4.1 the 101; §5.5.1 a Close; any frame). */
const PEER_BYTES: ReadonlySet<string> = new Set<ConnectionEvent['type']>([
  'ws.open',
  'ws.close-received',
  'ws.activity',
  'ws.protocol-error',
]);

/** One event of each type the connection machine takes; payloads do not steer it (no guard reads them). */
function connectionEvents(): EventObject[] {
  const events: { [K in ConnectionEvent['type']]: Extract<ConnectionEvent, { type: K }> } = {
    'api.open': { type: 'api.open' },
    'api.adopt': { type: 'api.adopt', protocol: '' },
    'api.close': { type: 'api.close', code: 1000, reason: '' },
    'api.terminate': { type: 'api.terminate' },
    'api.ping': { type: 'api.ping' },
    'ws.open': { type: 'ws.open', protocol: '' },
    'ws.handshake-failed': {
      type: 'ws.handshake-failed',
      error: new ConnectionError('ERR_CONNECT_FAILED', 'bound walk'),
    },
    'ws.close-received': { type: 'ws.close-received', code: 1000, reason: '' },
    'ws.flushed': { type: 'ws.flushed' },
    'ws.closed': { type: 'ws.closed', code: 1006, reason: '' },
    'ws.protocol-error': {
      type: 'ws.protocol-error',
      error: new ConnectionError('ERR_PROTOCOL', 'bound walk'),
    },
    'ws.activity': { type: 'ws.activity' },
  };
  return Object.values(events);
}

// ---------------------------------------------------------------------------------------------------
// Options, checked as createConnection checks them (machines/ imports nothing from src/).

const MAX_MS = 2 ** 31 - 1;
const TIMEOUT_KEYS: ReadonlySet<string> = new Set(['connect', 'write', 'read']);
const KEEPALIVE_KEYS: ReadonlySet<string> = new Set(['interval', 'timeout', 'message', 'isPong']);

function invalid(message: string): ConnectionError {
  return new ConnectionError('ERR_INVALID_OPTIONS', message);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function kind(value: unknown): string {
  if (value === null) return 'null';
  return Array.isArray(value) ? 'array' : typeof value;
}

function checkedMs(value: unknown, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > MAX_MS) {
    const shown = typeof value === 'number' ? String(value) : kind(value);
    throw invalid(`${name} must be an integer number of ms from 1 to ${MAX_MS}, got ${shown}`);
  }
  return value;
}

function checkedFields<K extends string>(
  value: unknown,
  name: string,
  keys: ReadonlySet<string>,
): Partial<Record<K, number>> {
  if (!isObject(value)) throw invalid(`${name} must be an object, got ${kind(value)}`);
  const fields: Partial<Record<K, number>> = {};
  for (const [key, field] of Object.entries(value)) {
    if (!keys.has(key))
      throw invalid(`unknown ${name} option ${JSON.stringify(key)} (${[...keys].join(', ')})`);
    if (key === 'message' || key === 'isPong') continue;
    const ms = checkedMs(field, `${name}.${key}`);
    if (ms !== undefined) fields[key as K] = ms;
  }
  return fields;
}

function inputOf(options: unknown): ConnectionInput {
  if (options === undefined) return {};
  if (!isObject(options)) throw invalid(`bounds options must be an object, got ${kind(options)}`);
  const input: ConnectionInput = {};
  if (options.timeouts !== undefined)
    input.timeouts = checkedFields(options.timeouts, 'timeouts', TIMEOUT_KEYS);
  if (options.keepalive === false) input.keepalive = null;
  else if (options.keepalive !== undefined) {
    // The machine fills in what is missing from DEFAULT_KEEPALIVE.
    input.keepalive = checkedFields(options.keepalive, 'keepalive', KEEPALIVE_KEYS) as Keepalive;
  }
  return input;
}

// ---------------------------------------------------------------------------------------------------
// The walk.

/** What {@link machineBounds} walks. */
export interface WalkOptions {
  /** The machine's input. @default undefined */
  input?: unknown;
  /**
   * One event of each type the machine takes (it throws if one is missing): payloads must not steer
   * the machine's guards, since one sample of each type stands for all.
   */
  events: readonly EventObject[];
  /** Which events may arrive during the walk (the deadlines always fire). @default every one */
  allow?: (type: string) => boolean;
  /** An event that starts each bound at once (`api.close`); a state that ignores it is bounded from itself. @default none */
  start?: string;
  /** Leave the initial state out of `maxMs` (it still has its row). @default false */
  skipInitial?: boolean;
  /**
   * Children the machine tells to close (`sendTo(id, { type: 'api.close' })`), each with the longest
   * its close can take and the event its end brings: the close arms that as a deadline (a second close
   * to a child already closing does not re-arm it); stopping the child (`stopChild`) cancels it.
   * @default none
   */
  children?: Readonly<Record<string, { closeMs: number; done: EventObject }>>;
  /**
   * What of a snapshot tells steps apart: by default its value and whole context. A machine whose
   * context counts without end (attempts) must leave the counts out, or the walk never ends.
   * @default the value and the context
   */
  key?: (snapshot: Snapshot) => unknown;
}

/**
 * The walk described at the top of this file, for any machine whose deadlines are `after` transitions:
 * the bound from every reachable state. Throws an `Error` when there is none to prove (a cycle with
 * deadlines re-armed, more than 10 000 steps, an event with no sample).
 */
export function machineBounds(machine: AnyStateMachine, options: WalkOptions): BoundTable {
  const walk = new BoundWalk(machine, options);
  const initial = walk.initialState;
  return walk.table(options.start, (state) => !(options.skipInitial && state === initial));
}

type Snapshot = ReturnType<AnyStateMachine['getInitialSnapshot']>;

/** A deadline armed in a step. */
interface Timer {
  id: string;
  event: EventObject;
  left: number;
}

interface Step {
  snapshot: Snapshot;
  timers: readonly Timer[];
  key: string;
}

interface Best {
  ms: number;
  /** How many moves that path takes: of two equally long paths, the witness is the shorter. */
  moves: number;
  /** The first move of a longest path, if it has one. */
  move?: { event: string; cost: number; raced: boolean; next: Step };
}

/** The most steps a walk may visit: the connection machine has a few dozen. */
const MAX_STEPS = 10_000;

class BoundWalk {
  readonly initial: Step;
  readonly initialState: string;
  readonly #machine: AnyStateMachine;
  readonly #events: readonly EventObject[];
  readonly #allowed: readonly EventObject[];
  readonly #best = new Map<string, Best>();
  readonly #onPath = new Set<string>();
  readonly #children: NonNullable<WalkOptions['children']>;
  readonly #key: NonNullable<WalkOptions['key']>;

  constructor(machine: AnyStateMachine, options: WalkOptions) {
    this.#machine = machine;
    const { events } = options;
    const alphabet = new Set(events.map((e) => e.type));
    for (const type of machine.events) {
      if (!type.startsWith('xstate.after.') && !alphabet.has(type)) {
        throw new Error(`bounds: the machine takes ${type}, which the walk has no event for`);
      }
    }
    const allow = options.allow ?? (() => true);
    this.#events = events;
    this.#allowed = events.filter((e) => allow(e.type));
    this.#children = options.children ?? {};
    this.#key = options.key ?? ((snapshot) => ({ value: snapshot.value, context: snapshot.context }));
    const [snapshot, actions] = initialTransition(machine, options.input);
    this.initial = this.#stepOf(snapshot, this.#armed([], actions));
    this.initialState = stateOf(snapshot);
  }

  /**
   * The bound per state, from each step reachable from the initial one: right after `startType` (if
   * given; a state that ignores it keeps the step it had), or from the step itself. `maxMs` is over
   * the states `counted` accepts.
   */
  table(startType: string | undefined, counted: (state: string) => boolean): BoundTable {
    const start = this.#events.find((e) => e.type === startType);
    if (startType !== undefined && !start) throw new Error(`bounds: no event ${startType}`);
    const byState = new Map<string, StateBound>();
    for (const step of this.#reachable()) {
      const state = stateOf(step.snapshot);
      const moved = start && this.#advance(step, start, 0);
      const from = moved ?? step;
      const ms = this.#longest(from).ms;
      const known = byState.get(state);
      if (!known || ms > known.ms) {
        const witness = this.#witness(from);
        if (moved && start) witness.unshift({ event: start.type, atMs: 0, raced: false });
        byState.set(state, { state, ms, witness });
      }
    }
    const order = definitionOrder(this.#machine);
    const states = [...byState.values()].sort((a, b) => order(a.state) - order(b.state));
    let worst: StateBound | undefined;
    for (const bound of states) {
      if (counted(bound.state) && (!worst || bound.ms > worst.ms)) worst = bound;
    }
    return { maxMs: worst?.ms ?? 0, worst: worst?.state ?? this.initialState, states };
  }

  /** Every step reachable from the initial one, each event taken as soon as it can be. */
  #reachable(): Step[] {
    const seen = new Map<string, Step>([[this.initial.key, this.initial]]);
    const queue = [this.initial];
    for (let step = queue.shift(); step; step = queue.shift()) {
      const nexts = this.#events.map((event) => this.#advance(step, event, 0));
      const soonest = earliest(step.timers);
      for (const timer of step.timers) {
        if (timer.left === soonest) nexts.push(this.#fire(step, timer));
      }
      for (const next of nexts) {
        if (next && !seen.has(next.key)) {
          if (seen.size >= MAX_STEPS)
            throw new Error(`bounds: more than ${MAX_STEPS} steps; no bound computed`);
          seen.set(next.key, next);
          queue.push(next);
        }
      }
    }
    return [...seen.values()];
  }

  /** The longest time from `step` to the final state, with the first move of such a path. */
  #longest(step: Step): Best {
    const known = this.#best.get(step.key);
    if (known) return known;
    if (step.snapshot.status === 'done') return this.#remember(step, { ms: 0, moves: 0 });
    if (this.#onPath.has(step.key)) {
      throw new Error(
        `bounds: the machine can come back to ${stateOf(step.snapshot)} with the same deadlines armed: no bound`,
      );
    }
    if (step.timers.length === 0) return this.#remember(step, { ms: Number.POSITIVE_INFINITY, moves: 0 });
    this.#onPath.add(step.key);
    const wait = earliest(step.timers);
    let best: Best = { ms: Number.NEGATIVE_INFINITY, moves: 0 };
    const consider = (event: string, next: Step | undefined, raced: boolean) => {
      // The same step again with no time passed changes nothing; with time passed, it is a cycle.
      if (!next || (wait === 0 && next.key === step.key)) return;
      const rest = this.#longest(next);
      const ms = wait + rest.ms;
      if (ms > best.ms || (ms === best.ms && rest.moves + 1 < best.moves)) {
        best = { ms, moves: rest.moves + 1, move: { event, cost: wait, raced, next } };
      }
    };
    for (const timer of step.timers) {
      if (timer.left === wait) consider(timer.event.type, this.#fire(step, timer), false);
    }
    for (const event of this.#allowed) consider(event.type, this.#advance(step, event, wait), true);
    this.#onPath.delete(step.key);
    return this.#remember(step, best);
  }

  #remember(step: Step, best: Best): Best {
    this.#best.set(step.key, best);
    return best;
  }

  /** The path that takes the bound from `from`. */
  #witness(from: Step): WitnessStep[] {
    const witness: WitnessStep[] = [];
    let at = 0;
    for (let move = this.#longest(from).move; move; move = this.#longest(move.next).move) {
      at += move.cost;
      witness.push({ event: move.event, atMs: at, raced: move.raced });
    }
    return witness;
  }

  #fire(step: Step, timer: Timer): Step {
    const rest = step.timers.filter((t) => t !== timer);
    return (
      this.#advance({ ...step, timers: rest }, timer.event, timer.left) ?? this.#stepOf(step.snapshot, rest)
    );
  }

  /** `event` arrives after `elapsed` ms; `undefined` if the machine ignores it or it cannot come. */
  #advance(step: Step, event: EventObject, elapsed: number): Step | undefined {
    // A child's events come only while that child exists.
    const child = CHILD_EVENT.exec(event.type)?.[1];
    if (child !== undefined && !(child in step.snapshot.children)) return undefined;
    const [snapshot, actions] = transition(this.#machine, step.snapshot, event);
    if (snapshot === step.snapshot && actions.length === 0) return undefined;
    if (snapshot.status === 'error') throw new Error(`bounds: ${event.type} makes the machine fail`);
    const running = step.timers.map((t) => ({ ...t, left: t.left - elapsed }));
    return this.#stepOf(snapshot, this.#armed(running, actions));
  }

  #stepOf(snapshot: Snapshot, timers: readonly Timer[]): Step {
    const deadlines = [...timers].sort((a, b) => a.id.localeCompare(b.id)).map((t) => `${t.id}@${t.left}`);
    const facts = JSON.stringify(this.#key(snapshot), errorsByCode);
    return { snapshot, timers, key: `${facts}|${deadlines.join(',')}` };
  }

  /**
   * The timers once `actions` ran: `xstate.cancel` ends one, a delayed `xstate.raise` arms one; a
   * close sent to a known child arms its end, stopping that child cancels it.
   */
  #armed(timers: readonly Timer[], actions: ReadonlyArray<{ type: string; params?: unknown }>): Timer[] {
    let result = [...timers];
    const arm = (timer: Timer) => {
      result = [...result.filter((t) => t.id !== timer.id), timer];
    };
    for (const action of actions) {
      const params = (action.params ?? {}) as ActionParams;
      if (action.type === 'xstate.cancel') result = result.filter((t) => t.id !== params.sendId);
      if (action.type === 'xstate.raise' && typeof params.delay === 'number' && params.event) {
        arm({ id: params.id ?? params.event.type, event: params.event, left: params.delay });
      }
      const child = this.#children[params.targetId ?? params.id ?? ''];
      const id = `child:${params.targetId ?? params.id}`;
      if (child && action.type === 'xstate.sendTo' && params.event?.type === 'api.close') {
        if (!result.some((t) => t.id === id)) arm({ id, event: child.done, left: child.closeMs });
      }
      if (child && action.type === 'xstate.stopChild') result = result.filter((t) => t.id !== id);
    }
    return result;
  }
}

/** `xstate.done.actor.<id>`, `xstate.error.actor.<id>`, `xstate.snapshot.<id>`: events from child `id`. */
const CHILD_EVENT = /^xstate\.(?:(?:done|error)\.actor|snapshot)\.(.+)$/;

/** The params of the actions the walk reads. */
interface ActionParams {
  sendId?: string;
  id?: string;
  targetId?: string;
  delay?: unknown;
  event?: EventObject;
}

function earliest(timers: readonly Timer[]): number {
  return Math.min(...timers.map((t) => t.left));
}

/** Errors in a context are told apart by their code (their messages and stacks do not steer the machine). */
function errorsByCode(_key: string, value: unknown): unknown {
  return value instanceof ConnectionError ? { error: value.code } : value;
}

/** `open.quiet` for `{ open: 'quiet' }`. */
function stateOf(snapshot: Snapshot): string {
  const path = (value: unknown): string => {
    if (typeof value === 'string') return value;
    return Object.entries(value as Record<string, unknown>)
      .map(([key, child]) => `${key}.${path(child)}`)
      .join(',');
  };
  return path(snapshot.value);
}

/** Where each state's node stands in the machine's definition (lifecycle order). */
function definitionOrder(machine: AnyStateMachine): (state: string) => number {
  const paths: string[] = [];
  const visit = (node: AnyStateMachine['root']) => {
    for (const child of Object.values(node.states)) {
      paths.push(child.path.join('.'));
      visit(child);
    }
  };
  visit(machine.root);
  return (state) => paths.indexOf(state);
}
