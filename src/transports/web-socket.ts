/**
 * The standard WebSocket transport (WHATWG `WebSocket`: browsers, Node ≥ 22, Deno, Bun): the only file
 * that touches a standard WebSocket. It turns the machine's commands into calls on the socket and what
 * the socket shows into `ws.*` events (src/transports/transport.ts). It decides nothing: every
 * lifecycle decision is the machine's. It imports neither `ws` nor any `node:` module.
 *
 * The standard API shows much less than ws does, and this file reports only what it shows
 * (docs/web.md):
 * - No "our Close is written" signal. `bufferedAmount` counts the data queued before our Close (not the
 *   Close itself, a control frame), so `ws.flushed` is reported once it is 0 after `close()`: nothing of
 *   ours still waits ahead of the Close. Polled, since no event says so. A peer that stops reading
 *   keeps it above 0, and the write deadline ends the connection. The `close` event with `wasClean`
 *   also proves our Close went out.
 * - No "the peer's Close arrived" event: the runtime answers the peer's Close by itself and fires
 *   `close` only at the end. So `ws.close-received` comes with the `close` event, when its code says a
 *   Close arrived (not 1006, nor Deno's 0), then `ws.flushed` if `wasClean`, then `ws.closed`, in the
 *   order the machine needs.
 * - `error` says nothing about why. Before the handshake completed it means the handshake failed
 *   (reported at once: Node 22 fires no `close` after a refused handshake). After it, the runtime has
 *   failed the connection (a protocol error, or a lost connection in some runtimes): reported as the
 *   end of TCP with no Close frame, at once, since the `close` that follows adds nothing.
 * - No ping frames (keepalive is the application heartbeat, in the Driver), no headers or TLS options,
 *   no terminate and no handshake abort but `close()`: `destroy` closes, and `release` detaches
 *   every listener so that nothing of this socket reaches the machine any more. The machine's deadlines
 *   then govern, whatever the runtime does next.
 * - Only 1000 and 3000–4999 may be sent (WHATWG `close()` throws InvalidAccessError for any other; Bun
 *   sends them instead). The caller's codes are checked before anything happens ({@link checkWebClose});
 *   the machine's own 1011 (keepalive failure) goes out as a Close without status.
 */
import { ConnectionError } from '../../machines/connection-error.js';
import type { CloseCommand } from '../../machines/types.js';
import { redactMessage } from '../redact.js';
import type { SendData, Transport, TransportSink } from './transport.js';

/** The part of a standard `WebSocket` this transport uses (WHATWG websockets `index.bs`). */
export interface StandardWebSocket {
  /** 0 CONNECTING, 1 OPEN, 2 CLOSING, 3 CLOSED. */
  readonly readyState: number;
  /** The subprotocol the server selected ('' for none). */
  readonly protocol: string;
  /** Bytes of data messages queued and not yet handed to the network (control frames not counted). */
  readonly bufferedAmount: number;
  binaryType: string;
  /** What every runtime's `send` takes (the DOM's also takes a Blob). */
  send(data: string | ArrayBuffer | ArrayBufferView<ArrayBuffer>): void;
  close(code?: number, reason?: string): void;
  // biome-ignore lint/suspicious/noExplicitAny: the DOM's and each runtime's event types differ.
  addEventListener(type: string, listener: (this: any, event: any) => void): void;
  // biome-ignore lint/suspicious/noExplicitAny: as above.
  removeEventListener(type: string, listener: (this: any, event: any) => void): void;
}

/** A standard `WebSocket` constructor: `globalThis.WebSocket`, or one passed in. */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => StandardWebSocket;

const CONNECTING = 0;
const OPEN = 1;
/** No Close frame arrived (RFC 6455 §7.1.5). */
const ABNORMAL = 1006;
/** TLS handshake failure: reported, never sent, no Close frame behind it (RFC 6455 §7.4.1). */
const TLS_FAILURE = 1015;
/** How often `bufferedAmount` is read while our Close waits behind data (ms). */
export const FLUSH_POLL_MS = 10;

/** Can the standard `close()` send this code? (WHATWG: 1000, or 3000–4999.) */
export function isWebSendableCloseCode(code: number): boolean {
  return code === 1000 || (Number.isInteger(code) && code >= 3000 && code <= 4999);
}

/**
 * The standard API's limit on close codes, checked before the runtime is called (after RFC 6455's own
 * checks): ERR_INVALID_CLOSE_CODE, saying why.
 */
