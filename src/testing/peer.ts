/**
 * A scriptable WebSocket server peer on raw `node:net`, for driving a real client through every edge
 * of its lifecycle: clean closes, silent peers, resets, protocol errors. Loopback only.
 *
 * The wire rules live in `./frames.ts`; this file owns the sockets, the timers and the modes.
 *
 * @module
 */

import { STATUS_CODES } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import {
  acceptKey,
  DEFAULT_MAX_MESSAGE_BYTES,
  encodeClosePayload,
  encodeFrame,
  type FrameInfo,
  FrameReader,
  headerValue,
  isSendableCloseCode,
  MAX_REQUEST_HEAD_BYTES,
  Opcode,
  offeredProtocols,
  parseRequestHead,
  RESERVED_OPCODE,
  type RequestHeaders,
} from './frames.js';

/** How the peer behaves on each connection. */
export type PeerMode =
  /** Echo data; on the client's Close reply Close with the same code and reason, then end TCP (§7.1.1: the server closes TCP first). */
  | 'echo'
  /** Upgrade and record; never act on its own (no echo, no Close reply, no TCP close): the test drives it. */
  | 'manual'
  /** Upgrade, then never answer anything: no Pong, no Close reply, no TCP close. */
  | 'silent'
  /**
   * Upgrade, then stay connected and answer nothing at all, Pings included (no Pong, no data, no Close
   * reply, no TCP close, not even after the client's FIN), while still reading, so TCP never backs up:
   * what a keepalive must notice. The kernel still ACKs, so this is a dead peer, not a dead link.
   */
  | 'no-pong'
  /**
   * An application-level heartbeat server: answers each text message `{"type":"ping"}` with
   * `{"type":"pong"}` (the first `heartbeatReplies` of them), echoes any other message, answers Close like `echo`.
   */
  | 'json-heartbeat'
  /** Accept TCP and read the request head, never answer the upgrade. */
  | 'no-upgrade'
  /** Answer the upgrade with an HTTP error status (option `status`), then end TCP. */
  | 'http-error'
  /** Upgrade, then stop reading the socket (`socket.pause()`), so the client's writes back up. */
  | 'stop-reading'
  /** Upgrade, then send Close (`closeCode`, `closeReason`); when the client's Close arrives, end TCP. */
  | 'close-first'
  /** Upgrade, then reset TCP (`socket.resetAndDestroy()`) after `afterMs`. Answers nothing else. */
  | 'reset'
  /** Upgrade, then send a frame with the reserved opcode 0x3: the client must fail with 1002. Answers Close like `echo`. */
  | 'invalid-frame'
  /** On the client's Close: send `lateMessages` texts `late-1`…, then Close (same code), then end TCP. */
  | 'data-after-close';

const MODES: readonly PeerMode[] = [
  'echo',
  'manual',
  'silent',
  'no-pong',
  'json-heartbeat',
  'no-upgrade',
  'http-error',
  'stop-reading',
  'close-first',
  'reset',
  'invalid-frame',
  'data-after-close',
];

/** Modes that complete the close handshake and fail the connection on a protocol error by themselves. */
const ANSWERS_CLOSE: ReadonlySet<PeerMode> = new Set([
  'echo',
  'json-heartbeat',
  'close-first',
  'invalid-frame',
  'data-after-close',
]);

