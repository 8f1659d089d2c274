/**
 * The ws client transport: the only file that touches a `ws` client socket. It turns the machine's
 * commands into socket calls and the socket's happenings into `ws.*` events (src/transports/transport.ts).
 * It decides nothing: every lifecycle decision is the machine's.
 *
 * Listeners are plain module-level functions wired in one place (`wire`), like ws's own `setSocket()`,
 * so a connection costs no closures; `release` removes every listener it added.
 *
 * Three facts ws does not make public, each read in one small function at the bottom of this file (and
 * pinned by test/transports/ws-internals.test.ts):
 * - when our Close frame has been written (ws sets `_closeFrameSent` in the write's callback): the real
 *   signal behind `ws.flushed`, over TLS and behind the compressor too;
 * - when the peer's Close frame arrives (the receiver's `'conclude'`);
 * - the Close code ws sent when it failed the connection (a symbol on its errors).
 *
 * TCP is ended by the machine, never by ws on its own: after the closing handshake the client waits for
 * the server to end TCP (RFC 6455 §7.1.1) and then destroys its socket, so nothing (no TLS
 * `close_notify`) is written to a server that has already gone; a server that never ends TCP is cut at
 * the read deadline.
 */
import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import WebSocket, { type ClientOptions } from 'ws';
import { ConnectionError } from '../../machines/connection-error.js';
import type { CloseCommand, Timeouts } from '../../machines/types.js';
import { parseRetryAfter } from '../managed/retry-after.js';
import { redactMessage } from '../redact.js';
import type { SendData, Transport, TransportSink } from './transport.js';

export type { ClientOptions };

/** ws options the transport owns: they would race the machine's deadlines. */
export const RESERVED_WS_OPTIONS = ['closeTimeout', 'handshakeTimeout'] as const;

/** Largest delay a Node timer honours; a larger one fires after 1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * ws's own close timer covers both closing phases; ours must always fire first, and the sum must stay
 * a delay Node's timers can hold.
 */
export function wsCloseTimeout(timeouts: Timeouts): number {
  return Math.min(timeouts.write + timeouts.read + 1000, MAX_TIMER_MS);
}

const kTransport = Symbol('ws-lifecycle.ws-client');

interface Tagged {
  [kTransport]?: WsClientTransport;
}

/** One ws client socket, driven by the machine. */
export class WsClientTransport implements Transport {
  ws: WebSocket | null = null;
  /** The TCP (or TLS) socket, from the public 'upgrade' response. */
  tcp: Socket | null = null;
  opened = false;
  /** Our Close is queued and not yet written. */
  closing = false;
  /** The peer's Close frame arrived. */
  peerClosed = false;
  /** The peer ended TCP; reported as `ws.closed` once nothing of ours is still being written. */
  peerEnded = false;
  /** `ws.closed` was reported. */
  ended = false;

  // Private: the real URL, subprotocols and headers may hold secrets; nothing shows them (util.inspect).
  // Dropped once the ws holds them (a connection is single-use).
  #url: URL | null;
  #protocols: string[] | undefined;
  #options: ClientOptions | null;

  constructor(
    url: URL,
    /** The URL with credentials and query values redacted, for error messages. */
    readonly safeUrl: string,
    protocols: string[] | undefined,
    options: ClientOptions,
    readonly closeTimeout: number,
    readonly sink: TransportSink,
  ) {
    this.#url = url;
    this.#protocols = protocols;
    this.#options = options;
  }

