/**
 * The runtime-neutral core of every connection: the `Connection` class and the `Driver` between the
 * machine and a transport. It keeps the promises and listeners; every lifecycle decision stays in the
 * machine. It imports neither `ws` nor any `node:` module (clock: `globalThis.performance`; ids:
 * `globalThis.crypto`), so the standard WebSocket entry (`ws-lifecycle/web`) bundles it for browsers.
 * The entries add the transport: src/connection.ts (ws, Node) and src/web.ts (the standard WebSocket).
 */
import { type Actor, type AnyActorRef, createActor, fromCallback, type InspectionEvent } from 'xstate';
import { validateCloseStatus } from '../../machines/close-codes.js';
import { ConnectionError } from '../../machines/connection-error.js';
import type {
  CloseCommand,
  CloseInfo,
  ConnectionEvent,
  StateChangeEmitted,
  StateName,
} from '../../machines/types.js';
import type { AuditRecord } from '../audit/audit.js';
import type { ResolvedKeepalive } from '../keepalive.js';
import {
  attachTransport,
  drivenConnectionMachine,
  type MessageData,
  type SendData,
  type Transport,
  type TransportSink,
} from '../transports/transport.js';

export type { MessageData, SendData };

/** Listeners by event name. */
export interface ConnectionEvents {
  /** A data message arrived (also while closing: nothing the peer sent before its Close is lost). */
  message: (data: MessageData) => void;
  /** A top-level state change, the same record the trail keeps. */
  state: (record: AuditRecord) => void;
  /** The connection ended; exactly once. */
  close: (info: CloseInfo) => void;
  /** The connection failed; at most once, always before 'close', never for your own close()/terminate(). */
  error: (error: ConnectionError) => void;
  /**
   * A Ping frame arrived from the peer, with its payload (at most 125 bytes); the transport has
   * answered it with a Pong (RFC 6455 §5.5.2). Never on a transport that cannot see ping frames (the
   * standard WebSocket).
   */
  ping: (data: Uint8Array) => void;
  /**
   * A Pong arrived (or the heartbeat's reply, `keepalive.isPong`): the round trip in ms of the ping it
   * answers, or `null` for a pong no ping of ours awaited (unsolicited, RFC 6455 §5.5.3).
   */
  pong: (rttMs: number | null) => void;
}

/** The XState actor a connection runs: `connectionMachine` with the transport's commands provided. */
export type ConnectionActor = Actor<typeof drivenConnectionMachine>;

/** Options of {@link Connection.open}. */
export interface OpenOptions {
  /**
   * Aborts the opening handshake when it fires while connecting: the socket is destroyed (the trail
   * shows `api.terminate`), `open()` rejects ERR_CONNECT_ABORTED with the signal's reason as `cause`,
   * and no `'error'` is reported (the caller ended it). Already aborted: `open()` rejects at once the
   * same way and nothing else happens. Ignored once open; its listener is removed when `open()` settles.
   * @default none
   */
  signal?: AbortSignal;
}

/** Options of {@link Connection.close}. */
export interface CloseOptions {
  /**
   * Escalates the closing handshake to `terminate()` when it fires before the connection closed: the
   * socket is destroyed at once and `close()` resolves with that CloseInfo (code 1006 unless the peer's
   * Close had arrived, `wasClean: false`, no error). Already aborted: `close()` rejects at once with
   * ERR_INVALID_STATE (there is no close left to run), the signal's reason as `cause`, and nothing is
   * sent. Its listener is removed when the connection closes.
   * @default none
   */
  signal?: AbortSignal;
}

type Listeners = { [K in keyof ConnectionEvents]?: Array<ConnectionEvents[K]> };

const NO_TRAIL: readonly AuditRecord[] = Object.freeze([]);

/** Pings (ours and the caller's) that may await their pong at once. */
export const MAX_PINGS_IN_FLIGHT = 64;

function noop(): void {}

