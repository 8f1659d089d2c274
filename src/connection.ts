/**
 * The public API: `createConnection` and the `Connection` it returns, on top of the machine and the
 * ws actor. It keeps the promises and listeners; every lifecycle decision stays in the machine.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { type Actor, type AnyActorRef, createActor, fromCallback } from 'xstate';
import { validateCloseStatus } from '../machines/close-codes.js';
import { ConnectionError } from '../machines/connection-error.js';
import type { CloseInfo, StateChangeEmitted, StateName } from '../machines/types.js';
import type { AuditRecord } from './audit/audit.js';
import { type ConnectionOptions, resolveOptions } from './options.js';
import { provideLink, SocketLink, wsConnectionMachine } from './transports/ws-client.js';

/** A data message: text as a string, binary as bytes. */
export type MessageData = string | Uint8Array;

/** What `send` accepts: text, or binary as bytes or an ArrayBuffer. */
export type SendData = string | Uint8Array | ArrayBuffer;

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
}

export type ConnectionActor = Actor<typeof wsConnectionMachine>;

type Listeners = { [K in keyof ConnectionEvents]?: Array<ConnectionEvents[K]> };

const NO_TRAIL: readonly AuditRecord[] = Object.freeze([]);

function noop(): void {}

/**
 * One WebSocket connection, single-use: idle → connecting → open → closing-sent → draining → closed.
 * Made by {@link createConnection}.
 */
export class Connection {
  /** Unique id, also in every audit record. */
  readonly id: string;
  /** The running XState actor, for inspection and advanced use. Send it nothing: use the methods. */
  readonly actor: ConnectionActor;

  readonly #link: SocketLink;
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
  readonly #closed: Promise<CloseInfo>;
  #resolveClosed!: (info: CloseInfo) => void;

  /** @internal Use {@link createConnection}. */
  constructor(url: string | URL, options: ConnectionOptions = {}) {
    const resolved = resolveOptions(url, options);
    this.id = nextConnectionId();
    this.#trail = resolved.trail ? [] : null;
    this.#audit = resolved.audit;
    this.#closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    this.#link = new SocketLink(resolved.url, resolved.safeUrl, resolved.protocols, resolved.ws, (data) =>
      this.#emit('message', data),
    );
    const input = { connectionId: this.id, timeouts: resolved.timeouts };
    // Connections share one long-lived actor system (a root actor creates its own, ~2 KB each). One
    // with an inspector is its own root: XState inspects whole systems.
    this.actor = createActor(
      wsConnectionMachine,
      resolved.inspect ? { input, inspect: resolved.inspect } : { input, parent: sharedHost() },
    );
    this.actor.on('lifecycle.state', (change) => this.#record(change));
    this.actor.subscribe({
      complete: () => this.#settle(this.actor.getSnapshot().output as CloseInfo),
      error: (error) => this.#settle(internalFailure(error)),
    });
  }