/** Options of {@link startPeer}. */
export interface StartPeerOptions {
  /**
   * Behaviour on every connection.
   * @default 'echo'
   */
  mode?: PeerMode;
  /**
   * The only accepted host; anything else is refused (the peer is loopback only).
   * @default '127.0.0.1'
   */
  host?: '127.0.0.1';
  /**
   * HTTP status of the answer in `'http-error'` mode.
   * @default 400
   */
  status?: number;
  /**
   * Close code the peer sends first in `'close-first'` mode.
   * @default 1001
   */
  closeCode?: number;
  /**
   * Close reason the peer sends first in `'close-first'` mode.
   * @default 'going away'
   */
  closeReason?: string;
  /**
   * Delay between the upgrade and the TCP reset in `'reset'` mode, in ms.
   * @default 0
   */
  afterMs?: number;
  /**
   * Number of text messages (`late-1`, `late-2`, …) sent after the client's Close in `'data-after-close'` mode.
   * @default 3
   */
  lateMessages?: number;
  /**
   * Subprotocol answer (RFC 6455 §4.2.2 step 5.5): `undefined` selects the first one the client offers; a string is
   * always answered, offered or not (to test the client's check); `false` never answers one.
   * @default undefined
   */
  protocol?: string | false;
  /**
   * Connections open at the same time; further ones are destroyed on accept and not recorded.
   * @default 64
   */
  maxConnections?: number;
  /**
   * Largest message accepted from the client (sum of fragments); a larger one fails the connection with 1009.
   * @default 16 MiB
   */
  maxMessageBytes?: number;
  /**
   * Messages recorded per connection; later ones are still counted (`messageCount`) and echoed, not kept.
   * @default 10000
   */
  maxRecordedMessages?: number;
  /**
   * Answer Pings with Pongs (§5.5.2). `'silent'` and `'no-pong'` never answer, whatever this says.
   * @default true
   */
  autoPong?: boolean;
  /**
   * Pings answered per connection (with `autoPong`); later ones are recorded, never answered: a peer
   * that stops answering after `n` keepalives. `undefined` answers every one.
   * @default undefined
   */
  pongReplies?: number;
  /**
   * Heartbeats (`{"type":"ping"}`) answered per connection in `'json-heartbeat'` mode; later ones are
   * recorded, never answered: a peer that stops answering after `n`. `undefined` answers every one.
   * @default undefined
   */
  heartbeatReplies?: number;
}

/** Frame kinds, named as in {@link Opcode}. */
export type FrameKind = keyof typeof Opcode;

/** One frame as the peer received it: every frame, control frames and each fragment included. */
export interface PeerFrame {
  /** The opcode's name (`'ping'`, `'text'`, `'continuation'`, …). */
  kind: FrameKind;
  /** The opcode as on the wire. */
  opcode: number;
  /** FIN bit (§5.4). */
  fin: boolean;
  /** Payload length in bytes. */
  length: number;
  /** When it was read whole, in ms since the peer accepted the TCP connection. */
  elapsedMs: number;
}

/** The text message `'json-heartbeat'` answers, and its answer. */
export const HEARTBEAT_PING = '{"type":"ping"}';
export const HEARTBEAT_PONG = '{"type":"pong"}';

/** A data message as the peer received it. */
export interface PeerMessage {
  type: 'text' | 'binary';
  data: string | Uint8Array;
}

/** A Close frame's status: code 1005 when the frame had no payload (§7.1.5). */
export interface CloseStatus {
  code: number;
  reason: string;
}

/** The client's opening handshake request. Header names are lower-case; repeated headers become arrays. */
export interface PeerRequest {
  url: string;
  headers: RequestHeaders;
}