/** What a connection is made of, whatever its transport. @internal */
export interface ConnectionSetup {
  timeouts: import('../../machines/types.js').Timeouts;
  keepalive: ResolvedKeepalive | null;
  audit: ((record: AuditRecord) => void) | undefined;
  inspect: ((event: InspectionEvent) => void) | { next?: (event: InspectionEvent) => void } | undefined;
  trail: boolean;
  /** Makes the connection's transport; it reports to `sink`. */
  transport: (sink: TransportSink) => Transport;
  /**
   * Further limits of the transport on what `close()` may send, checked after RFC 6455's (throws a
   * ConnectionError; nothing is sent and the state is unchanged). The standard WebSocket sends only
   * 1000 and 3000–4999.
   * @default none
   */
  checkClose?: (code: number, reason: string) => void;
  /**
   * The transport can send ping frames. Without them `ping()` needs the application heartbeat
   * (`keepalive.message`), and rejects otherwise.
   * @default true
   */
  pingFrames?: boolean;
}

interface PingInFlight {
  at: number;
  waiter: { resolve: (ms: number) => void; reject: (error: ConnectionError) => void } | null;
}

/**
 * Between the machine and the transport: carries the machine's commands to the transport, and the
 * transport's events and data back. It also keeps what is common to every transport: the sampling of
 * activity for keepalive, the application heartbeat, and the pings in flight.
 */
class Driver implements Transport, TransportSink {
  transport!: Transport;
  /** When activity was last reported to the machine (performance.now()). */
  lastReport = Number.NEGATIVE_INFINITY;
  pings: PingInFlight[] | null = null;
  /** The caller's ping the next `transport.ping` carries. */
  nextWaiter: PingInFlight['waiter'] = null;
  latency: number | null = null;

  constructor(
    readonly connection: Connection,
    readonly actor: ConnectionActor,
    readonly keepalive: ResolvedKeepalive | null,
  ) {}

  // Commands out, from the machine.
  connect(): void {
    this.transport.connect();
  }
  close(command: CloseCommand): void {
    this.transport.close(command);
  }
  destroy(): void {
    this.transport.destroy();
  }
  ping(): void {
    // The next frame ends the pong deadline: report it at once.
    this.lastReport = Number.NEGATIVE_INFINITY;
    this.pings ??= [];
    const pings = this.pings;
    if (pings.length >= MAX_PINGS_IN_FLIGHT) pings.shift();
    pings.push({ at: performance.now(), waiter: this.nextWaiter });
    this.nextWaiter = null;
    const heartbeat = this.keepalive?.message;
    if (!heartbeat) {
      this.transport.ping();
      return;
    }
    let data: MessageData;
    try {
      data = heartbeat();
    } catch (error) {
      // Nothing goes out; the pong deadline then fails the connection.
      rethrow(error);
      return;
    }
    try {
      this.transport.send(data);
    } catch (error) {
      // The transport refuses a send once the peer has ended TCP (ERR_INVALID_STATE), and the machine
      // learns of that end next: nothing goes out. Anything else is a bug that still surfaces.
      if (!(error instanceof ConnectionError)) rethrow(error);
    }
  }
  release(): void {
    this.transport.release();
  }
  send(data: SendData): void {
    this.transport.send(data);
  }

  // Events in, from the transport.
  event(event: ConnectionEvent): void {
    this.actor.send(event);
  }
  message(data: MessageData): void {
    const isPong = this.keepalive?.isPong;
    if (isPong && this.pings !== null && this.pings.length > 0) {
      let pong = false;
      try {
        pong = isPong(data) === true;
      } catch (error) {
        rethrow(error);
      }
      if (pong) this.pong();
    }
    this.connection._deliver(data);
  }
  /**
   * A frame arrived. Reported to the machine as `ws.activity` at most once per `sampleMs` (a busy feed
   * costs the machine nothing per message). Sampling only makes the machine's idea of the last frame
   * earlier than the truth, so a ping may leave up to `sampleMs` early; a dead peer is never found late.
   */
  frame(): void {
    const keepalive = this.keepalive;
    if (keepalive === null) return;
    const now = performance.now();
    if (now - this.lastReport < keepalive.sampleMs) return;
    this.lastReport = now;
    this.actor.send(ACTIVITY);
  }
  pong(): void {
    const ping = this.pings?.shift();
    if (!ping) {
      this.connection._control('pong', null);
      return;
    }
    const ms = Math.round((performance.now() - ping.at) * 1000) / 1000;
    this.latency = ms;
    ping.waiter?.resolve(ms);
    this.connection._control('pong', ms);
  }
  peerPing(data: Uint8Array): void {
    this.connection._control('ping', data);
  }