  connect(): void {
    const url = this.#url;
    if (url === null) return;
    const options = { ...this.#options, closeTimeout: this.closeTimeout } as ClientOptions;
    const protocols = this.#protocols;
    this.#url = null;
    this.#options = null;
    this.#protocols = undefined;
    let ws: WebSocket;
    try {
      ws = new WebSocket(url, protocols, options);
    } catch (error) {
      // Options are validated up front (src/options.ts); whatever ws still refuses ends through the
      // machine like any failed handshake: one closed record, one error.
      const message = redactMessage(error instanceof Error ? error.message : String(error));
      this.sink.event({
        type: 'ws.handshake-failed',
        error: new ConnectionError(
          'ERR_CONNECT_FAILED',
          `could not connect to ${this.safeUrl}: ws refused to start the handshake (${message})`,
        ),
      });
      return;
    }
    ws.binaryType = 'nodebuffer';
    this.ws = ws;
    (ws as Tagged)[kTransport] = this;
    wire(ws);
  }

  send(data: SendData): void {
    const ws = this.ws;
    // From the peer's FIN until the frames before it are processed and it is reported (ws.closed), the
    // machine is still open but ws is CLOSING and would drop the data silently: refuse it instead.
    if (ws?.readyState !== WebSocket.OPEN) {
      throw new ConnectionError(
        'ERR_INVALID_STATE',
        'cannot send: the peer has ended the TCP connection, which is closing',
      );
    }
    ws.send(data);
  }

  ping(): void {
    const ws = this.ws;
    if (ws && ws.readyState === WebSocket.OPEN) ws.ping();
  }

  /**
   * Queue our Close (RFC 6455 §5.5.1: behind the data already sent) and report `ws.flushed` once it has
   * been written. When the peer's Close came first, ws has already queued the echo.
   */
  close(command: CloseCommand): void {
    const ws = this.ws;
    if (!ws) return;
    if (command.code !== undefined) {
      // Not open any more (the peer ended TCP, or ws failed a write): ws sends no Close now.
      if (ws.readyState !== WebSocket.OPEN) return;
      ws.close(command.code, command.reason);
    } else if (this.peerEnded) {
      // The peer's FIN came before ws processed its Close (a compressed message ahead of it): ws answers
      // no Close once TCP's end has arrived, and Node's socket takes no more writes after it. No echo
      // will be written; TCP's end is reported once the frames are processed (framesProcessed).
      return;
    }
    this.closing = true;
    onCloseFrameSent(ws, this);
  }

  /** Called once ws has written our Close frame. */
  closeWritten(): void {
    if (!this.closing) return;
    this.closing = false;
    this.sink.event({ type: 'ws.flushed' });
    if (this.peerEnded) this.reportClosed(1006, '');
  }

  destroy(): void {
    this.ws?.terminate();
  }

  release(): void {
    const ws = this.ws;
    if (!ws) return;
    this.ws = null;
    this.closing = false;
    offCloseFrameSent(ws);
    offPeerClose(ws);
    ws.removeAllListeners();
    const tcp = this.tcp;
    const alive = ws.readyState !== WebSocket.CLOSED;
    if (tcp) {
      this.tcp = null;
      tcp.removeListener('end', onTcpEnd);
      // A socket we destroy keeps ws's end() held: ws still calls it at the peer's FIN, and on a
      // destroyed socket Node would build an ERR_STREAM_DESTROYED error for nothing.
      if (!alive) releaseEnd(tcp);
    }
    // Aborting a ws that is still connecting makes it emit 'error' on a later tick, after we are gone;
    // an unheard 'error' would kill the process.
    ws.on('error', noop);
    if (alive) ws.terminate();
  }

  /** TCP ended: report it once. */
  reportClosed(code: number, reason: string): void {
    if (this.ended) return;
    this.ended = true;
    this.sink.event({ type: 'ws.closed', code, reason });
  }
}

/** Every listener, in one place. */
function wire(ws: WebSocket): void {
  ws.on('upgrade', onUpgrade);
  ws.on('unexpected-response', onUnexpectedResponse);
  ws.on('open', onOpen);
  ws.on('message', onMessage);
  ws.on('ping', onPing);
  ws.on('pong', onPong);
  ws.on('error', onError);
  ws.on('close', onClose);
}

function transportOf(ws: WebSocket): WsClientTransport {
  return (ws as Tagged)[kTransport] as WsClientTransport;
}

function onUpgrade(this: WebSocket, response: IncomingMessage): void {
  const transport = transportOf(this);
  const tcp = response.socket as Socket & Tagged;
  tcp[kTransport] = transport;
  transport.tcp = tcp;
}

function onUnexpectedResponse(this: WebSocket, _request: unknown, response: IncomingMessage): void {
  const transport = transportOf(this);
  const status = response.statusCode ?? 0;
  // RFC 9110 §10.2.3: how long a refusing server (429, 503) asks us to wait; a managed connection honours it.
  const retryAfterMs =
    status === 429 || status === 503
      ? parseRetryAfter(response.headers['retry-after'], Date.now())
      : undefined;
  transport.sink.event({
    type: 'ws.handshake-failed',
    error: new ConnectionError(
      'ERR_CONNECT_FAILED',
      `could not connect to ${transport.safeUrl}: the server answered the upgrade with HTTP ${status}`,
      retryAfterMs === undefined ? { status } : { status, retryAfterMs },
    ),
  });
  // The machine is closed by now; this aborts the request ws still holds.
  this.terminate();
}

function onOpen(this: WebSocket): void {
  const transport = transportOf(this);
  transport.opened = true;
  onPeerClose(this);
  const tcp = transport.tcp;
  if (tcp) {
    // Before ws's own 'end' listener, which would answer the peer's FIN with ours (and over TLS a
    // close_notify the server, already gone, answers with a reset).
    tcp.prependListener('end', onTcpEnd);
    holdEnd(tcp);
  }
  transport.sink.event({ type: 'ws.open', protocol: this.protocol });
}

function onMessage(this: WebSocket, data: Buffer, isBinary: boolean): void {
  const { sink } = transportOf(this);
  sink.frame();
  sink.message(isBinary ? data : data.toString());
}

/** ws has already answered it with a pong (its `autoPong`, RFC 6455 §5.5.2). */
function onPing(this: WebSocket, data: Buffer): void {
  const { sink } = transportOf(this);
  sink.frame();
  sink.peerPing?.(data);
}

function onPong(this: WebSocket): void {
  const { sink } = transportOf(this);
  sink.frame();
  sink.pong();
}

function onError(this: WebSocket, error: Error & { code?: string }): void {
  const transport = transportOf(this);
  if (!transport.opened) {
    const safe = redactMessage(error.message);
    transport.sink.event({
      type: 'ws.handshake-failed',
      error: new ConnectionError('ERR_CONNECT_FAILED', `could not connect to ${transport.safeUrl}: ${safe}`, {
        // The cause keeps the raw message: only when it holds nothing to hide.
        cause: safe === error.message ? error : undefined,
      }),
    });
    return;
  }
  // After the handshake ws emits 'error' only when the peer broke the protocol; ws has already sent
  // its Close (1002, 1007 or 1009) and stopped reading (RFC 6455 §7.1.7).
  const closeCode = failCloseCode(error);
  transport.sink.event({
    type: 'ws.protocol-error',
    error: new ConnectionError(
      'ERR_PROTOCOL',
      `the peer broke the WebSocket protocol (${error.message}); we sent Close ${closeCode} and closed the connection`,
      { closeCode, cause: error },
    ),
  });
}

function onClose(this: WebSocket, code: number, reason: Buffer): void {
  const transport = transportOf(this);
  // ws reports a Close write that completed before the socket closed; it is the same fact.
  if (transport.closing && closeFrameWasSent(this)) transport.closeWritten();
  transport.reportClosed(code, reason.toString());
}

/**
 * The peer ended TCP (its FIN). Runs before ws's own listener. Reported as `ws.closed` once the frames
 * the peer sent before it are processed (ws may still be inflating one) and our own Close, if one is
 * being written, is out.
 */
function onTcpEnd(this: Socket & Tagged): void {
  const transport = this[kTransport];
  if (!transport?.ws) return;
  transport.peerEnded = true;
  if (transport.closing) return; // closeWritten() reports it.
  if (transport.peerClosed) {
    transport.reportClosed(1006, '');
    return;
  }
  whenFramesProcessed(transport.ws, transport);
}

/** After the peer's FIN: once ws's receiver has processed every frame before it. */
export function framesProcessed(transport: WsClientTransport): void {
  if (transport.ended || !transport.ws || transport.closing) return;
  transport.reportClosed(1006, '');
}

function noop(): void {}

// ---------------------------------------------------------------------------------------------------
// ws internals. Everything below relies on ws's private API; test/transports/ws-internals.test.ts fails
// loudly if a ws upgrade changes it.

const kSentValue = Symbol('ws-lifecycle.close-frame-sent');

interface CloseFrameFlags {
  _closeFrameSent: boolean;
  [kSentValue]?: boolean;
  [kTransport]?: WsClientTransport;
}

/**
 * ws has no public signal for "our Close frame was written": it sets `_closeFrameSent = true` in the
 * write's callback (after TLS and the compressor). We watch that assignment: the moment ws itself
 * learns it, we report it.
 */
export function onCloseFrameSent(ws: WebSocket, transport: WsClientTransport): void {
  const flags = ws as unknown as CloseFrameFlags;
  if (flags._closeFrameSent === true) {
    transport.closeWritten();
    return;
  }
  if (Object.getOwnPropertyDescriptor(flags, '_closeFrameSent')?.set) return; // watching already
  flags[kSentValue] = flags._closeFrameSent;
  Object.defineProperty(flags, '_closeFrameSent', {
    configurable: true,
    enumerable: true,
    get(this: CloseFrameFlags) {
      return this[kSentValue] === true;
    },
    set(this: CloseFrameFlags, value: boolean) {
      this[kSentValue] = value;
      if (value === true) this[kTransport]?.closeWritten();
    },
  });
}

/** Back to a plain property, with ws's value. */
export function offCloseFrameSent(ws: WebSocket): void {
  const flags = ws as unknown as CloseFrameFlags;
  if (!Object.getOwnPropertyDescriptor(flags, '_closeFrameSent')?.set) return;
  const value = flags[kSentValue] === true;
  Object.defineProperty(flags, '_closeFrameSent', {
    configurable: true,
    enumerable: true,
    writable: true,
    value,
  });
}

/** ws's record of our Close frame having been written. */
export function closeFrameWasSent(ws: WebSocket): boolean {
  return (ws as unknown as CloseFrameFlags)._closeFrameSent === true;
}

/**
 * ws ends the TCP socket itself once Close frames went both ways (and answers the peer's FIN with its
 * own). On a client we leave that to the machine: the server ends TCP first (RFC 6455 §7.1.1), then the
 * machine destroys the socket, or cuts it at the read deadline. `end()` calls from ws are held.
 */
export function holdEnd(tcp: Socket): void {
  (tcp as unknown as { end: () => Socket }).end = heldEnd;
}

function heldEnd(this: Socket): Socket {
  return this;
}

export function releaseEnd(tcp: Socket): void {
  if ((tcp as unknown as { end: unknown }).end === heldEnd) delete (tcp as unknown as { end?: unknown }).end;
}

/**
 * ws has no public event for the moment the peer's Close frame arrives: it answers it by itself and
 * emits 'close' only once TCP has ended. Its private receiver emits 'conclude' (code, reason) at that
 * moment; ws's own listener (which queues the echo) runs before ours.
 */
export function onPeerClose(ws: WebSocket): void {
  const receiver = receiverOf(ws) as EventEmitter & Tagged;
  receiver[kTransport] = transportOf(ws);
  receiver.on('conclude', onConclude);
}

export function offPeerClose(ws: WebSocket): void {
  const receiver = (ws as unknown as { _receiver?: EventEmitter })._receiver;
  receiver?.removeListener('conclude', onConclude);
  receiver?.removeListener('finish', onReceiverFinish);
}

function onConclude(this: EventEmitter & Tagged, code: number, reason: Buffer): void {
  const transport = this[kTransport];
  if (!transport) return;
  transport.peerClosed = true;
  transport.sink.event({ type: 'ws.close-received', code, reason: reason.toString() });
}

/** Calls `framesProcessed` once ws's receiver has processed every frame (it is ended at the FIN). */
function whenFramesProcessed(ws: WebSocket, transport: WsClientTransport): void {
  const receiver = receiverOf(ws) as EventEmitter & Tagged & { writableFinished?: boolean };
  receiver[kTransport] = transport;
  if (receiver.writableFinished) framesProcessed(transport);
  else receiver.once('finish', onReceiverFinish);
}

function onReceiverFinish(this: EventEmitter & Tagged): void {
  const transport = this[kTransport];
  if (transport) framesProcessed(transport);
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