export function checkWebClose(code: number): void {
  if (isWebSendableCloseCode(code)) return;
  throw new ConnectionError(
    'ERR_INVALID_CLOSE_CODE',
    `close code ${code} cannot be sent over the standard WebSocket: its close() takes only 1000 and 3000–4999 (other codes are reserved to the browser or runtime, and throw InvalidAccessError)`,
  );
}

const kTransport = Symbol('ws-lifecycle.web-socket');

interface Tagged {
  [kTransport]?: WebSocketTransport;
}

/** One standard WebSocket, driven by the machine. */
export class WebSocketTransport implements Transport {
  ws: (StandardWebSocket & Tagged) | null = null;
  opened = false;
  /** Our Close (or the runtime's echo of the peer's) is queued and `ws.flushed` not yet reported. */
  closing = false;
  /** Polls `bufferedAmount` while our Close waits behind data. */
  flushTimer: ReturnType<typeof setInterval> | null = null;
  /** `ws.closed` or `ws.handshake-failed` was reported: nothing more comes from this socket. */
  ended = false;

  constructor(
    readonly WebSocket: WebSocketConstructor,
    readonly url: URL,
    /** The URL with credentials and query values redacted, for error messages. */
    readonly safeUrl: string,
    readonly protocols: string[] | undefined,
    readonly sink: TransportSink,
  ) {}

  connect(): void {
    let ws: StandardWebSocket & Tagged;
    try {
      ws = this.protocols
        ? new this.WebSocket(this.url.href, this.protocols)
        : new this.WebSocket(this.url.href);
    } catch (error) {
      // SyntaxError (a URL or protocol the runtime refuses), SecurityError (a port the browser blocks).
      this.handshakeFailed(`the runtime refused to start the handshake (${describeError(error)})`);
      return;
    }
    ws.binaryType = 'arraybuffer';
    ws[kTransport] = this;
    this.ws = ws;
    wire(ws);
  }

  send(data: SendData): void {
    // A view on a SharedArrayBuffer is the runtime's to refuse, as it would without us.
    this.ws?.send(data as string | ArrayBuffer | Uint8Array<ArrayBuffer>);
  }

  /** Unreachable: without ping frames, keepalive and `ping()` use the heartbeat (src/core). */
  ping(): void {
    throw new Error('ws-lifecycle: the standard WebSocket cannot send ping frames');
  }

  /**
   * RFC 6455 §5.5.1: our Close goes behind the data already sent. With no code, the peer's Close came
   * first and the runtime has already answered it; the `close` event tells whether the answer went out.
   */
  close(command: CloseCommand): void {
    const ws = this.ws;
    if (!ws) return;
    this.closing = true;
    if (command.code === undefined) return;
    if (ws.readyState !== OPEN) return;
    try {
      if (isWebSendableCloseCode(command.code)) ws.close(command.code, command.reason);
      else ws.close(); // the machine's 1011 on a keepalive failure: a Close without status instead
    } catch {
      ws.close();
    }
    if (!this.checkFlushed()) this.flushTimer = setInterval(pollFlushed, FLUSH_POLL_MS, this);
  }

  /** Reports `ws.flushed` once nothing of ours waits ahead of our Close; true once reported. */
  checkFlushed(): boolean {
    const ws = this.ws;
    if (!this.closing || !ws) return true;
    if (ws.bufferedAmount > 0) return false;
    this.flushed();
    return true;
  }

  flushed(): void {
    if (!this.closing) return;
    this.closing = false;
    this.stopPolling();
    this.sink.event({ type: 'ws.flushed' });
  }

  stopPolling(): void {
    if (this.flushTimer === null) return;
    clearInterval(this.flushTimer);
    this.flushTimer = null;
  }

  /** No abort in the standard API but `close()`: it aborts a handshake, or closes without status. */
  destroy(): void {
    const ws = this.ws;
    if (ws && (ws.readyState === CONNECTING || ws.readyState === OPEN)) ws.close();
  }

  /** Every listener and the timer go; whatever this socket does next never reaches the machine. */
  release(): void {
    this.stopPolling();
    this.closing = false;
    const ws = this.ws;
    if (!ws) return;
    this.ws = null;
    unwire(ws);
    delete ws[kTransport];
    if (ws.readyState === CONNECTING || ws.readyState === OPEN) ws.close();
  }

  handshakeFailed(why: string): void {
    if (this.ended) return;
    this.ended = true;
    this.sink.event({
      type: 'ws.handshake-failed',
      error: new ConnectionError('ERR_CONNECT_FAILED', `could not connect to ${this.safeUrl}: ${why}`),
    });
  }

  /** TCP ended (or the runtime says the connection is over): report it once. */
  reportClosed(code: number, reason: string): void {
    if (this.ended) return;
    this.ended = true;
    this.stopPolling();
    this.sink.event({ type: 'ws.closed', code, reason });
  }
}