  /** The connection ended: pings still waiting reject with its error. */
  end(info: CloseInfo): void {
    const waiters = this.pings?.map((ping) => ping.waiter).filter((waiter) => waiter !== null) ?? [];
    if (this.nextWaiter) waiters.push(this.nextWaiter);
    this.pings = null;
    this.nextWaiter = null;
    if (waiters.length === 0) return;
    const error =
      info.error ?? new ConnectionError('ERR_INVALID_STATE', 'the connection closed before the pong arrived');
    for (const waiter of waiters) waiter?.reject(error);
  }
}

const ACTIVITY: ConnectionEvent = Object.freeze({ type: 'ws.activity' });

/**
 * One WebSocket connection, single-use: idle → connecting → open → closing-sent → draining → closed.
 * Made by `createConnection` (from `ws-lifecycle` or `ws-lifecycle/web`).
 */
export class Connection {
  /** Unique id, also in every audit record. */
  readonly id: string;
  /** The running XState actor, for inspection and advanced use. Send it nothing: use the methods. */
  readonly actor: ConnectionActor;

  readonly #driver: Driver;
  readonly #checkClose: ConnectionSetup['checkClose'];
  readonly #canPing: boolean;
  readonly #trail: AuditRecord[] | null;
  readonly #audit: ((record: AuditRecord) => void) | undefined;
  readonly #t0 = performance.now();
  #listeners: Listeners | null = null;
  #seq = 0;
  #from: StateName | null = null;
  #opened: Promise<void> | null = null;
  #openSettle: { resolve: () => void; reject: (error: ConnectionError) => void } | null = null;
  #info: CloseInfo | null = null;
  #started = false;
  /** Made on first ask (an open connection nobody awaits holds no promise). */
  #closed: Promise<CloseInfo> | null = null;
  #resolveClosed: ((info: CloseInfo) => void) | null = null;
  /** Set when an `open({ signal })` aborted the handshake: the `cause` of its ERR_CONNECT_ABORTED. */
  #abortedOpen: { reason: unknown } | null = null;

