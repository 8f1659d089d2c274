/**
 * The ws server transport: the only file that touches a server-side `ws` socket (one accepted by a
 * `WebSocketServer` and handed out by its `'connection'` event). It turns the machine's commands into
 * socket calls and the socket's happenings into `ws.*` events (src/transports/transport.ts), and
 * decides nothing: every lifecycle decision is the machine's.
 *
 * How it differs from the client transport (src/transports/ws-client.ts):
 * - The socket is open already (RFC 6455 §4.2.2: the server sent its 101). The machine enters `open`
 *   through `api.adopt`; `connect()` is never called.
 * - Our frames go out unmasked (§5.1); ws does that for a server-side socket by itself.
 * - After the closing handshake THE SERVER ENDS TCP FIRST (§7.1.1). ws does exactly that once Close
 *   frames went both ways (it calls `end()` in the write callback of the last Close), so this transport
 *   lets it; `draining` then waits for the client's FIN, which ws reports as `'close'` (`ws.closed`),
 *   under the read deadline. The client transport instead holds ws's `end()` and waits for the server.
 *
 * Listeners are plain module-level functions wired in one place (`wire`), like ws's own `setSocket()`.
 * `release` removes exactly the listeners it added: the server's own (`clients` tracking) and the
 * application's stay.
 *
 * Facts ws does not make public are read in small functions at the bottom of this file, pinned by
 * test/transports/ws-server.test.ts; those that apply to both roles are imported from ws-client.ts.
 */
import type { EventEmitter } from 'node:events';
import WebSocket from 'ws';
import { ConnectionError } from '../../machines/connection-error.js';
import type { CloseCommand } from '../../machines/types.js';
import type { MessageData, SendData, Transport, TransportSink } from './transport.js';
import { closeFrameWasSent, failCloseCode, receiverOf } from './ws-client.js';

export { wsCloseTimeout } from './ws-client.js';

const kTransport = Symbol('ws-lifecycle.ws-server');

interface Tagged {
  [kTransport]?: WsServerTransport;
}

/** One server-side ws socket, driven by the machine. */
export class WsServerTransport implements Transport {
  ws: WebSocket | null;
  /** Our Close is queued and not yet written. */
  closing = false;
  /** The peer's Close frame arrived. */
  peerClosed = false;
  /** `ws.closed` was reported. */
  ended = false;

  /**
   * Takes over `ws` at once: wires its listeners and pushes ws's own close timer behind the machine's
   * deadlines (`closeTimeout`, see `wsCloseTimeout`).
   */
  constructor(
    ws: WebSocket,
    readonly sink: TransportSink,
    closeTimeout: number,
  ) {
    this.ws = ws;
    (ws as Tagged)[kTransport] = this;
    setCloseTimeout(ws, closeTimeout);
    wire(ws);
  }

  /** Never a command for a server-side socket: it is open already and enters `open` by `api.adopt`. */
  connect(): void {
    throw new Error('ws-lifecycle: a server-side socket is adopted open, never connected');
  }

  send(data: SendData): void {
    this.ws?.send(data);
  }

  ping(): void {
    const ws = this.ws;
    if (ws && ws.readyState === WebSocket.OPEN) ws.ping();
  }

  /**
   * Queue our Close (RFC 6455 §5.5.1: behind the data already sent) and report `ws.flushed` once it has
   * been written. When the peer's Close came first, ws has already queued the echo (with its code).
   */
  close(command: CloseCommand): void {
    const ws = this.ws;
    if (!ws) return;
    if (command.code !== undefined) {
      // Not open any more (TCP ended, or ws failed the connection): ws sends no Close now.
      if (ws.readyState !== WebSocket.OPEN) return;
      ws.close(command.code, command.reason);
    }
    this.closing = true;
    onCloseFrameSent(ws, this);
  }

  /** Called once ws has written our Close frame. */
  closeWritten(): void {
    if (!this.closing) return;
    this.closing = false;
    this.sink.event({ type: 'ws.flushed' });
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
    unwire(ws);
    if (ws.readyState !== WebSocket.CLOSED) {
      // An 'error' ws would emit on its way down, with none of ours listening, must not kill the process.
      ws.on('error', noop);
      ws.terminate();
    }
  }

  /** TCP ended: report it once. */
  reportClosed(code: number, reason: string): void {
    if (this.ended) return;
    this.ended = true;
    this.sink.event({ type: 'ws.closed', code, reason });
  }
}