/** Every listener, in one place. */
function wire(ws: StandardWebSocket): void {
  ws.addEventListener('open', onOpen);
  ws.addEventListener('message', onMessage);
  ws.addEventListener('error', onError);
  ws.addEventListener('close', onClose);
}

function unwire(ws: StandardWebSocket): void {
  ws.removeEventListener('open', onOpen);
  ws.removeEventListener('message', onMessage);
  ws.removeEventListener('error', onError);
  ws.removeEventListener('close', onClose);
}

function transportOf(ws: StandardWebSocket & Tagged): WebSocketTransport | undefined {
  return ws[kTransport];
}

function pollFlushed(transport: WebSocketTransport): void {
  transport.checkFlushed();
}

function onOpen(this: StandardWebSocket & Tagged): void {
  const transport = transportOf(this);
  if (!transport) return;
  transport.opened = true;
  // RFC 6455 §4.1: _The WebSocket Connection is Established_.
  transport.sink.event({ type: 'ws.open', protocol: this.protocol });
}

function onMessage(this: StandardWebSocket & Tagged, event: { data: unknown }): void {
  const transport = transportOf(this);
  if (!transport) return;
  const { data } = event;
  let message: string | Uint8Array;
  if (typeof data === 'string') message = data;
  else if (data instanceof ArrayBuffer) message = new Uint8Array(data);
  else if (ArrayBuffer.isView(data)) message = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  else {
    // A WebSocket passed in that ignores binaryType 'arraybuffer' (a Blob): never dropped silently.
    transport.sink.event({
      type: 'ws.protocol-error',
      error: new ConnectionError(
        'ERR_PROTOCOL',
        `the WebSocket delivered a binary message as ${typeOf(data)}, not an ArrayBuffer (it ignores binaryType 'arraybuffer'); the connection was closed`,
      ),
    });
    return;
  }
  transport.sink.frame();
  transport.sink.message(message);
}

function onError(this: StandardWebSocket & Tagged, event: { message?: unknown }): void {
  const transport = transportOf(this);
  if (!transport) return;
  if (!transport.opened) {
    // Reported now: Node 22 fires no `close` after a refused handshake.
    transport.handshakeFailed(`the handshake failed${runtimeSays(event)} (${HANDSHAKE_UNKNOWN})`);
    return;
  }
  // RFC 6455 §7.1.7: the runtime failed the connection. Its `close` follows with 1006 (Deno: 0) and
  // wasClean false; the standard API does not say whether the peer broke the protocol or TCP broke.
  transport.reportClosed(ABNORMAL, '');
}

function onClose(
  this: StandardWebSocket & Tagged,
  event: { code: number; reason: string; wasClean: boolean },
): void {
  const transport = transportOf(this);
  if (!transport) return;
  if (!transport.opened) {
    transport.handshakeFailed(`the handshake failed (close event ${event.code}; ${HANDSHAKE_UNKNOWN})`);
    return;
  }
  const { code, wasClean } = event;
  const reason = typeof event.reason === 'string' ? event.reason : '';
  // A code other than 1006 (Deno reports 0) and 1015 is the peer's Close: 1005 when it had no status.
  if (code !== ABNORMAL && code !== TLS_FAILURE && code !== 0) {
    transport.sink.event({ type: 'ws.close-received', code, reason });
  }
  // RFC 6455 §7.1.4 _The WebSocket Connection is Closed_, cleanly: Close frames went both ways, ours
  // (or the runtime's echo of the peer's) included.
  if (wasClean) transport.flushed();
  transport.reportClosed(code === 0 ? ABNORMAL : code, reason);
}

const HANDSHAKE_UNKNOWN =
  'refused, unreachable, TLS, or an answer other than 101: the standard WebSocket does not say which';

/** The runtime's own message, if its error event has one (Node, Deno, Bun; browsers give none). */
function runtimeSays(event: { message?: unknown }): string {
  const message = event?.message;
  return typeof message === 'string' && message !== '' ? `: ${redactMessage(message)}` : '';
}

function describeError(error: unknown): string {
  if (error instanceof Error || (typeof error === 'object' && error !== null && 'name' in error)) {
    const { name, message } = error as { name?: unknown; message?: unknown };
    return `${String(name)}${typeof message === 'string' && message ? `: ${redactMessage(message)}` : ''}`;
  }
  return typeOf(error);
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') {
    const name: unknown = Object.getPrototypeOf(value)?.constructor?.name;
    if (typeof name === 'string' && /^\w+$/.test(name)) return `a ${name}`;
  }
  return typeof value;
}
