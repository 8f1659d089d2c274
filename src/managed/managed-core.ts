/**
 * The managed connection, whatever its transport: `ManagedConnection` and `createManagedConnectionWith`
 * (the ws client's `createManagedConnection` is in managed-connection.ts). No transport is imported here.
 *
 * The supervisor machine (machines/supervisor-machine.ts) decides everything: when to retry, how long
 * to wait, when to give up. This file keeps what is not a decision: the send queue, the caller's
 * listeners and promises, and one trail across attempts. Each attempt is a `Connection` made by a
 * factory (the ws client's `createConnection` by default; `createManagedConnectionWith` takes another,
 * so this file touches no transport and imports no `node:` module).
 *
 * Delivery is at most once: a message handed to a connection that then dropped is not sent again.
 */
import { type Actor, createActor, fromPromise, type InspectionEvent } from 'xstate';
import { validateCloseStatus } from '../../machines/close-codes.js';
import { ConnectionError } from '../../machines/connection-error.js';
import type { connectionMachine } from '../../machines/connection-machine.js';
import { supervisorMachine } from '../../machines/supervisor-machine.js';
import type {
  ManagedCloseInfo,
  SupervisorInput,
  SupervisorOutput,
  SupervisorStateEmitted,
  SupervisorStateName,
} from '../../machines/supervisor-types.js';
import type { CloseInfo } from '../../machines/types.js';
import type { AuditRecord } from '../audit/audit.js';
import type { Connection } from '../core/connection-core.js';
import type { MessageData, SendData } from '../transports/transport.js';
import { attemptLogic } from './attempt-logic.js';
import {
  type ManagedOwnOptions,
  type ResolvedManagedOptions,
  resolveManagedOptions,
} from './managed-options.js';
import type { AttemptRecord, ManagedTrailRecord, SupervisorRecord } from './managed-trail.js';
import { checkSendData, SendQueue, toQueued } from './send-queue.js';

/** A URL, or a function giving one (called before every attempt: a fresh token, another host). */
export type UrlSource = string | URL | (() => string | URL | Promise<string | URL>);

/** What every attempt's connection gets from the managed connection, whatever its transport. */
export interface AttemptConnectionOptions {
  /** Each of its records, which the managed connection puts in its one trail with `attempt`. */
  audit: (record: AuditRecord) => void;
  /** Keep the connection's own `trail` (the managed connection's `trail` option). */
  trail: boolean;
  /** The managed connection's `inspect` option, when given. */
  inspect?:
    | ((event: InspectionEvent) => void)
    | {
        /** Called with each inspection event. */
        next?: (event: InspectionEvent) => void;
      };
}

/**
 * Makes one attempt's connection from a URL and the caller's connection options (plus
 * {@link AttemptConnectionOptions}). Throws ConnectionError ERR_INVALID_URL / ERR_INVALID_OPTIONS for bad
 * input, before anything is sent. It is called once at creation, with a static URL, to check them.
 */
export type ConnectionFactory<O> = (url: string | URL, options: O & AttemptConnectionOptions) => Connection;

/** What the transport behind a {@link ConnectionFactory} refuses beyond RFC 6455, checked by `close()`. */
export interface ManagedTransportLimits {
  /**
   * Throws a ConnectionError for a Close code or reason this transport cannot send (the standard
   * WebSocket sends only 1000 and 3000–4999), so `close()` rejects before anything is sent.
   * @default none
   */
  checkClose?: (code: number, reason: string) => void;
}

/** What `'retry'` announces: a wait begins. */
export interface RetryEvent {
  /** The number of the attempt the wait comes before. */
  attempt: number;
  /** The wait, in ms: full jitter, or at least a 429/503's Retry-After. */
  delayMs: number;
  /** How the previous attempt ended (a failed handshake shows only here). */
  info: CloseInfo;
  /** What the `onOpen` hook threw or rejected with, when that failed the previous attempt. */
  onOpenError?: unknown;
}

