/**
 * A scriptable WebSocket client on raw `node:net` (127.0.0.1 only), for driving the server side
 * through every edge: it can answer a Close or never answer, stop reading, send an invalid frame, end
 * or reset TCP, and it records exactly what came over the wire (frames, whether they were masked, the
 * server's FIN). The wire rules are src/testing/frames.ts.
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import {
  acceptKey,
  encodeClosePayload,
  encodeFrame,
  type FrameEvent,
  FrameReader,
  Opcode,
  RESERVED_OPCODE,
} from '../../src/testing/frames.js';
import { waitFor } from '../helpers.js';

export type RawClientMode =
  /** Answers pings and the server's Close (echoing its code), then ends TCP after the server's FIN. */
  | 'polite'
  /** Completes the upgrade, then never reads again: no Pong, no Close answer, no FIN. */
  | 'silent'
  /** Reads and records, answers nothing on its own: the test drives it. */
  | 'manual';

export interface RawClientOptions {
  mode?: RawClientMode;
  /** Sec-WebSocket-Protocol to offer. */
  protocols?: string[];
  /** Path of the request. @default '/' */
  path?: string;
  /** Deadline for the handshake answer, ms. @default 2000 */
  timeoutMs?: number;
}

export interface HandshakeAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface RawClient {
  socket: Socket;
  answer: HandshakeAnswer;
  /** Frames received, in order. */
  frames: FrameEvent[];
  /** The server's Close, once it arrived. */
  closeFrame: { code: number; reason: string } | null;
  /** Every frame from the server had the mask bit clear (RFC 6455 §5.1). */
  allUnmasked: boolean;
  /** When each ping from the server arrived (performance.now()). */
  pingTimes: number[];
  /** The server ended TCP (its FIN arrived), and when (performance.now()). */
  serverEnded: boolean;
  serverEndedAt: number | null;
  /** We sent our FIN / our Close. */
  clientEnded: boolean;
  closeSentAt: number | null;
  /** The TCP socket is closed, and whether with an error (a reset). */
  tcpClosed: boolean;
  tcpError: string | null;
  send(text: string): void;
  sendBinary(bytes: Uint8Array): void;
  sendPing(): void;
  sendClose(code?: number, reason?: string): void;
  /** A frame with a reserved opcode: the server must fail the connection with 1002 (§5.2). */
  sendInvalidFrame(): void;
  stopReading(): void;
  resumeReading(): void;
  /** Our FIN. */
  end(): void;
  /** A TCP reset. */
  reset(): void;
  messages(): Array<string | Uint8Array>;
  /** Resolves once `predicate` holds (polling), rejects after `ms`. */
  until(predicate: () => boolean, ms?: number, what?: string): Promise<void>;
  destroy(): void;
}