  /** @internal Use `createConnection`. */
  constructor(setup: ConnectionSetup) {
    this.id = nextConnectionId();
    this.#trail = setup.trail ? [] : null;
    this.#audit = setup.audit;
    this.#checkClose = setup.checkClose;
    this.#canPing = setup.pingFrames !== false || setup.keepalive?.message !== undefined;
    const input = {
      connectionId: this.id,
      timeouts: setup.timeouts,
      keepalive: setup.keepalive === null ? null : setup.keepalive.limits,
    };
    // Connections share one long-lived actor system (a root actor creates its own, ~2 KB each). One
    // with an inspector is its own root: XState inspects whole systems.
    this.actor = createActor(
      drivenConnectionMachine,
      setup.inspect ? { input, inspect: isolated(setup.inspect) } : { input, parent: sharedHost() },
    );
    const driver = new Driver(this, this.actor, setup.keepalive);
    driver.transport = setup.transport(driver);
    this.#driver = driver;
    attachTransport(this.actor, driver);
    this.actor.on('lifecycle.state', (change) => this.#record(change));
    // Completion is learned from the closed record (#record); only a failure of ours needs an observer.
    this.actor.subscribe({
      error: (error) => {
        // A bug of ours: the socket must still go, and the outcome still be delivered once.
        try {
          driver.release();
        } catch {}
        this.#settle(internalFailure(error));
      },
    });
  }

  /**
   * Starts the actor on first use (open, close, terminate): until then the connection holds nothing in
   * the shared system, so one created and dropped unused is simply collected.
   */
  #start(): void {
    if (this.#started) return;
    this.#started = true;
    this.actor.start();
  }

  /** The current top-level state. */
  get state(): StateName {
    const value = this.actor.getSnapshot().value;
    return (typeof value === 'string' ? value : Object.keys(value)[0]) as StateName;
  }

  /** Every state change so far, from the `idle` record written on first use (empty with `trail: false`). */
  get trail(): readonly AuditRecord[] {
    return this.#trail ?? NO_TRAIL;
  }

  /** Resolves exactly once with how the connection ended; never rejects. */
  get closed(): Promise<CloseInfo> {
    if (this.#closed === null) {
      const info = this.#info;
      this.#closed = info
        ? Promise.resolve(info)
        : new Promise((resolve) => {
            this.#resolveClosed = resolve;
          });
    }
    return this.#closed;
  }

  /** The last measured round trip of a ping, in ms; `null` before the first pong. */
  get latency(): number | null {
    return this.#driver.latency;
  }

  /**
   * Starts the opening handshake under the connect deadline. Resolves once open; rejects with the
   * ConnectionError that ended it (ERR_CONNECT_ABORTED if you closed it first). Repeated calls return
   * the same promise. A connection is single-use: after it closed, this rejects ERR_INVALID_STATE.
   * The promise never causes an unhandled rejection if you do not await it.
   *
   * `signal` aborts the handshake, as in Node and fetch (see {@link OpenOptions}).
   */
  open(options?: OpenOptions): Promise<void> {
    const signal = signalOf('open', options);
    if (signal instanceof ConnectionError) return handled(Promise.reject(signal));
    if (signal?.aborted) {
      return handled(
        Promise.reject(
          new ConnectionError('ERR_CONNECT_ABORTED', 'open() was given an already aborted signal', {
            cause: signal.reason,
          }),
        ),
      );
    }
    const opened = this.#open();
    if (signal && this.state === 'connecting') {
      const abort = () => {
        if (this.state !== 'connecting') return;
        this.#abortedOpen ??= { reason: signal.reason };
        this.actor.send({ type: 'api.terminate' });
      };
      const remove = listenAbort(signal, abort);
      opened.then(remove, remove);
    }
    return opened;
  }

  #open(): Promise<void> {
    if (this.#info === null && this.#opened) return this.#opened;
    const state = this.state;
    if (state !== 'idle') {
      return handled(
        Promise.reject(
          new ConnectionError(
            'ERR_INVALID_STATE',
            state === 'closed'
              ? 'a connection is single-use: it has already closed'
              : `this connection is ${state} already (an adopted connection starts open)`,
          ),
        ),
      );
    }
    this.#opened = handled(
      new Promise<void>((resolve, reject) => {
        this.#openSettle = { resolve, reject };
      }),
    );
    this.#start();
    this.actor.send({ type: 'api.open' });
    return this.#opened;
  }

  /** @internal Hands an already open socket to the machine (server side, `adopt`). */
  _adopt(protocol: string): void {
    this.#start();
    this.actor.send({ type: 'api.adopt', protocol });
  }

  /**
   * Sends a data message: a string as text, bytes or an ArrayBuffer as binary. Throws ConnectionError
   * ERR_INVALID_DATA for anything else (a detached buffer included) and ERR_INVALID_STATE unless the
   * connection is open.
   */
  send(data: SendData): void {
    checkSendData(data);
    const state = this.state;
    if (state !== 'open') {
      throw new ConnectionError(
        'ERR_INVALID_STATE',
        `cannot send while ${state}: only an open connection sends`,
      );
    }
    this.#driver.send(data);
  }

