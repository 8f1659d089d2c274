/**
 * The only file that touches `ws`. A thin callback actor, invoked once at the machine's root: it turns
 * socket happenings into `ws.*` events and the machine's `socket.*` commands into socket calls. It
 * decides nothing: every lifecycle decision is the machine's.
 *
 * Listeners are plain module-level functions wired in one place (`wire`), like ws's own `setSocket()`,
 * so a connection costs no closures; cleanup removes every listener and timer it added.
 */
import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import WebSocket, { type ClientOptions } from 'ws';
import { fromCallback } from 'xstate';
import { ConnectionError } from '../../machines/connection-error.js';
import { connectionMachine } from '../../machines/connection-machine.js';
import type { ConnectionEvent, SocketActorInput, SocketCommand } from '../../machines/types.js';
import { redactMessage } from '../redact.js';

export type { ClientOptions };

/** ws options the actor owns: they would race the machine's deadlines. */
export const RESERVED_WS_OPTIONS = ['closeTimeout', 'handshakeTimeout'] as const;

/** How often a Close frame stuck behind a full socket buffer is checked for, besides 'drain'. */
const FLUSH_POLL_MS = 10;

/** What a connection hands its socket actor: everything the machine must not hold (URL, headers). */
export class SocketLink {
  /** Set by the actor while a socket exists. */
  ws: WebSocket | null = null;

  constructor(
    readonly url: URL,
    /** The URL with credentials and query values redacted, for error messages. */
    readonly safeUrl: string,
    readonly protocols: string[] | undefined,
    readonly options: ClientOptions,
    readonly onMessage: (data: string | Uint8Array) => void,
  ) {}

  /** Sends a data message. The caller has checked that the connection is open. */
  send(data: string | Uint8Array | ArrayBuffer): void {
    this.ws?.send(data);
  }
}

const pendingLinks = new Map<string, SocketLink>();

/** Hands `link` to the socket actor that the connection `connectionId` is about to start. */
export function provideLink(connectionId: string, link: SocketLink): void {
  pendingLinks.set(connectionId, link);
}

const kSession = Symbol('ws-lifecycle.session');

type Send = (event: ConnectionEvent) => void;

/** Per-connection state of the actor: only what it needs to hold. */
export class Session {
  ws: WebSocket | null = null;
  /** The TCP socket, from the public 'upgrade' response; watched for 'drain' while our Close is stuck. */
  tcp: Socket | null = null;
  opened = false;
  flushTimer: NodeJS.Timeout | null = null;
  constructor(
    readonly link: SocketLink,
    readonly sendBack: Send,
    readonly closeTimeout: number,
  ) {}
}

interface Tagged {
  [kSession]?: Session;
}

export const wsSocketActor = fromCallback<SocketCommand, SocketActorInput>(({ input, sendBack, receive }) => {
  const link = pendingLinks.get(input.connectionId);
  if (!link) throw new Error(`ws-lifecycle: no socket link for connection ${input.connectionId}`);
  pendingLinks.delete(input.connectionId);
  // ws's own close timer covers both closing phases; ours must always fire first.
  const session = new Session(link, sendBack as Send, input.timeouts.write + input.timeouts.read + 1000);
  receive((command) => {
    switch (command.type) {
      case 'socket.connect':
        connect(session);
        return;
      case 'socket.close':
        startClose(session, command.code, command.reason);
        return;
      case 'socket.destroy':
        session.ws?.terminate();
        return;
    }
  });
  return () => release(session);
});

/** The machine with the ws actor in place: what `createConnection` runs. */
export const wsConnectionMachine = connectionMachine.provide({ actors: { socket: wsSocketActor } });

function connect(session: Session): void {
  const { link } = session;
  const ws = new WebSocket(link.url, link.protocols, {
    ...link.options,
    closeTimeout: session.closeTimeout,
  } as ClientOptions);
  ws.binaryType = 'nodebuffer';
  session.ws = ws;
  link.ws = ws;
  (ws as Tagged)[kSession] = session;
  wire(ws);
}

/** Every listener, in one place. */
function wire(ws: WebSocket): void {
  ws.on('upgrade', onUpgrade);
  ws.on('unexpected-response', onUnexpectedResponse);
  ws.on('open', onOpen);
  ws.on('message', onMessage);
  ws.on('error', onError);
  ws.on('close', onClose);
}

function sessionOf(ws: WebSocket): Session {
  return (ws as Tagged)[kSession] as Session;
}

function onUpgrade(this: WebSocket, response: IncomingMessage): void {
  const session = sessionOf(this);
  const tcp = response.socket as Socket & Tagged;
  tcp[kSession] = session;
  session.tcp = tcp;
}

function onUnexpectedResponse(this: WebSocket, _request: unknown, response: IncomingMessage): void {
  const session = sessionOf(this);
  const status = response.statusCode ?? 0;
  session.sendBack({
    type: 'ws.handshake-failed',
    error: new ConnectionError(
      'ERR_CONNECT_FAILED',
      `could not connect to ${session.link.safeUrl}: the server answered the upgrade with HTTP ${status}`,
      { status },
    ),
  });
  // The machine is closed by now; this aborts the request ws still holds.
  this.terminate();
}

function onOpen(this: WebSocket): void {
  const session = sessionOf(this);
  session.opened = true;
  onPeerClose(this, session);
  session.sendBack({ type: 'ws.open', protocol: this.protocol });
}