/** Opens a raw connection to `url` (`ws://127.0.0.1:<port>`) and completes (or tries) the handshake. */
export async function connectRaw(url: string, options: RawClientOptions = {}): Promise<RawClient> {
  const { mode = 'polite', protocols, path = '/', timeoutMs = 2000 } = options;
  const { hostname, port } = new URL(url);
  if (hostname !== '127.0.0.1') throw new Error('raw client: loopback only');
  const socket = connect({ host: hostname, port: Number(port), allowHalfOpen: true });
  const key = randomBytes(16).toString('base64');
  const request = [
    `GET ${path} HTTP/1.1`,
    `Host: 127.0.0.1:${port}`,
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Key: ${key}`,
    'Sec-WebSocket-Version: 13',
    ...(protocols ? [`Sec-WebSocket-Protocol: ${protocols.join(', ')}`] : []),
    '',
    '',
  ].join('\r\n');

  const reader = new FrameReader({ requireMask: false });
  const client: RawClient = {
    socket,
    answer: { status: 0, headers: {}, body: '' },
    frames: [],
    closeFrame: null,
    allUnmasked: true,
    pingTimes: [],
    serverEnded: false,
    serverEndedAt: null,
    clientEnded: false,
    closeSentAt: null,
    tcpClosed: false,
    tcpError: null,
    send: (text) => write(encodeFrame(Opcode.text, Buffer.from(text), { mask: true })),
    sendBinary: (bytes) => write(encodeFrame(Opcode.binary, bytes, { mask: true })),
    sendPing: () => write(encodeFrame(Opcode.ping, Buffer.from('raw'), { mask: true })),
    sendClose: (code, reason = '') => {
      client.closeSentAt ??= performance.now();
      write(encodeFrame(Opcode.close, encodeClosePayload(code, reason), { mask: true }));
    },
    sendInvalidFrame: () => write(encodeFrame(RESERVED_OPCODE, Buffer.from('x'), { mask: true })),
    stopReading: () => socket.pause(),
    resumeReading: () => socket.resume(),
    end: () => {
      client.clientEnded = true;
      socket.end();
    },
    reset: () => socket.resetAndDestroy(),
    messages: () => client.frames.flatMap((f) => (f.type === 'text' || f.type === 'binary' ? [f.data] : [])),
    until: (predicate, ms = 3000, what = 'condition') => waitFor(predicate, ms, what),
    destroy: () => socket.destroy(),
  };
  function write(bytes: Buffer) {
    if (!socket.destroyed && socket.writable) socket.write(bytes);
  }

  let head = Buffer.alloc(0);
  let upgraded = false;
  const onFrames = (bytes: Buffer) => {
    inspectMaskBits(bytes);
    for (const event of reader.receive(bytes)) {
      client.frames.push(event);
      if (event.type === 'close') {
        client.closeFrame = { code: event.code, reason: event.reason };
        if (mode === 'polite' && client.closeSentAt === null) {
          // RFC 6455 §5.5.1: echo the status code received.
          client.sendClose(event.code === 1005 ? undefined : event.code, event.reason);
        }
      } else if (event.type === 'ping') {
        client.pingTimes.push(performance.now());
        if (mode === 'polite') write(encodeFrame(Opcode.pong, event.data, { mask: true }));
      }
    }
  };
  // Frame headers are parsed again here only for the mask bit of each server frame.
  let pending = Buffer.alloc(0);
  const inspectMaskBits = (bytes: Buffer) => {
    pending = Buffer.concat([pending, bytes]);
    for (;;) {
      if (pending.length < 2) return;
      const b1 = pending[1] as number;
      if ((b1 & 0x80) !== 0) client.allUnmasked = false;
      const len7 = b1 & 0x7f;
      const ext = len7 === 126 ? 2 : len7 === 127 ? 8 : 0;
      const headerLength = 2 + ext + ((b1 & 0x80) !== 0 ? 4 : 0);
      if (pending.length < headerLength) return;
      const length =
        ext === 2 ? pending.readUInt16BE(2) : ext === 8 ? Number(pending.readBigUInt64BE(2)) : len7;
      if (pending.length < headerLength + length) return;
      pending = pending.subarray(headerLength + length);
    }
  };

  const answered = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`raw client: no handshake answer in ${timeoutMs} ms`)),
      timeoutMs,
    );
    const finish = () => {
      clearTimeout(timer);
      resolve();
    };
    socket.on('data', (chunk: Buffer) => {
      if (upgraded) {
        onFrames(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) return;
      const lines = head.subarray(0, end).toString('latin1').split('\r\n');
      const status = Number((lines[0] ?? '').split(' ')[1]);
      const headers: Record<string, string> = {};
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      const rest = head.subarray(end + 4);
      client.answer = { status, headers, body: status === 101 ? '' : rest.toString() };
      if (status === 101) {
        if (headers['sec-websocket-accept'] !== acceptKey(key)) {
          reject(new Error('raw client: wrong Sec-WebSocket-Accept'));
          return;
        }
        upgraded = true;
        if (mode === 'silent') socket.pause();
        if (rest.length > 0) onFrames(rest);
      } else {
        // Keep collecting the body of a refusal.
        upgraded = false;
        socket.removeAllListeners('data');
        socket.on('data', (more: Buffer) => {
          client.answer.body += more.toString();
        });
      }
      finish();
    });
    socket.once('close', () => {
      if (!upgraded && client.answer.status === 0) {
        clearTimeout(timer);
        reject(new Error('raw client: the server closed before answering'));
      }
    });
  });
  socket.on('end', () => {
    client.serverEnded = true;
    client.serverEndedAt = performance.now();
    // RFC 6455 §7.1.1: the client closes TCP after the server has.
    if (mode === 'polite' && !client.clientEnded) client.end();
  });
  socket.on('error', (error: NodeJS.ErrnoException) => {
    client.tcpError ??= error.code ?? error.message;
  });
  socket.on('close', () => {
    client.tcpClosed = true;
  });
  socket.on('connect', () => socket.write(request));
  await answered;
  return client;
}