/** Listeners by event name. */
export interface ManagedConnectionEvents {
  /** An attempt opened, its `onOpen` ran and the queue was flushed; for every attempt that did. */
  open: (connection: Connection, attempt: number) => void;
  /** A data message, from whichever connection is current. */
  message: (data: MessageData) => void;
  /** A connection that fired `'open'` ended. */
  disconnect: (info: CloseInfo, attempt: number) => void;
  /** A wait before the next attempt begins. */
  retry: (event: RetryEvent) => void;
  /** A state change of the managed connection (the supervisor's records). */
  state: (record: SupervisorRecord) => void;
  /** The managed connection ended; exactly once. */
  close: (info: ManagedCloseInfo) => void;
  /** It gave up or met a final close; at most once, before 'close', never for your own close(). */
  error: (error: ConnectionError) => void;
}

type Listener = (...args: never[]) => void;

const EVENT_NAMES = new Set(['open', 'message', 'disconnect', 'retry', 'state', 'close', 'error']);
const NO_TRAIL: readonly ManagedTrailRecord[] = Object.freeze([]);
/** Runtime-neutral (no `node:` import): the web entry uses this file too. */
const PROCESS_PREFIX = globalThis.crypto.randomUUID();
let managedCounter = 0;

function noop(): void {}

function handled<T>(promise: Promise<T>): Promise<T> {
  promise.catch(noop);
  return promise;
}

function rethrow(error: unknown): void {
  queueMicrotask(() => {
    throw error;
  });
}

/** The supervisor actor, with the API's attempt logic and onOpen hook provided. */
export type SupervisorActor = Actor<typeof supervisorMachine>;

/**
 * A WebSocket connection that reconnects: idle → connecting → open → waiting → … → closing → closed.
 * Made by {@link createManagedConnection}.
 */
export class ManagedConnection<O = Record<string, unknown>> {
  /** Unique id, also the `connectionId` of the supervisor's records. */
  readonly id: string;
  /** The supervisor actor (its child `attempt` is the current attempt). Send it nothing: use the methods. */
  readonly actor: SupervisorActor;

  readonly #options: ResolvedManagedOptions;
  readonly #factory: ConnectionFactory<O>;
  readonly #checkClose: ManagedTransportLimits['checkClose'];
  readonly #url: UrlSource;
  readonly #queue: SendQueue | null;
  readonly #trail: ManagedTrailRecord[] | null;
  readonly #t0 = performance.now();
  readonly #listeners = new Map<string, Listener[]>();
  #seq = 0;
  #from: SupervisorStateName | null = null;
  #started = false;
  #closeCalled = false;
  #connection: Connection | null = null;
  #connectionAttempt = 0;
  /** Attempts that fired 'open' and have not yet disconnected. */
  #announced = new Set<number>();
  #onOpenError: unknown;
  #opened: Promise<void> | null = null;
  #openSettle: { resolve: () => void; reject: (error: ConnectionError) => void } | null = null;
  #everOpened = false;
  #info: ManagedCloseInfo | null = null;
  readonly #closed: Promise<ManagedCloseInfo>;
  #resolveClosed!: (info: ManagedCloseInfo) => void;

  /** @internal Use {@link createManagedConnection} or {@link createManagedConnectionWith}. */
  constructor(
    url: UrlSource,
    options: ResolvedManagedOptions,
    factory: ConnectionFactory<O>,
    limits: ManagedTransportLimits = {},
  ) {
    managedCounter += 1;
    this.id = `${PROCESS_PREFIX}-m${managedCounter.toString(36)}`;
    this.#url = url;
    this.#options = options;
    this.#factory = factory;
    this.#checkClose = limits.checkClose;
    this.#queue = options.queue && new SendQueue(options.queue.maxMessages, options.queue.maxBytes);
    this.#trail = options.trail ? [] : null;
    this.#closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });

    const machine = supervisorMachine.provide({
      actors: {
        attempt: attemptLogic({
          create: (attempt) => this.#create(attempt),
          connected: (connection, attempt) => this.#connected(connection, attempt),
          createTimeoutMs: options.connectTimeout,
          // The supervisor sees the same snapshots, events and output as from the connection machine.
        }) as unknown as typeof connectionMachine,
        onOpen: fromPromise<void, { attempt: number }>(async ({ input }) => {
          const connection = this.#connection;
          if (!connection) throw new Error('no connection');
          this.#onOpenError = undefined;
          try {
            await options.onOpen?.(connection, input.attempt);
          } catch (error) {
            this.#onOpenError = error;
            throw error;
          }
        }),
      },
    });
    const input: SupervisorInput = {
      supervisorId: this.id,
      reconnect: options.backoff ?? false,
      random: options.random,
      onOpenTimeout: options.connectTimeout,
    };
    if (options.shouldReconnect) input.shouldReconnect = this.#isolated(options.shouldReconnect);
    this.actor = createActor(
      machine,
      options.inspect ? { input, inspect: inspector(options.inspect) } : { input },
    );
    this.actor.on('supervisor.state', (change) => this.#record(change));
    this.actor.on('supervisor.retry', (retry) => {
      const event: RetryEvent = { attempt: retry.attempt, delayMs: retry.delayMs, info: retry.info };
      if (this.#onOpenError !== undefined) event.onOpenError = this.#onOpenError;
      this.#onOpenError = undefined;
      this.#emit('retry', event);
    });
    this.actor.subscribe({
      complete: () => this.#settle(this.actor.getSnapshot().output as SupervisorOutput),
      error: (error) => {
        this.#connection?.terminate();
        this.#settle({
          reason: 'final-close',
          attempts: this.attempt,
          last: null,
          error: new ConnectionError(
            'ERR_SOCKET',
            'ws-lifecycle failed internally; the managed connection ended',
            {
              cause: error,
            },
          ),
        });
      },
    });
  }