  /**
   * Starts the actor on first use (open, close, terminate): until then the connection holds nothing in
   * the shared system, so one created and dropped unused is simply collected.
   */
  #start(): void {
    if (this.#started) return;
    this.#started = true;
    provideLink(this.id, this.#link);
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
    return this.#closed;
  }

  /**
   * Starts the opening handshake under the connect deadline. Resolves once open; rejects with the
   * ConnectionError that ended it (ERR_CONNECT_ABORTED if you closed it first). Repeated calls return
   * the same promise. A connection is single-use: after it closed, this rejects ERR_INVALID_STATE.
   * The promise never causes an unhandled rejection if you do not await it.
   */
  open(): Promise<void> {
    if (this.#info === null && this.#opened) return this.#opened;
    if (this.state !== 'idle') {
      return handled(
        Promise.reject(
          new ConnectionError('ERR_INVALID_STATE', 'a connection is single-use: it has already closed'),
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

  /**
   * Sends a data message: a string as text, bytes or an ArrayBuffer as binary. Throws ConnectionError
   * ERR_INVALID_DATA for anything else and ERR_INVALID_STATE unless the connection is open.
   */
  send(data: SendData): void {
    if (!(typeof data === 'string' || data instanceof Uint8Array || data instanceof ArrayBuffer)) {
      throw new ConnectionError(
        'ERR_INVALID_DATA',
        `send takes a string, a Uint8Array or an ArrayBuffer, got ${data === null ? 'null' : typeof data}`,
      );
    }
    const state = this.state;
    if (state !== 'open') {
      throw new ConnectionError(
        'ERR_INVALID_STATE',
        `cannot send while ${state}: only an open connection sends`,
      );
    }
    this.#link.send(data);
  }

  /**
   * Runs the closing handshake (RFC 6455 §7.1.2) under the write and read deadlines: our Close goes out
   * behind the data already sent, then we read until the peer's Close and the end of TCP. Resolves with
   * the CloseInfo; rejects only for an invalid code (ERR_INVALID_CLOSE_CODE) or reason
   * (ERR_INVALID_CLOSE_REASON), leaving the connection as it was. Safe to repeat: later calls share the
   * first handshake. Before open it aborts (idle: nothing to close; connecting: the handshake is aborted).
   */
  close(code = 1000, reason = ''): Promise<CloseInfo> {
    try {
      validateCloseStatus(code, reason);
    } catch (error) {
      return handled(Promise.reject(error));
    }
    this.#start();
    if (this.actor.getSnapshot().status === 'active') this.actor.send({ type: 'api.close', code, reason });
    return this.#closed;
  }

  /** Ends the connection at once, no handshake (escalates a close in progress). Resolves with the CloseInfo. */
  terminate(): Promise<CloseInfo> {
    this.#start();
    if (this.actor.getSnapshot().status === 'active') this.actor.send({ type: 'api.terminate' });
    return this.#closed;
  }

  /** Adds a listener; returns a function that removes it. Listener exceptions are rethrown asynchronously. */
  on<K extends keyof ConnectionEvents>(event: K, listener: ConnectionEvents[K]): () => void {
    if (!(event in EVENT_NAMES)) {
      throw new ConnectionError(
        'ERR_INVALID_OPTIONS',
        `unknown event ${JSON.stringify(event)} (message, state, close, error)`,
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

  #emit<K extends keyof ConnectionEvents>(event: K, value: Parameters<ConnectionEvents[K]>[0]): void {
    const list = this.#listeners?.[event];
    if (!list || list.length === 0) return;
    for (const listener of list.slice()) {
      try {
        (listener as (value: unknown) => void)(value);
      } catch (error) {
        // A listener's bug must not break the lifecycle; it still surfaces, as an uncaught exception.
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }

  #record(change: StateChangeEmitted): void {
    const seq = this.#seq++;
    const from = this.#from;
    this.#from = change.to;
    if (change.to === 'open' && this.#openSettle) {
      this.#openSettle.resolve();
      this.#openSettle = null;
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
    if (this.#audit) {
      try {
        this.#audit(record);
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
    this.#emit('state', record);
  }

  #settle(info: CloseInfo): void {
    if (this.#info) return;
    this.#info = info;
    if (info.error) this.#emit('error', info.error);
    this.#emit('close', info);
    if (this.#openSettle) {
      this.#openSettle.reject(
        info.error ??
          new ConnectionError(
            'ERR_CONNECT_ABORTED',
            'the connection was closed before the opening handshake completed',
          ),
      );
      this.#openSettle = null;
    }
    this.#resolveClosed(info);
  }
}

let host: AnyActorRef | null = null;

/** The parent of every connection without an inspector: an actor that ignores what it is sent. */
function sharedHost(): AnyActorRef {
  host ??= createActor(fromCallback(noop), { id: 'ws-lifecycle' }).start();
  return host;
}

/** Unique across processes (a random process prefix) and cheap per connection (a counter). */
const PROCESS_PREFIX = randomUUID();
let connectionCounter = 0;
function nextConnectionId(): string {
  connectionCounter += 1;
  return `${PROCESS_PREFIX}-${connectionCounter.toString(36)}`;
}

const EVENT_NAMES = { message: 1, state: 1, close: 1, error: 1 };

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

/**
 * Creates a connection to a `ws:`/`wss:` URL (`http:`/`https:` map to them). Nothing touches the network
 * until `open()`. Throws ConnectionError ERR_INVALID_URL / ERR_INVALID_OPTIONS for bad input.
 *
 * @example
 * const conn = createConnection('ws://127.0.0.1:8080', { timeouts: { connect: 3000 } });
 * conn.on('message', (data) => console.log(data));
 * await conn.open();
 * conn.send('hello');
 * const info = await conn.close(1000, 'done');
 */
export function createConnection(url: string | URL, options?: ConnectionOptions): Connection {
  return new Connection(url, options);
}