/** One accepted TCP connection, as the peer sees it. Every wait rejects with an Error naming what it waited for. */
export interface PeerConnection {
  /** Position in {@link Peer.connections}. */
  readonly index: number;
  /** The request head; `null` until it arrived. */
  readonly request: PeerRequest | null;
  /** Whether the peer answered 101 Switching Protocols. */
  readonly upgraded: boolean;
  /** Subprotocol the peer answered, or `null`. */
  readonly protocol: string | null;
  /** Data messages received, in order (the first `maxRecordedMessages`). */
  readonly messages: readonly PeerMessage[];
  /** Data messages received, including those not recorded. */
  readonly messageCount: number;
  /** The client's first Close (code 1005 when it had no payload), or `null`. */
  readonly closeFrame: CloseStatus | null;
  /** `messageCount` when the Close arrived: equal to the number of messages means every message came before it. */
  readonly closeFrameAt: number | null;
  /** The first Close the peer sent (code 1005 when sent without payload), or `null`. */
  readonly closeSent: CloseStatus | null;
  /** Why the peer failed the connection (§7.1.7), e.g. `{ code: 1009 }` for an oversized message, or `null`. */
  readonly failure: CloseStatus | null;
  /** Payloads of the Pings received from the client (the first `maxRecordedMessages`). */
  readonly pings: readonly Uint8Array[];
  /** Payloads of the Pongs received from the client (the first `maxRecordedMessages`). */
  readonly pongs: readonly Uint8Array[];
  /** Pongs the peer sent in answer to Pings. */
  readonly pongsSent: number;
  /** Every frame received whole, in order, with its opcode (the first `maxRecordedMessages`). */
  readonly frames: readonly PeerFrame[];
  /** Frames received per kind, including those not recorded, e.g. `frameCounts.ping`. */
  readonly frameCounts: Readonly<Record<FrameKind, number>>;
  /** Text messages that are JSON objects with `"type": "ping"` (counted in every mode). */
  readonly heartbeats: number;
  /** Heartbeats the peer answered with `{"type":"pong"}` (`'json-heartbeat'` mode). */
  readonly heartbeatsAnswered: number;
  /** The client ended its side of TCP (FIN seen). */
  readonly clientEnded: boolean;
  /** The peer's socket emitted 'close'. */
  readonly tcpClosed: boolean;
  /** Resolves once the peer answered 101; rejects if TCP closes first or after `timeoutMs` (default 2000). */
  whenUpgraded(timeoutMs?: number): Promise<void>;
  /** Resolves once `n` data messages arrived; rejects if TCP closes first or after `timeoutMs` (default 2000). */
  whenMessages(n: number, timeoutMs?: number): Promise<void>;
  /** Resolves with the client's Close; rejects if TCP closes first or after `timeoutMs` (default 2000). */
  whenCloseFrame(timeoutMs?: number): Promise<CloseStatus>;
  /** Resolves once the peer's socket emitted 'close'; rejects after `timeoutMs` (default 2000). */
  whenTcpClosed(timeoutMs?: number): Promise<void>;
  /** Resolves once `n` frames of `kind` arrived (e.g. `whenFrames('ping', 3)`); rejects if TCP closes first or after `timeoutMs` (default 2000). */
  whenFrames(kind: FrameKind, n: number, timeoutMs?: number): Promise<void>;
  /** Resolves once `n` heartbeats (`{"type":"ping"}`) arrived; rejects if TCP closes first or after `timeoutMs` (default 2000). */
  whenHeartbeats(n: number, timeoutMs?: number): Promise<void>;
  /** Sends a text message. Throws before the upgrade; a no-op once the socket cannot be written. */
  sendText(s: string): void;
  /** Sends a binary message. Throws before the upgrade; a no-op once the socket cannot be written. */
  sendBinary(b: Uint8Array): void;
  /** Sends a Ping (payload ≤ 125 bytes). */
  sendPing(data?: Uint8Array): void;
  /** Sends Close; no code → empty payload. Not validated, so tests can send what the RFC forbids. */
  sendClose(code?: number, reason?: string): void;
  /** Sends a frame with the reserved opcode 0x3 (§5.2). */
  sendInvalidFrame(): void;
  /** Writes raw bytes, upgraded or not (e.g. a malformed handshake answer, a hand-built frame). */
  sendRaw(bytes: Uint8Array): void;
  /** Stops reading the socket, so the client's writes back up. */
  stopReading(): void;
  /** Reads the socket again. */
  resumeReading(): void;
  /** Ends TCP: FIN (`socket.end()`). */
  end(): void;
  /** Resets TCP: RST (`socket.resetAndDestroy()`). */
  reset(): void;
}

/** A listening fault peer. */
export interface Peer {
  /** `ws://127.0.0.1:PORT` */
  readonly url: string;
  /** The TCP port the peer listens on, on 127.0.0.1. */
  readonly port: number;
  /** Every accepted connection, in order of acceptance. */
  readonly connections: readonly PeerConnection[];
  /** Connections destroyed on accept because `maxConnections` were open. */
  readonly droppedConnections: number;
  /**
   * Resolves with the next accepted connection not yet handed out (maybe already accepted);
   * rejects after `timeoutMs` (default 2000).
   */
  nextConnection(timeoutMs?: number): Promise<PeerConnection>;
  /** Stops listening, destroys every socket, clears every timer, rejects pending waits. Idempotent; bounded. */
  close(): Promise<void>;
}

/** Default for every wait, in ms. */
export const DEFAULT_TIMEOUT_MS = 2000;
const LOOPBACK = '127.0.0.1';
const CLOSE_BOUND_MS = 1000;