/** Every listener, in one place; `unwire` removes exactly these. */
function wire(ws: WebSocket): void {
  onPeerClose(ws);
  ws.on('message', onMessage);
  ws.on('ping', onFrame);
  ws.on('pong', onPong);
  ws.on('error', onError);
  ws.on('close', onClose);
}

function unwire(ws: WebSocket): void {
  ws.removeListener('message', onMessage);
  ws.removeListener('ping', onFrame);
  ws.removeListener('pong', onPong);
  ws.removeListener('error', onError);
  ws.removeListener('close', onClose);
}

function transportOf(ws: WebSocket): WsServerTransport {
  return (ws as Tagged)[kTransport] as WsServerTransport;
}

function onMessage(this: WebSocket, data: WebSocket.RawData, isBinary: boolean): void {
  const { sink } = transportOf(this);
  sink.frame();
  sink.message(messageOf(data, isBinary));
}

/**
 * Text as a string, binary as bytes, whatever `binaryType` the application left on the socket
 * ('nodebuffer' by default; 'arraybuffer' and 'fragments' are turned into bytes too).
 */
function messageOf(data: WebSocket.RawData, isBinary: boolean): MessageData {
  const bytes = Buffer.isBuffer(data)
    ? data
    : Array.isArray(data)
      ? Buffer.concat(data)
      : Buffer.from(data as ArrayBuffer);
  return isBinary ? bytes : bytes.toString();
}

function onFrame(this: WebSocket): void {
  transportOf(this).sink.frame();
}

function onPong(this: WebSocket): void {
  const { sink } = transportOf(this);
  sink.frame();
  sink.pong();
}

function onError(this: WebSocket, error: Error): void {
  // On an open socket ws emits 'error' only when the peer broke the protocol (or its compressor
  // failed); ws has already sent its Close (1002, 1007 or 1009) and stopped reading (RFC 6455 §7.1.7).
  const closeCode = failCloseCode(error);
  transportOf(this).sink.event({
    type: 'ws.protocol-error',
    error: new ConnectionError(
      'ERR_PROTOCOL',
      `the peer broke the WebSocket protocol (${error.message}); we sent Close ${closeCode} and closed the connection`,
      { closeCode, cause: error },
    ),
  });
}

/**
 * TCP ended. After the closing handshake this is the client's FIN, answering the FIN ws sent once
 * Close frames went both ways (RFC 6455 §7.1.1: the server ends TCP first).
 */
function onClose(this: WebSocket, code: number, reason: Buffer): void {
  const transport = transportOf(this);
  // ws reports a Close write that completed before the socket closed; it is the same fact.
  if (transport.closing && closeFrameWasSent(this)) transport.closeWritten();
  transport.reportClosed(code, reason.toString());
}

function noop(): void {}

// ---------------------------------------------------------------------------------------------------
// ws internals. Everything below relies on ws's private API; test/transports/ws-server.test.ts fails
// loudly if a ws upgrade changes it. (The same watches exist in ws-client.ts, tied to the client
// transport's own tag; they take a transport parameter once ws-client.ts does, see docs/server.md.)

const kSentValue = Symbol('ws-lifecycle.server-close-frame-sent');

interface CloseFrameFlags {
  _closeFrameSent: boolean;
  _closeTimeout?: number;
  [kSentValue]?: boolean;
  [kTransport]?: WsServerTransport;
}

/**
 * ws's own close timer (the server's `closeTimeout` option, 30 s by default) destroys the socket on
 * its own; it must fire after the machine's deadlines, never before. It is read from `_closeTimeout`
 * when `close()` is called.
 */
export function setCloseTimeout(ws: WebSocket, ms: number): void {
  const flags = ws as unknown as CloseFrameFlags;
  if (typeof flags._closeTimeout !== 'number') {
    throw new Error("ws-lifecycle: this version of ws has no '_closeTimeout' on its sockets");
  }
  flags._closeTimeout = ms;
}

/**
 * ws has no public signal for "our Close frame was written": it sets `_closeFrameSent = true` in the
 * write's callback (after TLS and the compressor). We watch that assignment: the moment ws itself
 * learns it, we report it.
 */
export function onCloseFrameSent(ws: WebSocket, transport: WsServerTransport): void {
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
  const receiver = (ws as unknown as { _receiver?: EventEmitter & Tagged })._receiver;
  if (!receiver) return;
  receiver.removeListener('conclude', onConclude);
  receiver[kTransport] = undefined;
}

function onConclude(this: EventEmitter & Tagged, code: number, reason: Buffer): void {
  const transport = this[kTransport];
  if (!transport) return;
  transport.peerClosed = true;
  transport.sink.event({ type: 'ws.close-received', code, reason: reason.toString() });
}
