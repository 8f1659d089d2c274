/**
 * The lifecycle of one WebSocket connection (RFC 6455), as a pure XState v5 machine.
 *
 *   idle → connecting → open → closing-sent → draining → closed
 *
 * No I/O here: no socket, no clock, no `ws`. Deadlines are the named delays `connect`, `write`, `read`,
 * and while open the keepalive delays `interval` and `pong`. The machine drives its socket by commands
 * out, the `transport.*` actions (connect, close, destroy, ping, release), which do nothing here: a
 * transport provides them (`machine.provide({ actions })`, src/transports/). What happens on the socket
 * comes back as events in: `api.*` from the caller, `ws.*` from the WebSocket (whatever transport drives
 * it), `xstate.after.*` from the deadlines. Data messages never pass through the machine: it governs
 * the lifecycle only.
 *
 * `open` has keepalive sub-states (`quiet`, `awaiting-pong`, or `keepalive-off`); only the six
 * top-level states are recorded.
 */
import { assign, emit, setup } from 'xstate';
import { ABNORMAL_CLOSURE } from './close-codes.js';
import { ConnectionError, type ConnectionErrorCode } from './connection-error.js';
import {
  type CloseCommand,
  type CloseInfo,
  type ConnectionContext,
  type ConnectionEvent,
  type ConnectionInput,
  DEFAULT_KEEPALIVE,
  DEFAULT_TIMEOUTS,
  type Initiator,
  type Keepalive,
  type StateChangeEmitted,
  type StateName,
  type Timeouts,
  type TransitionDetail,
} from './types.js';

/** The outcome, derived from what happened (never stored twice). */
export function closeInfoOf(context: ConnectionContext): CloseInfo {
  const { received } = context;
  const info: CloseInfo = {
    code: received ? received.code : ABNORMAL_CLOSURE,
    reason: received ? received.reason : '',
    // RFC 6455 §7.1.1: clean once Close frames went both ways.
    wasClean: context.closeSent && received !== null,
    initiator: context.initiator ?? 'local',
  };
  if (context.error) info.error = context.error;
  return info;
}

function detailOf(
  to: StateName,
  context: ConnectionContext,
  event: ConnectionEvent,
): TransitionDetail | undefined {
  if (to === 'closed') {
    const info = closeInfoOf(context);
    const detail: TransitionDetail = { code: info.code, reason: info.reason };
    if (info.error) {
      detail.errorCode = info.error.code;
      if (info.error.status !== undefined) detail.status = info.error.status;
    }
    return detail;
  }
  switch (event.type) {
    case 'api.close':
    case 'ws.close-received':
      return { code: event.code, reason: event.reason };
    case 'ws.open':
    case 'api.adopt':
      return event.protocol ? { protocol: event.protocol } : undefined;
    default:
      return undefined;
  }
}

/** `value` sets every key of `defaults` to a number. */
function isComplete(value: object | null | undefined, defaults: object): boolean {
  if (!value) return false;
  for (const key of Object.keys(defaults)) {
    if (typeof (value as Record<string, unknown>)[key] !== 'number') return false;
  }
  return true;
}

const deadlineError = (code: ConnectionErrorCode, message: string) => new ConnectionError(code, message);