type Probe<T> = { value: T } | { error: string } | undefined;

interface PendingWait {
  check(): void;
  cancel(reason: string): void;
}

/** Pending waits: each re-checked on every change, each with its own timer, all cancelled by `closeAll`. */
class Waits {
  private readonly pending = new Set<PendingWait>();
  private closed = false;

  wait<T>(subject: string, what: string, timeoutMs: number | undefined, probe: () => Probe<T>): Promise<T> {
    const ms = timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const fail = (reason: string) => new Error(`${subject}: ${reason} while waiting for ${what}`);
    if (!Number.isFinite(ms) || ms < 0)
      return Promise.reject(new RangeError(`${subject}: bad timeout ${ms}`));
    const first = probe();
    if (first) return 'value' in first ? Promise.resolve(first.value) : Promise.reject(fail(first.error));
    if (this.closed) return Promise.reject(fail('the peer is closed'));
    return new Promise<T>((resolve, reject) => {
      const finish = () => {
        clearTimeout(timer);
        this.pending.delete(entry);
      };
      const entry: PendingWait = {
        check: () => {
          const result = probe();
          if (!result) return;
          finish();
          if ('value' in result) resolve(result.value);
          else reject(fail(result.error));
        },
        cancel: (reason) => {
          finish();
          reject(fail(reason));
        },
      };
      const timer = setTimeout(() => entry.cancel(`timed out after ${ms} ms`), ms);
      this.pending.add(entry);
    });
  }

  notify(): void {
    for (const entry of [...this.pending]) entry.check();
  }

  closeAll(reason: string): void {
    this.closed = true;
    for (const entry of [...this.pending]) entry.cancel(reason);
  }
}

interface ResolvedOptions {
  mode: PeerMode;
  status: number;
  closeCode: number;
  closeReason: string;
  afterMs: number;
  lateMessages: number;
  protocol: string | false | undefined;
  maxConnections: number;
  maxMessageBytes: number;
  maxRecordedMessages: number;
  autoPong: boolean;
  pongReplies: number;
  heartbeatReplies: number;
}

function resolveOptions(options: StartPeerOptions): ResolvedOptions {
  const host = options.host as string | undefined;
  if (host !== undefined && host !== LOOPBACK) {
    throw new Error(`startPeer: host must be ${LOOPBACK} (the fault peer is loopback only), got ${host}`);
  }
  const mode = options.mode ?? 'echo';
  if (!MODES.includes(mode)) throw new Error(`startPeer: unknown mode ${String(mode)}`);
  const count = (name: string, value: number | undefined, fallback: number, min: number): number => {
    const v = value ?? fallback;
    if (!Number.isInteger(v) || v < min)
      throw new RangeError(`startPeer: ${name} must be an integer ≥ ${min}, got ${v}`);
    return v;
  };
  return {
    mode,
    status: count('status', options.status, 400, 100),
    closeCode: count('closeCode', options.closeCode, 1001, 0),
    closeReason: options.closeReason ?? 'going away',
    afterMs: count('afterMs', options.afterMs, 0, 0),
    lateMessages: count('lateMessages', options.lateMessages, 3, 0),
    protocol: options.protocol,
    maxConnections: count('maxConnections', options.maxConnections, 64, 1),
    maxMessageBytes: count('maxMessageBytes', options.maxMessageBytes, DEFAULT_MAX_MESSAGE_BYTES, 0),
    maxRecordedMessages: count('maxRecordedMessages', options.maxRecordedMessages, 10_000, 0),
    autoPong: (options.autoPong ?? true) && mode !== 'silent' && mode !== 'no-pong',
    pongReplies:
      options.pongReplies === undefined
        ? Number.POSITIVE_INFINITY
        : count('pongReplies', options.pongReplies, 0, 0),
    heartbeatReplies:
      options.heartbeatReplies === undefined
        ? Number.POSITIVE_INFINITY
        : count('heartbeatReplies', options.heartbeatReplies, 0, 0),
  };
}

const OPCODE_KINDS: ReadonlyMap<number, FrameKind> = new Map(
  (Object.entries(Opcode) as [FrameKind, number][]).map(([kind, opcode]) => [opcode, kind]),
);