function onMessage(this: WebSocket, data: Buffer, isBinary: boolean): void {
  sessionOf(this).link.onMessage(isBinary ? data : data.toString());
}

function onError(this: WebSocket, error: Error & { code?: string }): void {
  const session = sessionOf(this);
  if (!session.opened) {
    const safe = redactMessage(error.message);
    session.sendBack({
      type: 'ws.handshake-failed',
      error: new ConnectionError(
        'ERR_CONNECT_FAILED',
        `could not connect to ${session.link.safeUrl}: ${safe}`,
        {
          // The cause keeps the raw message: only when it holds nothing to hide.
          cause: safe === error.message ? error : undefined,
        },
      ),
    });
    return;
  }
  // After the handshake ws emits 'error' only when the peer broke the protocol; ws has already sent
  // its Close (1002, 1007 or 1009) and stopped reading (RFC 6455 §7.1.7).
  const closeCode = failCloseCode(error);
  session.sendBack({
    type: 'ws.protocol-error',
    error: new ConnectionError(
      'ERR_PROTOCOL',
      `the peer broke the WebSocket protocol (${error.message}); we sent Close ${closeCode} and closed the connection`,
      { closeCode, cause: error },
    ),
  });
}

function onClose(this: WebSocket, code: number, reason: Buffer): void {
  sessionOf(this).sendBack({ type: 'ws.closed', code, reason: reason.toString() });
}

/**
 * Queue our Close (RFC 6455 §5.5.1: behind the data already sent) and report `ws.flushed` once it has
 * been handed to the OS. When the peer's Close came first, ws has already queued the echo.
 *
 * ws has no event for "Close frame written"; its public `bufferedAmount` includes the frame and drops
 * to 0 when it is written. Usually that is at once; when the socket buffer is full (the peer stopped
 * reading), it is checked on the socket's 'drain' and on a short poll, until the write deadline.
 */
function startClose(session: Session, code: number | undefined, reason: string | undefined): void {
  const ws = session.ws;
  if (!ws) return;
  if (code !== undefined && ws.readyState === WebSocket.OPEN) ws.close(code, reason);
  if (checkFlushed(session)) return;
  session.tcp?.on('drain', onDrain);
  session.flushTimer = setInterval(checkFlushed, FLUSH_POLL_MS, session);
}

function onDrain(this: Socket & Tagged): void {
  const session = this[kSession];
  if (session) checkFlushed(session);
}

function checkFlushed(session: Session): boolean {
  const ws = session.ws;
  if (!ws || ws.readyState === WebSocket.CLOSED || ws.bufferedAmount !== 0) return false;
  stopFlushWatch(session);
  session.sendBack({ type: 'ws.flushed' });
  return true;
}

function stopFlushWatch(session: Session): void {
  if (session.flushTimer) {
    clearInterval(session.flushTimer);
    session.flushTimer = null;
  }
  session.tcp?.removeListener('drain', onDrain);
}

function release(session: Session): void {
  stopFlushWatch(session);
  const ws = session.ws;
  if (!ws) return;
  session.ws = null;
  session.tcp = null;
  session.link.ws = null;
  offPeerClose(ws);
  ws.removeAllListeners();
  // Aborting a ws that is still connecting makes it emit 'error' on a later tick, after we are gone;
  // an unheard 'error' would kill the process.
  ws.on('error', noop);
  if (ws.readyState !== WebSocket.CLOSED) ws.terminate();
}

function noop(): void {}

// ---------------------------------------------------------------------------------------------------
// ws internals. Everything below relies on ws's private API; test/ws-internals.test.ts fails loudly if a
// ws upgrade changes it.

/**
 * ws has no public event for the moment the peer's Close frame arrives: it answers it by itself and
 * emits 'close' only once TCP has ended. Its private receiver emits 'conclude' (code, reason) at that
 * moment; ws's own listener (which queues the echo) runs before ours.
 */
export function onPeerClose(ws: WebSocket, session: Session): void {
  const receiver = receiverOf(ws) as EventEmitter & Tagged;
  receiver[kSession] = session;
  receiver.on('conclude', onConclude);
}

export function offPeerClose(ws: WebSocket): void {
  (ws as unknown as { _receiver?: EventEmitter })._receiver?.removeListener('conclude', onConclude);
}

function onConclude(this: EventEmitter & Tagged, code: number, reason: Buffer): void {
  this[kSession]?.sendBack({ type: 'ws.close-received', code, reason: reason.toString() });
}

/** ws's private receiver; throws if this ws has none that emits 'conclude'. */
export function receiverOf(ws: WebSocket): EventEmitter {
  const receiver = (ws as unknown as { _receiver?: unknown })._receiver;
  if (!(receiver instanceof EventEmitter) || receiver.listenerCount('conclude') === 0) {
    throw new Error(
      "ws-lifecycle: this version of ws has no private receiver emitting 'conclude'; the peer's Close cannot be observed",
    );
  }
  return receiver;
}

/** The Close code ws sent when it failed the connection: its errors carry it under a private symbol. */
export function failCloseCode(error: Error): number {
  for (const symbol of Object.getOwnPropertySymbols(error)) {
    if (symbol.description === 'status-code') {
      const code = (error as unknown as Record<symbol, unknown>)[symbol];
      if (typeof code === 'number') return code;
    }
  }
  return 1002;
}