export const connectionMachine = setup({
  types: {
    context: {} as ConnectionContext,
    events: {} as ConnectionEvent,
    input: {} as ConnectionInput,
    output: {} as CloseInfo,
    emitted: {} as StateChangeEmitted,
  },
  delays: {
    connect: ({ context }) => context.timeouts.connect,
    write: ({ context }) => context.timeouts.write,
    read: ({ context }) => context.timeouts.read,
    // Only armed while keepalive is on (the `quiet` and `awaiting-pong` sub-states of `open`).
    interval: ({ context }) => context.keepalive?.interval ?? DEFAULT_KEEPALIVE.interval,
    pong: ({ context }) => context.keepalive?.timeout ?? DEFAULT_KEEPALIVE.timeout,
  },
  guards: {
    peerCloseReceived: ({ context }) => context.received !== null,
    keepaliveOn: ({ context }) => context.keepalive !== null,
  },
  actions: {
    // Commands out. Placeholders: a transport provides them; `transition()` lists them with their params.
    'transport.connect': () => {},
    'transport.close': (_, _params: CloseCommand) => {},
    'transport.destroy': () => {},
    'transport.ping': () => {},
    'transport.release': () => {},
    recordState: emit(({ context, event }, params: { to: StateName }): StateChangeEmitted => {
      const detail = detailOf(params.to, context, event as ConnectionEvent);
      return detail
        ? { type: 'lifecycle.state', to: params.to, event: event.type, detail }
        : { type: 'lifecycle.state', to: params.to, event: event.type };
    }),
    /** The initiator is whoever first moved the connection out of connecting/open; it never changes. */
    initiatedBy: assign({
      initiator: ({ context }, params: { initiator: Initiator }) => context.initiator ?? params.initiator,
    }),
    /** Only on `ws.close-received`: the peer's Close frame, kept for the outcome. */
    recordPeerClose: assign({
      received: ({ context, event }) =>
        event.type === 'ws.close-received' ? { code: event.code, reason: event.reason } : context.received,
    }),
    recordCloseSent: assign({ closeSent: true }),
    /** Only on `ws.handshake-failed` / `ws.protocol-error`, which both end the connection. */
    recordError: assign({
      error: ({ context, event }) =>
        event.type === 'ws.handshake-failed' || event.type === 'ws.protocol-error'
          ? event.error
          : context.error,
    }),
    failConnectTimeout: assign({
      error: ({ context }) =>
        deadlineError(
          'ERR_CONNECT_TIMEOUT',
          `the opening handshake did not complete within ${context.timeouts.connect} ms (connect deadline); it was aborted`,
        ),
    }),
    failWriteDeadline: assign({
      error: ({ context }) =>
        deadlineError(
          'ERR_WRITE_DEADLINE',
          `our Close frame was not written within ${context.timeouts.write} ms (write deadline); the socket was destroyed`,
        ),
    }),
    failReadDeadline: assign({
      error: ({ context }) =>
        deadlineError(
          'ERR_READ_DEADLINE',
          `the peer's Close frame did not arrive within ${context.timeouts.read} ms (read deadline); the socket was destroyed`,
        ),
    }),
    failKeepaliveTimeout: assign({
      error: ({ context }) =>
        deadlineError(
          'ERR_KEEPALIVE_TIMEOUT',
          `no frame arrived within ${context.keepalive?.timeout} ms of our ping, after ${context.keepalive?.interval} ms of silence (keepalive); the connection was failed`,
        ),
    }),
    failConnectionLost: assign({
      error: () =>
        new ConnectionError(
          'ERR_SOCKET',
          "the TCP connection ended before the peer's Close frame arrived (1006, RFC 6455 §7.1.5)",
        ),
    }),
  },
}).createMachine({
  id: 'connection',
  context: ({ input }) => ({
    connectionId: input?.connectionId ?? '',
    // A complete input is kept as given (contexts are immutable): connections share their settings.
    timeouts: isComplete(input?.timeouts, DEFAULT_TIMEOUTS)
      ? (input?.timeouts as Timeouts)
      : { ...DEFAULT_TIMEOUTS, ...input?.timeouts },
    keepalive:
      input?.keepalive === null
        ? null
        : isComplete(input?.keepalive, DEFAULT_KEEPALIVE)
          ? (input?.keepalive as Keepalive)
          : { ...DEFAULT_KEEPALIVE, ...input?.keepalive },
    initiator: null,
    received: null,
    closeSent: false,
    error: null,
  }),
  initial: 'idle',
  output: ({ context }) => closeInfoOf(context),
  states: {
    idle: {
      entry: { type: 'recordState', params: { to: 'idle' } },
      on: {
        'api.open': { target: 'connecting', actions: 'transport.connect' },
        // A server-side socket, already open (RFC 6455 §4.2.2: the server sent its 101).
        'api.adopt': [{ guard: 'keepaliveOn', target: 'open.quiet' }, { target: 'open.keepalive-off' }],
        // Never opened: nothing to close on the wire.
        'api.close': {
          target: 'closed',
          actions: { type: 'initiatedBy', params: { initiator: 'local' } },
        },
        'api.terminate': {
          target: 'closed',
          actions: { type: 'initiatedBy', params: { initiator: 'local' } },
        },
      },
    },

    connecting: {
      entry: { type: 'recordState', params: { to: 'connecting' } },
      // RFC 6455 sets no deadline on the opening handshake; ours bounds it.
      after: {
        connect: {
          target: 'closed',
          actions: [
            { type: 'initiatedBy', params: { initiator: 'local' } },
            'failConnectTimeout',
            'transport.destroy',
          ],
        },
      },
      on: {
        // RFC 6455 §4.1: the server's 101 answer was valid; _The WebSocket Connection is Established_.
        'ws.open': [{ guard: 'keepaliveOn', target: 'open.quiet' }, { target: 'open.keepalive-off' }],
        // RFC 6455 §4.1: a non-101 answer or an invalid one means _Fail the WebSocket Connection_.
        'ws.handshake-failed': {
          target: 'closed',
          actions: [{ type: 'initiatedBy', params: { initiator: 'remote' } }, 'recordError'],
        },
        // The caller gave up: abort the handshake (open() rejects ERR_CONNECT_ABORTED; no 'error').
        'api.close': {
          target: 'closed',
          actions: [{ type: 'initiatedBy', params: { initiator: 'local' } }, 'transport.destroy'],
        },
        'api.terminate': {
          target: 'closed',
          actions: [{ type: 'initiatedBy', params: { initiator: 'local' } }, 'transport.destroy'],
        },
      },
    },

    open: {
      entry: { type: 'recordState', params: { to: 'open' } },
      initial: 'keepalive-off',
      states: {
        // Keepalive is off: open waits on the peer and the caller only.
        'keepalive-off': {},
        // Waiting for `interval` ms of silence; any frame restarts the wait.
        quiet: {
          after: { interval: { target: 'awaiting-pong', actions: 'transport.ping' } },
          on: { 'ws.activity': { target: 'quiet', reenter: true } },
        },
        // Our ping is out: any frame (the pong, data, a ping) proves the peer alive.
        'awaiting-pong': {
          after: {
            // RFC 6455 §7.1.7 _Fail the WebSocket Connection_: Close 1011 as a best effort, then the
            // socket goes at once (a vanished peer will never answer it).
            pong: {
              target: '#connection.closed',
              actions: [
                { type: 'initiatedBy', params: { initiator: 'local' } },
                'failKeepaliveTimeout',
                { type: 'transport.close', params: { code: 1011, reason: 'keepalive timeout' } },
                'transport.destroy',
              ],
            },
          },
          on: { 'ws.activity': { target: 'quiet' } },
        },
      },
      on: {
        // RFC 6455 §5.5.2: a ping the caller asked for (conn.ping()); its pong is activity too.
        'api.ping': { actions: 'transport.ping' },
        // RFC 6455 §7.1.2 _Start the WebSocket Closing Handshake_: our Close is queued behind the data
        // already sent, and no data may follow it (§5.5.1).
        'api.close': {
          target: 'closing-sent',
          actions: [
            { type: 'initiatedBy', params: { initiator: 'local' } },
            {
              type: 'transport.close',
              params: ({ event }) => ({ code: event.code, reason: event.reason }),
            },
          ],
        },
        // RFC 6455 §5.5.1: a Close received first MUST be answered with a Close (ws sends the echo by
        // itself); §7.1.3 _The WebSocket Closing Handshake is Started_. We then pass through
        // closing-sent (our echo under the write deadline) and draining (waiting for the server to end
        // TCP, §7.1.1, under the read deadline), like a close we started.
        'ws.close-received': {
          target: 'closing-sent',
          actions: [
            { type: 'initiatedBy', params: { initiator: 'remote' } },
            'recordPeerClose',
            { type: 'transport.close', params: {} },
          ],
        },
        // RFC 6455 §7.1.5: TCP ended with no Close frame: code 1006, a failure.
        'ws.closed': {
          target: 'closed',
          actions: [{ type: 'initiatedBy', params: { initiator: 'remote' } }, 'failConnectionLost'],
        },
        // RFC 6455 §7.1.7 _Fail the WebSocket Connection_: ws has sent Close 1002 (or 1007/1009); we
        // must not process anything more, including a responding Close, so the socket goes now.
        'ws.protocol-error': {
          target: 'closed',
          actions: [
            { type: 'initiatedBy', params: { initiator: 'local' } },
            'recordError',
            'transport.destroy',
          ],
        },
        'api.terminate': {
          target: 'closed',
          actions: [{ type: 'initiatedBy', params: { initiator: 'local' } }, 'transport.destroy'],
        },
      },
    },

    'closing-sent': {
      entry: { type: 'recordState', params: { to: 'closing-sent' } },
      after: {
        // Our Close is stuck (the peer stopped reading): no handshake can complete.
        write: { target: 'closed', actions: ['failWriteDeadline', 'transport.destroy'] },
      },
      on: {
        'ws.flushed': { target: 'draining', actions: 'recordCloseSent' },
        // RFC 6455 §7.1.3: both sides closing at once; the peer's Close is kept for the outcome.
        'ws.close-received': { actions: 'recordPeerClose' },
        // TCP ended before our Close was out: 1006 unless the peer's Close had arrived.
        'ws.closed': [
          { guard: 'peerCloseReceived', target: 'closed' },
          { target: 'closed', actions: 'failConnectionLost' },
        ],
        // RFC 6455 §7.1.7.
        'ws.protocol-error': { target: 'closed', actions: ['recordError', 'transport.destroy'] },
        'api.terminate': { target: 'closed', actions: 'transport.destroy' },
      },
    },

    draining: {
      entry: { type: 'recordState', params: { to: 'draining' } },
      // Runs from entering draining; incoming data never extends it.
      after: {
        read: [
          // RFC 6455 §7.1.1: the client MAY close TCP once it has sent and received a Close; the
          // server just never ended TCP. Clean, no error.
          { guard: 'peerCloseReceived', target: 'closed', actions: 'transport.destroy' },
          { target: 'closed', actions: ['failReadDeadline', 'transport.destroy'] },
        ],
      },
      on: {
        // RFC 6455 §7.1.2: the peer's Close answers ours; ws ends its side of TCP and waits for the
        // server to end its own (§7.1.1).
        'ws.close-received': { actions: 'recordPeerClose' },
        // RFC 6455 §7.1.4 _The WebSocket Connection is Closed_.
        'ws.closed': [
          { guard: 'peerCloseReceived', target: 'closed' },
          { target: 'closed', actions: 'failConnectionLost' },
        ],
        // RFC 6455 §7.1.7.
        'ws.protocol-error': { target: 'closed', actions: ['recordError', 'transport.destroy'] },
        'api.terminate': { target: 'closed', actions: 'transport.destroy' },
      },
    },

    closed: {
      type: 'final',
      // Whatever the path, the socket's listeners and timers go with the connection.
      entry: [{ type: 'recordState', params: { to: 'closed' } }, 'transport.release'],
    },
  },
});

export type ConnectionMachine = typeof connectionMachine;