/** Whether a message is an application heartbeat: a text JSON object with `"type": "ping"`. */
function isHeartbeat(message: PeerMessage): boolean {
  if (typeof message.data !== 'string' || !message.data.includes('ping')) return false;
  try {
    const value: unknown = JSON.parse(message.data);
    return typeof value === 'object' && value !== null && (value as { type?: unknown }).type === 'ping';
  } catch {
    return false;
  }
}

class Connection implements PeerConnection {
  request: PeerRequest | null = null;
  upgraded = false;
  protocol: string | null = null;
  readonly messages: PeerMessage[] = [];
  messageCount = 0;
  closeFrame: CloseStatus | null = null;
  closeFrameAt: number | null = null;
  closeSent: CloseStatus | null = null;
  failure: CloseStatus | null = null;
  readonly pings: Uint8Array[] = [];
  readonly pongs: Uint8Array[] = [];
  pongsSent = 0;
  readonly frames: PeerFrame[] = [];
  readonly frameCounts: Record<FrameKind, number> = {
    continuation: 0,
    text: 0,
    binary: 0,
    close: 0,
    ping: 0,
    pong: 0,
  };
  heartbeats = 0;
  heartbeatsAnswered = 0;
  clientEnded = false;
  tcpClosed = false;
  /** 'head' until the request head is read, then 'frames' (upgraded) or 'ignore'. */
  private phase: 'head' | 'frames' | 'ignore' = 'head';
  private head: Buffer = Buffer.alloc(0);
  private readonly reader: FrameReader;
  private resetTimer: NodeJS.Timeout | undefined;
  private readonly subject: string;
  private readonly acceptedAt = performance.now();
  private markClosed: () => void = () => {};
  /** Resolves on the socket's 'close'; never rejects (used by the peer's shutdown). */
  readonly closed = new Promise<void>((resolve) => {
    this.markClosed = resolve;
  });

