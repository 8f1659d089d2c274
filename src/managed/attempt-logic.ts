/**
 * The child logic the supervisor spawns for each attempt in the real API: an actor that drives one
 * `Connection` (made by the managed connection's factory) and looks, to the supervisor, exactly like the
 * connection machine it stands in for. Its snapshot's `value` is the connection's top-level state, its
 * output the connection's CloseInfo; it takes the machine's own `api.open` / `api.close` /
 * `api.terminate`. The connection itself runs its own machine (with its transport attached), so the
 * supervisor never touches a socket.
 *
 * Every wait is bounded: resolving the URL (a function may return a promise) is under the connect
 * deadline, and the connection's own deadlines bound the rest.
 */
import type { ActorLogic, AnyActorRef, Snapshot } from 'xstate';
import { ConnectionError } from '../../machines/connection-error.js';
import type { CloseInfo, StateName } from '../../machines/types.js';
import type { Connection } from '../core/connection-core.js';

/** What the attempt actor shows: the connection's state, and its outcome once done. */
export type AttemptSnapshot = Snapshot<CloseInfo> & {
  value: StateName;
  context: { attempt: number; connectionId: string };
};

/** What it takes: the connection machine's commands, and what its connection reports. */
export type AttemptEvent =
  | { type: 'api.open' }
  | { type: 'api.close'; code: number; reason: string }
  | { type: 'api.terminate' }
  | { type: 'attempt.connection'; connectionId: string }
  | { type: 'attempt.state'; to: StateName }
  | { type: 'attempt.closed'; info: CloseInfo }
  | { type: 'attempt.failed'; error: ConnectionError };

export interface AttemptInput {
  attempt: number;
}

/** How the managed connection makes and hears of each attempt's connection. */
export interface AttemptHooks {
  /** Makes attempt n's connection; may throw or reject (ERR_INVALID_URL, a failing URL function, …). */
  create(attempt: number): Connection | Promise<Connection>;
  /** The connection of attempt n exists (before it opens). */
  connected(connection: Connection, attempt: number): void;
  /** Deadline for `create`, in ms (the connect deadline). */
  createTimeoutMs: number;
}

interface AttemptState {
  connection: Connection | null;
  openRequested: boolean;
  /** The outcome is decided: nothing more is reported. */
  ended: boolean;
  timer: NodeJS.Timeout | null;
}

const XSTATE_STOP = 'xstate.stop';

function noop(): void {}

/** Never opened: nothing went on the wire (like a Connection closed while idle). */
function neverOpened(error?: ConnectionError): CloseInfo {
  const info: CloseInfo = { code: 1006, reason: '', wasClean: false, initiator: 'local' };
  if (error) info.error = error;
  return info;
}

function done(snapshot: AttemptSnapshot, info: CloseInfo): AttemptSnapshot {
  return { ...snapshot, status: 'done', output: info, value: 'closed' } as AttemptSnapshot;
}

/** The attempt logic for `supervisorMachine.provide({ actors: { attempt } })`. */
export function attemptLogic(hooks: AttemptHooks): ActorLogic<AttemptSnapshot, AttemptEvent, AttemptInput> {
  const states = new WeakMap<AnyActorRef, AttemptState>();

  const clearTimer = (state: AttemptState) => {
    if (state.timer) clearTimeout(state.timer);
    state.timer = null;
  };

  const adopt = (self: AnyActorRef, state: AttemptState, connection: Connection, attempt: number) => {
    clearTimer(state);
    if (state.ended) return; // closed (or stopped) while the URL resolved: this one is never used
    state.connection = connection;
    hooks.connected(connection, attempt);
    connection.on('state', (record) => self.send({ type: 'attempt.state', to: record.to }));
    connection.on('close', (info) => self.send({ type: 'attempt.closed', info }));
    self.send({ type: 'attempt.connection', connectionId: connection.id });
    if (state.openRequested) void connection.open().catch(noop);
  };

  const fail = (self: AnyActorRef, error: unknown) => {
    const failure =
      error instanceof ConnectionError
        ? error
        : new ConnectionError('ERR_CONNECT_FAILED', 'the url function or the connection factory failed', {
            cause: error,
          });
    self.send({ type: 'attempt.failed', error: failure });
  };

  return {
    getInitialSnapshot: (_scope, input) => ({
      status: 'active',
      output: undefined,
      error: undefined,
      value: 'idle',
      context: { attempt: input?.attempt ?? 0, connectionId: '' },
    }),

    start: (snapshot, { self }) => {
      const state: AttemptState = { connection: null, openRequested: false, ended: false, timer: null };
      states.set(self, state);
      const attempt = snapshot.context.attempt;
      let made: Connection | Promise<Connection>;
      try {
        made = hooks.create(attempt);
      } catch (error) {
        fail(self, error);
        return;
      }
      if (!(made instanceof Promise)) {
        adopt(self, state, made, attempt);
        return;
      }
      state.timer = setTimeout(() => {
        state.timer = null;
        fail(
          self,
          new ConnectionError(
            'ERR_CONNECT_TIMEOUT',
            `the url did not resolve within ${hooks.createTimeoutMs} ms (connect deadline)`,
          ),
        );
      }, hooks.createTimeoutMs);
      made.then(
        (connection) => adopt(self, state, connection, attempt),
        (error: unknown) => {
          clearTimer(state);
          if (!state.ended) fail(self, error);
        },
      );
    },

    transition: (snapshot, event, { self }) => {
      const state = states.get(self);
      if (!state || snapshot.status !== 'active') return snapshot;
      const connection = state.connection;
      switch (event.type) {
        case 'api.open':
          state.openRequested = true;
          if (connection) void connection.open().catch(noop);
          return snapshot;
        case 'api.close':
          if (connection) {
            // A transport may refuse a code (the standard WebSocket sends only 1000 and 3000–4999):
            // then the connection goes without a handshake, so the attempt still ends.
            connection.close(event.code, event.reason).catch(() => void connection.terminate());
            return snapshot;
          }
          state.ended = true;
          clearTimer(state);
          return done(snapshot, neverOpened());
        case 'api.terminate':
          if (connection) {
            void connection.terminate();
            return snapshot;
          }
          state.ended = true;
          clearTimer(state);
          return done(snapshot, neverOpened());
        case 'attempt.connection':
          return { ...snapshot, context: { ...snapshot.context, connectionId: event.connectionId } };
        case 'attempt.state':
          return event.to === 'closed' || event.to === snapshot.value
            ? snapshot
            : { ...snapshot, value: event.to };
        case 'attempt.closed':
          state.ended = true;
          return done(snapshot, event.info);
        case 'attempt.failed':
          if (state.ended || connection) return snapshot;
          state.ended = true;
          clearTimer(state);
          return done(snapshot, neverOpened(event.error));
        default:
          if ((event as { type: string }).type === XSTATE_STOP) {
            // The supervisor was stopped from outside: the connection must not outlive it.
            state.ended = true;
            clearTimer(state);
            if (connection) void connection.terminate();
            return { ...snapshot, status: 'stopped' };
          }
          return snapshot;
      }
    },

    getPersistedSnapshot: (snapshot) => snapshot,
  };
}