  /**
   * Sends a ping now (RFC 6455 §5.5.2; the application heartbeat when `keepalive.message` is set) and
   * resolves with the round-trip time in ms once the pong arrives. Rejects ERR_INVALID_STATE unless
   * open, and on a transport without ping frames (the standard WebSocket) unless the heartbeat is set;
   * if the connection ends first, rejects with its error (ERR_INVALID_STATE when it has none).
   */
  ping(): Promise<number> {
    const state = this.state;
    if (state !== 'open') {
      return handled(
        Promise.reject(
          new ConnectionError(
            'ERR_INVALID_STATE',
            `cannot ping while ${state}: only an open connection pings`,
          ),
        ),
      );
    }
    if (!this.#canPing) {
      return handled(
        Promise.reject(
          new ConnectionError(
            'ERR_INVALID_STATE',
            'this transport cannot send ping frames (the standard WebSocket has no ping API): give keepalive.message and keepalive.isPong for an application heartbeat',
          ),
        ),
      );
    }
    if ((this.#driver.pings?.length ?? 0) >= MAX_PINGS_IN_FLIGHT) {
      return handled(
        Promise.reject(
          new ConnectionError('ERR_INVALID_STATE', `${MAX_PINGS_IN_FLIGHT} pings already await their pong`),
        ),
      );
    }
    return handled(
      new Promise<number>((resolve, reject) => {
        this.#driver.nextWaiter = { resolve, reject };
        this.actor.send({ type: 'api.ping' });
      }),
    );
  }

  /**
   * Runs the closing handshake (RFC 6455 §7.1.2) under the write and read deadlines: our Close goes out
   * behind the data already sent, then we read until the peer's Close and the end of TCP. Resolves with
   * the CloseInfo; rejects only for an invalid code (ERR_INVALID_CLOSE_CODE; on the standard WebSocket
   * also any code but 1000 and 3000–4999) or reason (ERR_INVALID_CLOSE_REASON), leaving the connection
   * as it was. Safe to repeat: later calls share the
   * first handshake. Before open it aborts (idle: nothing to close; connecting: the handshake is aborted).
   *
   * `signal` escalates the handshake to `terminate()` when it fires (see {@link CloseOptions}).
   */
  close(code = 1000, reason = '', options?: CloseOptions): Promise<CloseInfo> {
    try {
      validateCloseStatus(code, reason);
      this.#checkClose?.(code, reason);
    } catch (error) {
      return handled(Promise.reject(error));
    }
    const signal = signalOf('close', options);
    if (signal instanceof ConnectionError) return handled(Promise.reject(signal));
    if (signal?.aborted) {
      return handled(
        Promise.reject(
          new ConnectionError(
            'ERR_INVALID_STATE',
            'close() was given an already aborted signal: nothing was sent, the connection is unchanged',
            { cause: signal.reason },
          ),
        ),
      );
    }
    this.#start();
    if (this.actor.getSnapshot().status === 'active') this.actor.send({ type: 'api.close', code, reason });
    const closed = this.closed;
    if (signal && this.#info === null) {
      const remove = listenAbort(signal, () => {
        this.terminate();
      });
      closed.then(remove);
    }
    return closed;
  }

  /** Ends the connection at once, no handshake (escalates a close in progress). Resolves with the CloseInfo. */
  terminate(): Promise<CloseInfo> {
    this.#start();
    if (this.actor.getSnapshot().status === 'active') this.actor.send({ type: 'api.terminate' });
    return this.closed;
  }

  /** Adds a listener; returns a function that removes it. Listener exceptions are rethrown asynchronously. */
  on<K extends keyof ConnectionEvents>(event: K, listener: ConnectionEvents[K]): () => void {
    if (typeof event !== 'string' || !Object.hasOwn(EVENT_NAMES, event)) {
      throw new ConnectionError(
        'ERR_INVALID_OPTIONS',
        `unknown event ${typeof event === 'string' ? JSON.stringify(event) : typeof event} (message, state, close, error, ping, pong)`,
      );
    }
    if (typeof listener !== 'function') {
      throw new ConnectionError('ERR_INVALID_OPTIONS', 'listener must be a function');
    }
    if (this.#listeners === null) this.#listeners = {};
    const list: ConnectionEvents[K][] = this.#listeners[event] ?? [];
    (this.#listeners as Record<K, ConnectionEvents[K][]>)[event] = list;
    list.push(listener);
    return () => {
      const index = list.indexOf(listener);
      if (index !== -1) list.splice(index, 1);
    };
  }

  /** @internal A data message from the transport. */
  _deliver(data: MessageData): void {
    this.#emit('message', data);
  }

  /** @internal A ping from the peer, or a pong, from the driver. */
  _control<K extends 'ping' | 'pong'>(event: K, value: Parameters<ConnectionEvents[K]>[0]): void {
    this.#emit(event, value);
  }

  #emit<K extends keyof ConnectionEvents>(event: K, value: Parameters<ConnectionEvents[K]>[0]): void {
    const list = this.#listeners?.[event];
    if (!list || list.length === 0) return;
    if (list.length === 1) {
      call(list[0] as (value: unknown) => void, value);
      return;
    }
    for (const listener of list.slice()) call(listener as (value: unknown) => void, value);
  }

  #record(change: StateChangeEmitted): void {
    const seq = this.#seq++;
    const from = this.#from;
    this.#from = change.to;
    if (change.to === 'open' && this.#openSettle) {
      this.#openSettle.resolve();
      this.#openSettle = null;
    } else if (change.to === 'closed') {
      // The outcome is delivered once the step that closed is over (its snapshot is then final).
      queueMicrotask(() => this.#settle(this.actor.getSnapshot().output as CloseInfo));
    }
    if (!this.#trail && !this.#audit && !this.#listeners?.state?.length) return;
    const record: AuditRecord = {
      seq,
      time: Date.now(),
      elapsedMs: Math.round((performance.now() - this.#t0) * 1000) / 1000,
      connectionId: this.id,
      from,
      to: change.to,
      event: change.event,
    };
    if (change.detail) record.detail = change.detail;
    this.#trail?.push(record);
    if (this.#audit) call(this.#audit as (value: unknown) => void, record);
    this.#emit('state', record);
  }

  #settle(info: CloseInfo): void {
    if (this.#info) return;
    this.#info = info;
    this.#driver.end(info);
    if (info.error) this.#emit('error', info.error);
    this.#emit('close', info);
    if (this.#openSettle) {
      this.#openSettle.reject(
        info.error ??
          (this.#abortedOpen
            ? new ConnectionError('ERR_CONNECT_ABORTED', "open()'s signal aborted the opening handshake", {
                cause: this.#abortedOpen.reason,
              })
            : new ConnectionError(
                'ERR_CONNECT_ABORTED',
                'the connection was closed before the opening handshake completed',
              )),
      );
      this.#openSettle = null;
    }
    this.#resolveClosed?.(info);
    this.#resolveClosed = null;
  }
}

/** Calls a listener or observer of the caller's: its exception never breaks the lifecycle. */
function call(fn: (value: unknown) => void, value: unknown): void {
  try {
    fn(value);
  } catch (error) {
    rethrow(error);
  }
}

/** A bug in the caller's code still surfaces, as an uncaught exception, outside our call stack. */
function rethrow(error: unknown): void {
  queueMicrotask(() => {
    throw error;
  });
}

/** The caller's inspection observer, isolated like listeners: a throw never wedges the actor. */
function isolated(inspect: NonNullable<ConnectionSetup['inspect']>): (event: InspectionEvent) => void {
  if (typeof inspect === 'function') return (event) => call(inspect as (value: unknown) => void, event);
  return (event) => {
    try {
      inspect.next?.(event);
    } catch (error) {
      rethrow(error);
    }
  };
}

function checkSendData(data: unknown): void {
  if (typeof data === 'string') return;
  let buffer: ArrayBufferLike;
  if (data instanceof Uint8Array) buffer = data.buffer;
  else if (data instanceof ArrayBuffer) buffer = data;
  else {
    throw new ConnectionError(
      'ERR_INVALID_DATA',
      `send takes a string, a Uint8Array or an ArrayBuffer, got ${data === null ? 'null' : typeof data}`,
    );
  }
  if (isDetached(buffer)) {
    throw new ConnectionError(
      'ERR_INVALID_DATA',
      'send got a detached ArrayBuffer (or a view on one): its bytes were transferred away',
    );
  }
}

function isDetached(buffer: ArrayBufferLike): boolean {
  if (!(buffer instanceof ArrayBuffer)) return false; // a SharedArrayBuffer cannot be detached
  const flag = (buffer as { detached?: boolean }).detached;
  if (flag !== undefined) return flag;
  if (buffer.byteLength !== 0) return false;
  try {
    buffer.slice(0, 0);
    return false;
  } catch {
    return true;
  }
}

/**
 * Connections per host system. xstate 5.33's `cancelAll`, run when an actor stops, scans every pending
 * timer of its system: with one system for everything, closing N connections at once costs O(N²)
 * (measured: 7.4 of 12.1 s of a 10 000-connection shutdown). Small systems keep it linear.
 */
const CONNECTIONS_PER_HOST = 64;
let host: AnyActorRef | null = null;
let hosted = 0;

/** The parent of connections without an inspector: an actor that ignores what it is sent. */
function sharedHost(): AnyActorRef {
  if (host === null || hosted >= CONNECTIONS_PER_HOST) {
    host = createActor(fromCallback(noop), { id: 'ws-lifecycle' }).start();
    hosted = 0;
  }
  hosted++;
  return host;
}

/** Unique across processes (a random process prefix) and cheap per connection (a counter). */
const PROCESS_PREFIX = randomPrefix();

/**
 * A random UUID from `globalThis.crypto` (Node ≥ 19, Deno, Bun, browsers). A browser page served over
 * plain http from a non-local host has `crypto.getRandomValues` but no `randomUUID` (secure contexts
 * only): the same 122 random bits, formatted as a version 4 UUID.
 */
function randomPrefix(): string {
  const crypto = globalThis.crypto;
  if (typeof crypto?.randomUUID === 'function') return crypto.randomUUID();
  const bytes = new Uint8Array(16);
  if (typeof crypto?.getRandomValues === 'function') crypto.getRandomValues(bytes);
  else for (let i = 0; i < 16; i++) bytes[i] = Math.floor(Math.random() * 256);
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x40;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
let connectionCounter = 0;
function nextConnectionId(): string {
  connectionCounter += 1;
  return `${PROCESS_PREFIX}-${connectionCounter.toString(36)}`;
}

const EVENT_NAMES = { message: 1, state: 1, close: 1, error: 1, ping: 1, pong: 1 };

/**
 * The `signal` of `open()`/`close()` options: undefined, an AbortSignal, or the ConnectionError
 * ERR_INVALID_OPTIONS to reject with (checked like Node's own `validateAbortSignal`: any object with
 * `aborted` and `addEventListener`, so a signal from another realm works).
 */
function signalOf(method: string, options: unknown): AbortSignal | undefined | ConnectionError {
  if (options === undefined) return undefined;
  if (typeof options !== 'object' || options === null) {
    return new ConnectionError('ERR_INVALID_OPTIONS', `${method}(): options must be an object`);
  }
  const signal = (options as { signal?: unknown }).signal;
  if (signal === undefined) return undefined;
  if (
    typeof signal !== 'object' ||
    signal === null ||
    typeof (signal as AbortSignal).aborted !== 'boolean' ||
    typeof (signal as AbortSignal).addEventListener !== 'function'
  ) {
    return new ConnectionError('ERR_INVALID_OPTIONS', `${method}(): signal must be an AbortSignal`);
  }
  return signal as AbortSignal;
}

/** Calls `onAbort` once when `signal` fires; returns the function that removes the listener. */
function listenAbort(signal: AbortSignal, onAbort: () => void): () => void {
  const listener = () => onAbort();
  signal.addEventListener('abort', listener, { once: true });
  return () => signal.removeEventListener('abort', listener);
}

/** Marks a promise as handled so that nobody awaiting it never crashes the process; returns it. */
function handled<T>(promise: Promise<T>): Promise<T> {
  promise.catch(noop);
  return promise;
}

function internalFailure(error: unknown): CloseInfo {
  return {
    code: 1006,
    reason: '',
    wasClean: false,
    initiator: 'local',
    error: new ConnectionError('ERR_SOCKET', 'ws-lifecycle failed internally; the connection was dropped', {
      cause: error,
    }),
  };
}