  constructor(
    readonly index: number,
    private readonly socket: Socket,
    private readonly options: ResolvedOptions,
    private readonly waits: Waits,
  ) {
    this.subject = `peer connection #${index}`;
    this.reader = new FrameReader({
      maxMessageBytes: options.maxMessageBytes,
      onFrame: (frame) => this.onFrame(frame),
    });
    // Every socket listener is wired here, in one place (as ws's setSocket()).
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => this.onEnd());
    socket.on('error', () => {
      // ECONNRESET / EPIPE from a client that went away: 'close' follows and records it.
    });
    socket.on('close', () => this.onClose());
  }

  // ---- waits ----

  whenUpgraded(timeoutMs?: number): Promise<void> {
    return this.waits.wait(this.subject, 'the upgrade (101)', timeoutMs, () =>
      this.upgraded ? { value: undefined } : this.tcpClosed ? { error: 'TCP closed' } : undefined,
    );
  }

  whenMessages(n: number, timeoutMs?: number): Promise<void> {
    return this.waits.wait(this.subject, `${n} message(s)`, timeoutMs, () =>
      this.messageCount >= n
        ? { value: undefined }
        : this.tcpClosed || this.closeFrame || this.failure
          ? { error: `the connection ended after ${this.messageCount} message(s)` }
          : undefined,
    );
  }

  whenCloseFrame(timeoutMs?: number): Promise<CloseStatus> {
    return this.waits.wait<CloseStatus>(this.subject, "the client's Close frame", timeoutMs, () => {
      const frame = this.closeFrame;
      return frame ? { value: frame } : this.tcpClosed ? { error: 'TCP closed' } : undefined;
    });
  }

  whenTcpClosed(timeoutMs?: number): Promise<void> {
    return this.waits.wait(this.subject, 'TCP to close', timeoutMs, () =>
      this.tcpClosed ? { value: undefined } : undefined,
    );
  }

  whenFrames(kind: FrameKind, n: number, timeoutMs?: number): Promise<void> {
    if (!(kind in Opcode))
      return Promise.reject(new RangeError(`${this.subject}: unknown frame kind ${kind}`));
    return this.waits.wait(this.subject, `${n} ${kind} frame(s)`, timeoutMs, () =>
      this.frameCounts[kind] >= n
        ? { value: undefined }
        : this.tcpClosed
          ? { error: `TCP closed after ${this.frameCounts[kind]} ${kind} frame(s)` }
          : undefined,
    );
  }

  whenHeartbeats(n: number, timeoutMs?: number): Promise<void> {
    return this.waits.wait(this.subject, `${n} heartbeat(s)`, timeoutMs, () =>
      this.heartbeats >= n
        ? { value: undefined }
        : this.tcpClosed
          ? { error: `TCP closed after ${this.heartbeats} heartbeat(s)` }
          : undefined,
    );
  }

  // ---- commands ----

  sendText(s: string): void {
    this.sendData(Opcode.text, Buffer.from(s, 'utf8'));
  }

  sendBinary(b: Uint8Array): void {
    this.sendData(Opcode.binary, b);
  }

  sendPing(data: Uint8Array = new Uint8Array(0)): void {
    this.sendData(Opcode.ping, data);
  }

  sendClose(code?: number, reason = ''): void {
    this.sendData(Opcode.close, encodeClosePayload(code, reason));
    this.closeSent ??= { code: code ?? 1005, reason: code === undefined ? '' : reason };
  }

  sendInvalidFrame(): void {
    this.sendData(RESERVED_OPCODE, new Uint8Array(0));
  }

  sendRaw(bytes: Uint8Array): void {
    if (this.writable()) this.socket.write(bytes);
  }

  stopReading(): void {
    this.socket.pause();
  }

  resumeReading(): void {
    this.socket.resume();
  }

  end(): void {
    if (!this.socket.destroyed) this.socket.end();
  }

  reset(): void {
    if (!this.socket.destroyed) this.socket.resetAndDestroy();
  }

  /** Peer shutdown: destroy the socket and cancel the reset timer. */
  destroy(): void {
    clearTimeout(this.resetTimer);
    this.socket.destroy();
  }

  private writable(): boolean {
    return !this.socket.destroyed && !this.socket.writableEnded;
  }

  private sendData(opcode: number, payload: Uint8Array): void {
    if (!this.upgraded) throw new Error(`${this.subject}: cannot send a frame before the upgrade`);
    // §5.1: a server must not mask the frames it sends.
    if (this.writable()) this.socket.write(encodeFrame(opcode, payload));
  }

  // ---- socket events ----

  private onData(chunk: Buffer): void {
    if (this.phase === 'frames') this.onFrameBytes(chunk);
    else if (this.phase === 'head') this.onHeadBytes(chunk);
    // 'ignore': discarded, so nothing grows.
  }

  private onHeadBytes(chunk: Buffer): void {
    this.head = this.head.length === 0 ? chunk : Buffer.concat([this.head, chunk]);
    const end = this.head.indexOf('\r\n\r\n');
    if (end === -1 && this.head.length <= MAX_REQUEST_HEAD_BYTES) return;
    if (end === -1 || end + 4 > MAX_REQUEST_HEAD_BYTES) {
      // Bounded read of the head: refuse it (RFC 6585 §5, 431).
      this.head = Buffer.alloc(0);
      this.phase = 'ignore';
      this.answerHttp(431, 'request head larger than 16 KiB');
      return;
    }
    const rest = this.head.subarray(end + 4);
    const parsed = parseRequestHead(this.head.subarray(0, end).toString('latin1'));
    this.head = Buffer.alloc(0);
    this.phase = 'ignore';
    const head = parsed.head;
    if (head) this.request = { url: head.url, headers: head.headers };
    this.waits.notify();

    const { mode } = this.options;
    if (mode === 'no-upgrade') return;
    if (mode === 'http-error') {
      this.answerHttp(this.options.status, 'refused by the fault peer');
      return;
    }
    if (!parsed.ok || !head) {
      // §4.2.2: a request that is not a valid opening handshake gets an HTTP error, no upgrade.
      this.answerHttp(parsed.ok ? 400 : parsed.status, parsed.ok ? 'bad request' : parsed.reason);
      return;
    }
    this.upgrade(head.headers);
    if (rest.length > 0) this.onFrameBytes(rest);
  }

  /** §4.2.2 step 5: the server's opening handshake, then the mode's first move. */
  private upgrade(headers: RequestHeaders): void {
    const offered = offeredProtocols(headers);
    const choice = this.options.protocol;
    this.protocol = choice === false ? null : (choice ?? offered[0] ?? null);
    const lines = [
      'HTTP/1.1 101 Switching Protocols',
      'Upgrade: websocket',
      'Connection: Upgrade',
      `Sec-WebSocket-Accept: ${acceptKey(headerValue(headers, 'sec-websocket-key') ?? '')}`,
      // §4.2.2 step 5.5: at most one subprotocol. Step 5.6 (extensions) is never answered: no permessage-deflate.
      ...(this.protocol === null ? [] : [`Sec-WebSocket-Protocol: ${this.protocol}`]),
    ];
    this.socket.write(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
    this.upgraded = true;
    this.phase = 'frames';
    this.waits.notify();

    switch (this.options.mode) {
      case 'stop-reading':
        this.socket.pause();
        break;
      case 'close-first':
        this.sendClose(this.options.closeCode, this.options.closeReason);
        break;
      case 'reset':
        this.resetTimer = setTimeout(() => this.reset(), this.options.afterMs);
        break;
      case 'invalid-frame':
        this.sendInvalidFrame();
        break;
    }
  }

  private answerHttp(status: number, body: string): void {
    const text = Buffer.from(`${body}\n`, 'utf8');
    const lines = [
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`,
      'Connection: close',
      'Content-Type: text/plain; charset=utf-8',
      `Content-Length: ${text.length}`,
      // §4.4: an unsupported version is answered with the versions we speak.
      ...(status === 426 ? ['Sec-WebSocket-Version: 13'] : []),
    ];
    if (!this.writable()) return;
    this.socket.write(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
    this.socket.end(text);
  }

  private onFrameBytes(chunk: Buffer): void {
    for (const event of this.reader.receive(chunk)) {
      switch (event.type) {
        case 'text':
        case 'binary':
          this.onMessage(event);
          break;
        case 'ping':
          if (this.pings.length < this.options.maxRecordedMessages) this.pings.push(event.data);
          // §5.5.2: answer a Ping with a Pong carrying the same payload.
          if (this.options.autoPong && this.closeSent === null && this.pongsSent < this.options.pongReplies) {
            this.pongsSent++;
            this.sendData(Opcode.pong, event.data);
          }
          break;
        case 'pong':
          if (this.pongs.length < this.options.maxRecordedMessages) this.pongs.push(event.data);
          break;
        case 'close':
          this.onCloseFrame({ code: event.code, reason: event.reason });
          break;
        case 'fail':
          this.failConnection(event);
          break;
      }
    }
    this.waits.notify();
  }

  private onFrame(frame: FrameInfo): void {
    const kind = OPCODE_KINDS.get(frame.opcode);
    // The reader fails on reserved opcodes before a frame is whole, so every frame seen here has a kind.
    if (kind === undefined) return;
    this.frameCounts[kind]++;
    if (this.frames.length < this.options.maxRecordedMessages) {
      this.frames.push({ kind, ...frame, elapsedMs: performance.now() - this.acceptedAt });
    }
  }

  private onMessage(message: PeerMessage): void {
    this.messageCount++;
    if (this.messages.length < this.options.maxRecordedMessages) this.messages.push(message);
    const { mode } = this.options;
    const heartbeat = isHeartbeat(message);
    if (heartbeat) this.heartbeats++;
    // §5.5.1: no data after our Close.
    if (this.closeSent !== null) return;
    if (mode === 'json-heartbeat' && heartbeat) {
      if (this.heartbeatsAnswered >= this.options.heartbeatReplies) return;
      this.heartbeatsAnswered++;
      this.sendText(HEARTBEAT_PONG);
      return;
    }
    if (mode !== 'echo' && mode !== 'json-heartbeat') return;
    if (typeof message.data === 'string') this.sendText(message.data);
    else this.sendBinary(message.data);
  }

  private onCloseFrame(frame: CloseStatus): void {
    this.closeFrame ??= frame;
    this.closeFrameAt ??= this.messageCount;
    // §7.4.1: 1005, 1006, 1015 and unassigned codes must not be on the wire.
    if (frame.code !== 1005 && !isSendableCloseCode(frame.code)) {
      this.failConnection({ code: 1002, reason: `invalid close code ${frame.code}` });
      return;
    }
    const { mode } = this.options;
    if (!ANSWERS_CLOSE.has(mode)) return;
    if (mode === 'data-after-close' && this.closeSent === null) {
      for (let i = 1; i <= this.options.lateMessages; i++) this.sendText(`late-${i}`);
    }
    // §5.5.1: answer Close with Close, echoing the status code; §7.1.1: the server then closes TCP first.
    if (this.closeSent === null) {
      if (frame.code === 1005) this.sendClose();
      else this.sendClose(frame.code, frame.reason);
    }
    this.end();
  }

  /** §7.1.7 Fail the WebSocket Connection: send Close with the code (if none sent yet), then close TCP. */
  private failConnection(failure: CloseStatus): void {
    this.failure ??= failure;
    if (!ANSWERS_CLOSE.has(this.options.mode)) return;
    if (this.closeSent === null) this.sendClose(failure.code, failure.reason.slice(0, 123));
    this.end();
  }

  private onEnd(): void {
    this.clientEnded = true;
    // allowHalfOpen: only modes that act on their own answer the client's FIN with theirs.
    if (ANSWERS_CLOSE.has(this.options.mode)) this.end();
    this.waits.notify();
  }

  private onClose(): void {
    clearTimeout(this.resetTimer);
    this.tcpClosed = true;
    this.markClosed();
    this.waits.notify();
  }
}

/**
 * Starts a fault peer on 127.0.0.1, on a free port.
 *
 * @example
 * const peer = await startPeer({ mode: 'silent' });
 * const ws = new WebSocket(peer.url);
 * const conn = await peer.nextConnection();
 * await conn.whenUpgraded();
 * // ... drive the client, inspect conn.messages / conn.closeFrame ...
 * await peer.close();
 */
export async function startPeer(options: StartPeerOptions = {}): Promise<Peer> {
  const resolved = resolveOptions(options);
  const waits = new Waits();
  const connections: Connection[] = [];
  let handedOut = 0;
  let dropped = 0;
  let closing: Promise<void> | undefined;

  const server: Server = createServer({ allowHalfOpen: true });
  server.on('connection', (socket) => {
    const open = connections.filter((c) => !c.tcpClosed).length;
    if (closing || open >= resolved.maxConnections) {
      dropped++;
      socket.on('error', () => {});
      socket.destroy();
      return;
    }
    connections.push(new Connection(connections.length, socket, resolved, waits));
    waits.notify();
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, LOOPBACK, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', () => {
    // After listen, errors can only concern accepted sockets, which have their own handlers.
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('startPeer: no TCP address');
  const port = address.port;

  return {
    url: `ws://${LOOPBACK}:${port}`,
    port,
    connections,
    get droppedConnections() {
      return dropped;
    },
    nextConnection(timeoutMs?: number): Promise<PeerConnection> {
      return waits.wait('peer', 'the next connection', timeoutMs, () => {
        const next = connections[handedOut];
        if (next === undefined) return undefined;
        handedOut++;
        return { value: next };
      });
    },
    close(): Promise<void> {
      closing ??= new Promise<void>((resolve) => {
        // Bounded: resolves when the server and every socket closed, or after CLOSE_BOUND_MS at most.
        const bound = setTimeout(resolve, CLOSE_BOUND_MS);
        const serverClosed = new Promise<void>((done) => server.close(() => done()));
        for (const c of connections) c.destroy();
        waits.closeAll('the peer closed');
        void Promise.all([serverClosed, ...connections.map((c) => c.closed)]).then(() => {
          clearTimeout(bound);
          resolve();
        });
      });
      return closing;
    },
  };
}

/**
 * A `ws://127.0.0.1:PORT` URL nobody listens on: the port was just bound and released, so connecting
 * is refused (ECONNREFUSED), unless another process takes the port in between.
 */
export async function refusedUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, LOOPBACK, resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('refusedUrl: no TCP address');
  return `ws://${LOOPBACK}:${address.port}`;
}