  /** The current top-level state. */
  get state(): SupervisorStateName {
    const value = this.actor.getSnapshot().value;
    return (typeof value === 'string' ? value : Object.keys(value)[0]) as SupervisorStateName;
  }

  /** Attempts started so far: the number of the current (or last) attempt; 0 before the first. */
  get attempt(): number {
    return this.actor.getSnapshot().context.attempt;
  }

  /** The current attempt's connection, from its creation until it closed; otherwise `null`. */
  get connection(): Connection | null {
    return this.#connection;
  }

  /** Every record so far: the supervisor's and each attempt's (with `attempt`), in order. */
  get trail(): readonly ManagedTrailRecord[] {
    return this.#trail ?? NO_TRAIL;
  }

  /** Messages waiting in the send queue. */
  get queued(): number {
    return this.#queue?.length ?? 0;
  }

  /** Resolves exactly once with how the managed connection ended; never rejects. */
  get closed(): Promise<ManagedCloseInfo> {
    return this.#closed;
  }

  #start(): void {
    if (this.#started) return;
    this.#started = true;
    this.actor.start();
  }

  /**
   * Starts connecting. Resolves on the first open (after `onOpen` and the flush); rejects if the managed
   * connection ends before ever opening: with its error when it gave up or met a final close,
   * ERR_CONNECT_ABORTED after your close(). Repeated calls share one promise; after it ended, rejects
   * ERR_INVALID_STATE. Never an unhandled rejection.
   */
  open(): Promise<void> {
    if (this.#info) {
      return handled(
        Promise.reject(new ConnectionError('ERR_INVALID_STATE', 'the managed connection has ended')),
      );
    }
    if (this.#opened) return this.#opened;
    if (this.#closeCalled) {
      return handled(
        Promise.reject(new ConnectionError('ERR_INVALID_STATE', 'the managed connection was closed')),
      );
    }
    this.#opened = handled(
      new Promise<void>((resolve, reject) => {
        if (this.#everOpened) resolve();
        else this.#openSettle = { resolve, reject };
      }),
    );
    this.#start();
    if (this.state === 'idle') this.actor.send({ type: 'api.open' });
    return this.#opened;
  }

  /**
   * Sends a message: at once while open; otherwise queued (bounded) and flushed, in order, after the
   * next `onOpen`. Throws ConnectionError ERR_INVALID_DATA for anything but a string, Uint8Array or
   * ArrayBuffer; ERR_QUEUE_FULL when the queue is full (nothing is queued); ERR_INVALID_STATE once
   * close() was called, or when not open with `queue: false`. At most once: a message handed to a
   * connection that then drops is not sent again.
   */
  send(data: SendData): void {
    if (this.#closeCalled || this.#info) {
      throw new ConnectionError('ERR_INVALID_STATE', 'cannot send: the managed connection was closed');
    }
    const connection = this.#connection;
    if (
      this.state === 'open' &&
      connection !== null &&
      connection.state === 'open' &&
      (this.#queue?.length ?? 0) === 0
    ) {
      checkSendData(data);
      connection.send(data);
      return;
    }
    if (!this.#queue) {
      checkSendData(data);
      throw new ConnectionError('ERR_INVALID_STATE', `cannot send while ${this.state} with queue: false`);
    }
    this.#queue.push(toQueued(data));
  }

  /**
   * Skips the current wait, or cleanly replaces the current connection (its closing handshake with
   * 1000, then a new attempt at once). Before open() it starts connecting. Throws ERR_INVALID_STATE
   * once close() was called.
   */
  reconnect(): void {
    if (this.#closeCalled || this.#info) {
      throw new ConnectionError('ERR_INVALID_STATE', 'cannot reconnect: the managed connection was closed');
    }
    this.#start();
    if (this.state === 'idle') {
      void this.open();
      return;
    }
    this.actor.send({ type: 'api.reconnect' });
  }

  /**
   * Ends the managed connection for good, from any state: the current connection runs its closing
   * handshake with `code`/`reason` (a handshake in progress is aborted, a wait is cancelled), and no
   * attempt ever starts after it. Resolves with the ManagedCloseInfo (`reason: 'closed'`, the queue in
   * `unsent`). Rejects only for a code or reason that may not be sent (ERR_INVALID_CLOSE_CODE /
   * ERR_INVALID_CLOSE_REASON), state unchanged. Safe to repeat: later calls share the first.
   */
  close(code = 1000, reason = ''): Promise<ManagedCloseInfo> {
    try {
      validateCloseStatus(code, reason);
      this.#checkClose?.(code, reason);
    } catch (error) {
      return handled(Promise.reject(error));
    }
    if (this.#closeCalled) return this.#closed;
    this.#closeCalled = true;
    this.#start();
    if (this.actor.getSnapshot().status === 'active') this.actor.send({ type: 'api.close', code, reason });
    return this.#closed;
  }

  /** Adds a listener; returns a function that removes it. Listener exceptions are rethrown asynchronously. */
  on<K extends keyof ManagedConnectionEvents>(event: K, listener: ManagedConnectionEvents[K]): () => void {
    if (typeof event !== 'string' || !EVENT_NAMES.has(event)) {
      throw new ConnectionError(
        'ERR_INVALID_OPTIONS',
        `unknown event ${typeof event === 'string' ? JSON.stringify(event) : typeof event} (${[...EVENT_NAMES].join(', ')})`,
      );
    }
    if (typeof listener !== 'function')
      throw new ConnectionError('ERR_INVALID_OPTIONS', 'listener must be a function');
    const list = this.#listeners.get(event) ?? [];
    this.#listeners.set(event, list);
    list.push(listener as Listener);
    return () => {
      const index = list.indexOf(listener as Listener);
      if (index !== -1) list.splice(index, 1);
    };
  }

  #emit<K extends keyof ManagedConnectionEvents>(
    event: K,
    ...args: Parameters<ManagedConnectionEvents[K]>
  ): void {
    const list = this.#listeners.get(event);
    if (!list || list.length === 0) return;
    for (const listener of list.slice()) {
      try {
        (listener as (...values: unknown[]) => void)(...args);
      } catch (error) {
        rethrow(error);
      }
    }
  }

  /** The caller's function, isolated: a throw means the default policy, and is rethrown asynchronously. */
  #isolated<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R {
    return (...args) => {
      try {
        return fn(...args);
      } catch (error) {
        rethrow(error);
        throw error;
      }
    };
  }

  /** Makes attempt n's connection through the factory (the URL first, when it is a function). */
  #create(attempt: number): Connection | Promise<Connection> {
    const source = this.#url;
    const options = this.#attemptOptions(attempt);
    if (typeof source !== 'function') return this.#factory(source, options);
    return Promise.resolve()
      .then(source)
      .then((url) => this.#factory(url, options));
  }

  #attemptOptions(attempt: number): O & AttemptConnectionOptions {
    const options: Record<string, unknown> = {
      ...this.#options.connection,
      audit: (record: AuditRecord) => this.#attemptRecord(record, attempt),
      trail: this.#options.trail,
    };
    if (this.#options.inspect) options.inspect = this.#options.inspect;
    return options as O & AttemptConnectionOptions;
  }

  #connected(connection: Connection, attempt: number): void {
    this.#connection = connection;
    this.#connectionAttempt = attempt;
    connection.on('message', (data) => this.#emit('message', data));
    connection.on('close', (info) => {
      if (this.#connection === connection) this.#connection = null;
      if (this.#announced.delete(attempt)) this.#emit('disconnect', info, attempt);
    });
  }

  #attemptRecord(record: AuditRecord, attempt: number): void {
    const withAttempt: AttemptRecord = { ...record, attempt };
    this.#trail?.push(withAttempt);
    if (this.#options.audit) this.#call(this.#options.audit, withAttempt);
  }

  #call(fn: (record: ManagedTrailRecord) => void, record: ManagedTrailRecord): void {
    try {
      fn(record);
    } catch (error) {
      rethrow(error);
    }
  }

  #record(change: SupervisorStateEmitted): void {
    const record: SupervisorRecord = {
      machine: 'supervisor',
      seq: this.#seq++,
      time: Date.now(),
      elapsedMs: Math.round((performance.now() - this.#t0) * 1000) / 1000,
      connectionId: this.id,
      attempt: change.detail.attempt,
      from: this.#from,
      to: change.to,
      event: change.event,
      detail: change.detail,
    };
    this.#from = change.to;
    this.#trail?.push(record);
    if (this.#options.audit) this.#call(this.#options.audit, record);
    this.#emit('state', record);
    if (change.to === 'open') this.#opened_();
  }

  /** Open: the queue goes out in order behind onOpen's messages, then 'open', then new sends go direct. */
  #opened_(): void {
    const connection = this.#connection;
    const attempt = this.#connectionAttempt;
    if (!connection) return;
    const queue = this.#queue;
    while (queue && queue.length > 0 && connection.state === 'open') {
      const message = queue.peek();
      if (!message) break;
      connection.send(message.data);
      queue.shift();
    }
    this.#announced.add(attempt);
    this.#everOpened = true;
    this.#emit('open', connection, attempt);
    if (this.#openSettle) {
      this.#openSettle.resolve();
      this.#openSettle = null;
    }
  }

  #settle(output: SupervisorOutput): void {
    if (this.#info) return;
    const info: ManagedCloseInfo = { ...output, unsent: this.#queue?.drain() ?? [] };
    this.#info = info;
    if (info.error) this.#emit('error', info.error);
    this.#emit('close', info);
    if (this.#openSettle) {
      this.#openSettle.reject(
        info.error ??
          new ConnectionError(
            'ERR_CONNECT_ABORTED',
            'the managed connection was closed before it ever opened',
          ),
      );
      this.#openSettle = null;
    }
    this.#resolveClosed(info);
  }
}

function inspector(
  inspect: NonNullable<ResolvedManagedOptions['inspect']>,
): (event: InspectionEvent) => void {
  return (event) => {
    try {
      if (typeof inspect === 'function') inspect(event);
      else inspect.next?.(event);
    } catch (error) {
      rethrow(error);
    }
  };
}

/**
 * A `createManagedConnection` for another kind of connection: `factory` makes each attempt's
 * Connection (the web entry passes one for the standard WebSocket). Options are the factory's own
 * connection options plus the managed ones. `limits.checkClose` lets `close()` refuse, before anything
 * is sent, a Close code the transport cannot send.
 *
 * @example
 * const createManaged = createManagedConnectionWith((url, options) => createConnection(url, options));
 */
export function createManagedConnectionWith<O extends object>(
  factory: ConnectionFactory<O>,
  limits: ManagedTransportLimits = {},
): (url: UrlSource, options?: O & ManagedOwnOptions) => ManagedConnection<O> {
  return (url, options) => {
    const resolved = resolveManagedOptions(options);
    if (typeof url !== 'function') {
      // Checks the URL and the connection options now, before anything is created or sent: a
      // connection made and never used holds nothing.
      factory(url, {
        ...resolved.connection,
        audit: noop,
        trail: false,
      } as unknown as O & AttemptConnectionOptions);
    }
    return new ManagedConnection<O>(url, resolved, factory, limits);
  };
}
