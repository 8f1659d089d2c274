/**
 * RFC 6455 wire codec for the fault peer: the opening handshake (§4) and framing (§5), with no I/O.
 *
 * Bytes go in ({@link FrameReader.receive}), events come out; frames are built by {@link encodeFrame}.
 * Nothing here reads a clock or touches a socket, so every rule can be tested by feeding bytes.
 *
 * @module
 */

import { createHash, randomBytes } from 'node:crypto';

/** The GUID appended to `Sec-WebSocket-Key` (RFC 6455 §1.3, §4.2.2). */
export const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** Largest request head the peer reads before refusing the handshake: 16 KiB. */
export const MAX_REQUEST_HEAD_BYTES = 16 * 1024;

/** Largest message (sum of its fragments) the peer accepts by default: 16 MiB. */
export const DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

/** Frame opcodes (RFC 6455 §5.2, §11.8). */
export const Opcode = {
  continuation: 0x0,
  text: 0x1,
  binary: 0x2,
  close: 0x8,
  ping: 0x9,
  pong: 0xa,
} as const;

/** A reserved, undefined opcode (RFC 6455 §5.2: 0x3–0x7 are reserved for further non-control frames). */
export const RESERVED_OPCODE = 0x3;

/**
 * `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key` (RFC 6455 §4.2.2 step 5.4):
 * base64(SHA-1(key + GUID)).
 *
 * @example
 * acceptKey('dGhlIHNhbXBsZSBub25jZQ=='); // 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=' (the §1.3 example)
 */
export function acceptKey(key: string): string {
  return createHash('sha1')
    .update(key + WEBSOCKET_GUID)
    .digest('base64');
}

/** Headers as the peer records them: lower-case names; a header sent more than once becomes an array. */
export type RequestHeaders = Record<string, string | string[] | undefined>;

/** A parsed HTTP request head. */
export interface RequestHead {
  method: string;
  url: string;
  version: string;
  headers: RequestHeaders;
}

/** Result of {@link parseRequestHead}: the head, or the HTTP status the server must answer with. */
export type HeadResult =
  | { ok: true; head: RequestHead }
  /** `head` is present when the head parsed but is not a valid opening handshake. */
  | { ok: false; status: number; reason: string; head?: RequestHead };

/** Reads a header that may have been sent several times as one comma-separated string. */
export function headerValue(headers: RequestHeaders, name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value.join(', ') : value;
}

function hasToken(value: string | undefined, token: string): boolean {
  return (value ?? '').split(',').some((part) => part.trim().toLowerCase() === token);
}

/**
 * Parses an HTTP/1.1 request head (without the final CRLF CRLF) and checks the opening handshake
 * (RFC 6455 §4.2.1). A head that parses but is not a valid upgrade yields the status to answer with.
 */
export function parseRequestHead(text: string): HeadResult {
  const lines = text.split('\r\n');
  const [method, url, version, ...extra] = (lines[0] ?? '').split(' ');
  if (!method || !url || !version || extra.length > 0 || !/^HTTP\/\d\.\d$/.test(version)) {
    return { ok: false, status: 400, reason: 'malformed request line' };
  }
  const headers: RequestHeaders = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    // Obsolete line folding (leading whitespace) is refused, as RFC 9112 §5.2 allows.
    if (colon <= 0 || /^[ \t]/.test(line)) return { ok: false, status: 400, reason: 'malformed header line' };
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    const previous = headers[name];
    headers[name] =
      previous === undefined ? value : [...(Array.isArray(previous) ? previous : [previous]), value];
  }
  const head: RequestHead = { method, url, version, headers };
  // §4.2.1 items 1–6: GET, HTTP/1.1 or higher, Host, Upgrade: websocket, Connection: Upgrade, a key.
  if (method !== 'GET') return { ok: false, status: 405, reason: 'method must be GET', head };
  if (version === 'HTTP/1.0' || version.startsWith('HTTP/0')) {
    return { ok: false, status: 400, reason: 'HTTP/1.1 or higher required', head };
  }
  if (headerValue(headers, 'host') === undefined)
    return { ok: false, status: 400, reason: 'missing Host', head };
  if (!hasToken(headerValue(headers, 'upgrade'), 'websocket')) {
    return { ok: false, status: 400, reason: 'missing Upgrade: websocket', head };
  }
  if (!hasToken(headerValue(headers, 'connection'), 'upgrade')) {
    return { ok: false, status: 400, reason: 'missing Connection: Upgrade', head };
  }
  const key = headerValue(headers, 'sec-websocket-key');
  // §4.1: the key is a base64-encoded 16-byte nonce.
  if (key === undefined || !/^[A-Za-z0-9+/]{22}==$/.test(key)) {
    return { ok: false, status: 400, reason: 'missing or invalid Sec-WebSocket-Key', head };
  }
  // §4.2.1 item 6 and §4.4: an unsupported version is answered 426 with the versions we speak.
  if (headerValue(headers, 'sec-websocket-version') !== '13') {
    return { ok: false, status: 426, reason: 'Sec-WebSocket-Version must be 13', head };
  }
  return { ok: true, head };
}

/** The subprotocols a request offers (RFC 6455 §4.1 item 10), in order. */
export function offeredProtocols(headers: RequestHeaders): string[] {
  return (headerValue(headers, 'sec-websocket-protocol') ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
}

/** Options for {@link encodeFrame}. */
export interface EncodeFrameOptions {
  /**
   * FIN bit: false for every fragment of a message but the last (§5.4).
   * @default true
   */
  fin?: boolean;
  /**
   * Mask the payload (§5.3): `true` for a random key, or the 4-byte key. Servers never mask (§5.1);
   * clients must, so tests use this to play a raw client.
   * @default false
   */
  mask?: boolean | Uint8Array;
  /**
   * RSV1–3 bits as a 3-bit number (RSV1 = 4). Non-zero without a negotiated extension is a protocol error.
   * @default 0
   */
  rsv?: number;
}

/**
 * Builds one frame (RFC 6455 §5.2). Nothing is validated, so tests can build frames the RFC forbids
 * (oversized control frames, reserved opcodes).
 */
export function encodeFrame(
  opcode: number,
  payload: Uint8Array = new Uint8Array(0),
  options: EncodeFrameOptions = {},
): Buffer {
  const { fin = true, mask = false, rsv = 0 } = options;
  const key = mask === true ? randomBytes(4) : mask === false ? undefined : mask;
  const length = payload.length;
  // §5.2: payload length in 7 bits, or 126 + 16 bits, or 127 + 64 bits (most significant bit 0).
  const extended = length < 126 ? 0 : length < 0x10000 ? 2 : 8;
  const headerLength = 2 + extended + (key ? 4 : 0);
  const frame = Buffer.allocUnsafe(headerLength + length);
  frame[0] = (fin ? 0x80 : 0) | ((rsv & 0x7) << 4) | (opcode & 0xf);
  frame[1] = (key ? 0x80 : 0) | (extended === 0 ? length : extended === 2 ? 126 : 127);
  if (extended === 2) frame.writeUInt16BE(length, 2);
  if (extended === 8) frame.writeBigUInt64BE(BigInt(length), 2);
  if (key) {
    frame.set(key.subarray(0, 4), 2 + extended);
    for (let i = 0; i < length; i++) frame[headerLength + i] = (payload[i] ?? 0) ^ (key[i & 3] ?? 0);
  } else {
    frame.set(payload, headerLength);
  }
  return frame;
}

/** Close frame payload (§5.5.1): no code → empty payload; else 2-byte code + UTF-8 reason. Not validated. */
export function encodeClosePayload(code?: number, reason = ''): Uint8Array {
  if (code === undefined) return new Uint8Array(0);
  const text = Buffer.from(reason, 'utf8');
  const payload = Buffer.allocUnsafe(2 + text.length);
  payload.writeUInt16BE(code & 0xffff, 0);
  text.copy(payload, 2);
  return payload;
}

/**
 * Whether a close code may appear in a Close frame (RFC 6455 §7.4.1, §7.4.2 and the IANA registry):
 * 1000–1003, 1007–1014, 3000–4999. 1004, 1005, 1006 and 1015 must never be sent.
 */
export function isSendableCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

/** What {@link FrameReader.receive} produces. */
export type FrameEvent =
  | { type: 'text'; data: string }
  | { type: 'binary'; data: Uint8Array }
  | { type: 'ping'; data: Uint8Array }
  | { type: 'pong'; data: Uint8Array }
  /** A Close frame; code 1005 when it had no payload (§7.1.5). */
  | { type: 'close'; code: number; reason: string }
  /** The reader must _Fail the WebSocket Connection_ (§7.1.7) with this close code; it reads nothing more. */
  | { type: 'fail'; code: number; reason: string };

/** One frame as it came off the wire, before reassembly (§5.2): what {@link FrameReaderOptions.onFrame} sees. */
export interface FrameInfo {
  /** The frame's opcode ({@link Opcode}): 0x0 for a continuation, 0x9 for a Ping, … */
  opcode: number;
  /** The FIN bit: false for every fragment of a message but the last (§5.4). */
  fin: boolean;
  /** Payload length in bytes. */
  length: number;
}

/** Options for {@link FrameReader}. */
export interface FrameReaderOptions {
  /**
   * Largest message, summed over its fragments; a larger one fails the connection with 1009 as soon
   * as a frame header announces it, before its payload is buffered.
   * @default 16 MiB
   */
  maxMessageBytes?: number;
  /**
   * Require masked frames, as a server must (§5.1).
   * @default true
   */
  requireMask?: boolean;
  /**
   * Called for every frame read whole, data and control frames alike, fragments one by one, before
   * the event it completes; not for a frame the reader fails on, nor for anything after a Close.
   * @default undefined
   */
  onFrame?: (frame: FrameInfo) => void;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Incremental frame parser (RFC 6455 §5): feed it bytes, get messages and control frames.
 * Buffering is bounded by one frame of at most `maxMessageBytes` plus its 14-byte header.
 * After a `fail` or a `close` event it discards everything (§5.5.1: nothing follows a Close).
 */
export class FrameReader {
  private readonly maxMessageBytes: number;
  private readonly requireMask: boolean;
  private readonly onFrame: ((frame: FrameInfo) => void) | undefined;
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Opcode and fragments of the data message in progress (§5.4). */
  private fragmentsOpcode: number | null = null;
  private fragments: Uint8Array[] = [];
  private fragmentsBytes = 0;
  private done = false;

  constructor(options: FrameReaderOptions = {}) {
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.requireMask = options.requireMask ?? true;
    this.onFrame = options.onFrame;
  }

  /** Feeds bytes; returns the events they complete, in order. */
  receive(chunk: Uint8Array): FrameEvent[] {
    if (this.done || chunk.length === 0) return [];
    this.chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length));
    this.buffered += chunk.length;
    const events: FrameEvent[] = [];
    while (!this.done) {
      const event = this.next();
      if (event === null) break;
      if (event !== undefined) events.push(event);
    }
    return events;
  }

  private fail(code: number, reason: string): FrameEvent {
    this.done = true;
    this.chunks = [];
    this.buffered = 0;
    this.fragments = [];
    return { type: 'fail', code, reason };
  }

  /** The first `n` buffered bytes (n ≤ 14 in practice), copying only the chunks that hold them. */
  private peek(n: number): Buffer {
    const first = this.chunks[0];
    if (first && first.length >= n) return first.subarray(0, n);
    const parts: Buffer[] = [];
    let got = 0;
    for (const chunk of this.chunks) {
      parts.push(chunk);
      got += chunk.length;
      if (got >= n) break;
    }
    return Buffer.concat(parts, got).subarray(0, n);
  }

  private consume(n: number): Buffer {
    const first = this.chunks[0];
    let out: Buffer;
    if (first && first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      const all = Buffer.concat(this.chunks, this.buffered);
      out = all.subarray(0, n);
      this.chunks = all.length > n ? [all.subarray(n)] : [];
    }
    this.buffered -= n;
    return out;
  }

  /** One frame: an event, `undefined` for a frame that completes nothing, `null` when more bytes are needed. */
  private next(): FrameEvent | undefined | null {
    if (this.buffered < 2) return null;
    const [b0 = 0, b1 = 0] = this.peek(2);
    const fin = (b0 & 0x80) !== 0;
    const rsv = (b0 >> 4) & 0x7;
    const opcode = b0 & 0xf;
    const masked = (b1 & 0x80) !== 0;
    const length7 = b1 & 0x7f;
    const extended = length7 === 126 ? 2 : length7 === 127 ? 8 : 0;
    const headerLength = 2 + extended + (masked ? 4 : 0);
    if (this.buffered < headerLength) return null;
    const header = this.peek(headerLength);

    // §5.2: RSV bits must be 0 unless an extension defines them; the peer never negotiates one.
    if (rsv !== 0) return this.fail(1002, 'RSV bits set without a negotiated extension');
    const isControl = (opcode & 0x8) !== 0;
    // §5.2: opcodes 0x3–0x7 and 0xB–0xF are reserved.
    if (opcode > Opcode.binary && !isControl)
      return this.fail(1002, `reserved opcode 0x${opcode.toString(16)}`);
    if (opcode > Opcode.pong) return this.fail(1002, `reserved opcode 0x${opcode.toString(16)}`);
    // §5.1: a server must close the connection on an unmasked client frame.
    if (this.requireMask && !masked) return this.fail(1002, 'client frame is not masked');

    let length: number;
    if (extended === 2) length = header.readUInt16BE(2);
    else if (extended === 8) {
      const big = header.readBigUInt64BE(2);
      // §5.2: the most significant bit of the 64-bit length must be 0.
      if (big >> 63n !== 0n) return this.fail(1002, '64-bit length has its most significant bit set');
      length = big > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(big);
    } else length = length7;

    if (isControl) {
      // §5.5: control frames have payloads of at most 125 bytes and must not be fragmented.
      if (length > 125) return this.fail(1002, 'control frame payload longer than 125 bytes');
      if (!fin) return this.fail(1002, 'fragmented control frame');
    } else {
      // §5.4: a continuation needs a message in progress; a new data frame needs none in progress.
      if (opcode === Opcode.continuation && this.fragmentsOpcode === null) {
        return this.fail(1002, 'continuation frame without a message in progress');
      }
      if (opcode !== Opcode.continuation && this.fragmentsOpcode !== null) {
        return this.fail(1002, 'new data frame while a fragmented message is in progress');
      }
      // §10.4: limit what we buffer; 1009 "message too big" (§7.4.1).
      if (this.fragmentsBytes + length > this.maxMessageBytes) {
        return this.fail(1009, `message longer than ${this.maxMessageBytes} bytes`);
      }
    }
    if (this.buffered < headerLength + length) return null;

    this.consume(headerLength);
    const raw = this.consume(length);
    const payload = new Uint8Array(length);
    if (masked) {
      // §5.3: unmask with the 4-byte key that ends the header.
      const k = header.subarray(headerLength - 4);
      for (let i = 0; i < length; i++) payload[i] = (raw[i] ?? 0) ^ (k[i & 3] ?? 0);
    } else payload.set(raw);
    this.onFrame?.({ opcode, fin, length });

    switch (opcode) {
      case Opcode.ping:
        return { type: 'ping', data: payload };
      case Opcode.pong:
        return { type: 'pong', data: payload };
      case Opcode.close:
        return this.close(payload);
    }
    if (opcode !== Opcode.continuation) this.fragmentsOpcode = opcode;
    this.fragments.push(payload);
    this.fragmentsBytes += length;
    if (!fin) return undefined;
    const type = this.fragmentsOpcode;
    const data = this.fragments.length === 1 ? payload : Buffer.concat(this.fragments, this.fragmentsBytes);
    this.fragmentsOpcode = null;
    this.fragments = [];
    this.fragmentsBytes = 0;
    if (type === Opcode.binary)
      return { type: 'binary', data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
    try {
      return { type: 'text', data: strictUtf8.decode(data) };
    } catch {
      // §8.1: invalid UTF-8 in a text message fails the connection with 1007.
      return this.fail(1007, 'text message is not valid UTF-8');
    }
  }

  private close(payload: Uint8Array): FrameEvent {
    // §5.5.1: after a Close nothing more is read.
    this.done = true;
    this.chunks = [];
    this.buffered = 0;
    // §7.1.5: no status code → 1005. §5.5.1: a body of 1 byte cannot hold a code.
    if (payload.length === 0) return { type: 'close', code: 1005, reason: '' };
    if (payload.length === 1) return this.fail(1002, 'Close payload of 1 byte');
    const code = (payload[0] ?? 0) * 256 + (payload[1] ?? 0);
    let reason: string;
    try {
      reason = strictUtf8.decode(payload.subarray(2));
    } catch {
      return this.fail(1007, 'Close reason is not valid UTF-8');
    }
    return { type: 'close', code, reason };
  }
}
