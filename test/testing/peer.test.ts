import { createHash } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  acceptKey,
  encodeClosePayload,
  encodeFrame,
  type FrameEvent,
  FrameReader,
  HEARTBEAT_PING,
  HEARTBEAT_PONG,
  Opcode,
  type Peer,
  type PeerConnection,
  type PeerMode,
  refusedUrl,
  type StartPeerOptions,
  startPeer,
} from '../../src/testing/index.js';

// ---- helpers ----

const T = { timeout: 5000 };
const peers: Peer[] = [];
const sockets: { destroy(): void }[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(peers.splice(0).map((p) => p.close()));
});

async function peerWith(options: StartPeerOptions = {}): Promise<Peer> {
  const peer = await startPeer(options);
  peers.push(peer);
  return peer;
}

/** Rejects with a message naming `what` when `promise` takes longer than `ms`; clears its timer. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `condition` every 5 ms; rejects naming `what` after `ms`. */
async function eventually(condition: () => boolean, what: string, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(5);
  }
}

const digest = (data: string | Uint8Array) => createHash('sha1').update(data).digest('hex');

interface Client {
  ws: WebSocket;
  /** Every ws event, in order, as `name[:detail]`. */
  events: string[];
  opened: Promise<void>;
  closed: Promise<{ code: number; reason: string }>;
}

/** A real `ws` client whose events are all recorded in order. */
function wsClient(
  url: string,
  protocols?: string | string[],
  options: WebSocket.ClientOptions & { onUnexpectedResponse?: boolean } = {},
): Client {
  const { onUnexpectedResponse, ...wsOptions } = options;
  const ws = new WebSocket(url, protocols, wsOptions);
  sockets.push({ destroy: () => ws.terminate() });
  const events: string[] = [];
  const opened = new Promise<void>((resolve) => ws.once('open', () => resolve()));
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  ws.on('open', () => events.push('open'));
  ws.on('message', (data, isBinary) =>
    events.push(isBinary ? `message:binary` : `message:${(data as Buffer).toString()}`),
  );
  ws.on('ping', () => events.push('ping'));
  ws.on('pong', () => events.push('pong'));
  ws.on('error', (err: NodeJS.ErrnoException) => events.push(`error:${err.code ?? err.message}`));
  if (onUnexpectedResponse) {
    ws.on('unexpected-response', (_req, res) => {
      events.push(`unexpected-response:${res.statusCode}`);
      // req.destroy() alone leaves ws CONNECTING for ever, with no 'close'; terminate() ends it.
      ws.terminate();
    });
  }
  ws.on('close', (code, reason) => events.push(`close:${code}${reason.length > 0 ? `:${reason}` : ''}`));
  return { ws, events, opened, closed };
}

/** A connected client and the peer's side of it, upgraded. */
async function openPair(peer: Peer, protocols?: string | string[]): Promise<[Client, PeerConnection]> {
  const client = wsClient(peer.url, protocols);
  const conn = await peer.nextConnection();
  await conn.whenUpgraded();
  await within(client.opened, 2000, 'ws open');
  return [client, conn];
}

/** A hand-rolled client on raw TCP: sends a request head, then masked frames it is told to send. */
class RawClient {
  readonly events: FrameEvent[] = [];
  response = '';
  ended = false;
  private buffer = Buffer.alloc(0);
  private readonly reader = new FrameReader({ requireMask: false });
  private readonly changed = new Set<() => void>();

  private constructor(readonly socket: Socket) {
    sockets.push(socket);
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      if (this.response === '') {
        this.buffer = Buffer.concat([this.buffer, chunk]);
        const end = this.buffer.indexOf('\r\n\r\n');
        if (end === -1) return;
        this.response = this.buffer.subarray(0, end).toString('latin1');
        chunk = this.buffer.subarray(end + 4);
      }
      this.events.push(...this.reader.receive(chunk));
      for (const f of this.changed) f();
    });
    socket.on('end', () => {
      this.ended = true;
      for (const f of this.changed) f();
    });
  }

  static async open(port: number, head: string): Promise<RawClient> {
    const socket = connect(port, '127.0.0.1');
    await within(new Promise((resolve) => socket.once('connect', resolve)), 2000, 'raw connect');
    const client = new RawClient(socket);
    socket.write(head, 'latin1');
    return client;
  }

  static async upgraded(port: number): Promise<RawClient> {
    const client = await RawClient.open(port, handshake());
    await client.until(() => client.response !== '', 'the 101 answer');
    return client;
  }

  /** Sends one frame, masked as a client must (§5.1) unless told otherwise. */
  send(opcode: number, payload: Uint8Array | string, options: { fin?: boolean; mask?: boolean } = {}): void {
    const bytes = typeof payload === 'string' ? Buffer.from(payload) : payload;
    this.socket.write(encodeFrame(opcode, bytes, { fin: options.fin ?? true, mask: options.mask ?? true }));
  }

  until(done: () => boolean, what: string, ms = 2000): Promise<void> {
    if (done()) return Promise.resolve();
    let check = () => {};
    const settled = new Promise<void>((resolve) => {
      check = () => {
        if (done()) resolve();
      };
      this.changed.add(check);
    });
    return within(settled, ms, what).finally(() => this.changed.delete(check));
  }

  closeEvent(): FrameEvent | undefined {
    return this.events.find((e) => e.type === 'close');
  }
}

function handshake(key = 'dGhlIHNhbXBsZSBub25jZQ==', extra: string[] = []): string {
  return [
    'GET /chat?x=1 HTTP/1.1',
    'Host: 127.0.0.1',
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Key: ${key}`,
    'Sec-WebSocket-Version: 13',
    'Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits',
    ...extra,
    '',
    '',
  ].join('\r\n');
}

/** Only a frame header: FIN + binary, masked, 64-bit length 16 MiB + 1; no payload follows. */
function oversizedHeader(): Buffer {
  const header = Buffer.alloc(14);
  header[0] = 0x80 | Opcode.binary;
  header[1] = 0x80 | 127;
  header.writeBigUInt64BE(BigInt(16 * 1024 * 1024 + 1), 2);
  return header;
}

function tcpHandles(): { sockets: number; servers: number; timers: number } {
  const info = process.getActiveResourcesInfo();
  return {
    sockets: info.filter((r) => r === 'TCPSocketWrap').length,
    servers: info.filter((r) => r === 'TCPServerWrap').length,
    timers: info.filter((r) => r === 'Timeout').length,
  };
}

// ---- §4 opening handshake ----

describe('opening handshake (RFC 6455 §4.2)', T, () => {
  it('computes Sec-WebSocket-Accept as in the §1.3 example', () => {
    expect(acceptKey('dGhlIHNhbXBsZSBub25jZQ==')).toBe('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  });

  it('answers 101 with the §1.3 Accept value and never negotiates an extension', async () => {
    const peer = await peerWith({ mode: 'manual' });
    const raw = await RawClient.upgraded(peer.port);
    const lines = raw.response.split('\r\n');
    expect(lines[0]).toBe('HTTP/1.1 101 Switching Protocols');
    expect(lines).toContain('Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
    expect(raw.response.toLowerCase()).not.toContain('sec-websocket-extensions');
    const conn = peer.connections[0];
    expect(conn?.request?.url).toBe('/chat?x=1');
    expect(conn?.request?.headers['sec-websocket-key']).toBe('dGhlIHNhbXBsZSBub25jZQ==');
  });

  it.each([
    ['no key', 400, handshake().replace(/Sec-WebSocket-Key:.*\r\n/, '')],
    ['no Upgrade', 400, handshake().replace('Upgrade: websocket\r\n', '')],
    ['POST', 405, handshake().replace('GET', 'POST')],
    ['version 8', 426, handshake().replace('Version: 13', 'Version: 8')],
    ['a 17 KiB head', 431, handshake(undefined, [`X-Big: ${'a'.repeat(17 * 1024)}`])],
  ])('refuses a request with %s (HTTP %i), then ends TCP', async (_name, status, head) => {
    const peer = await peerWith({ mode: 'manual' });
    const raw = await RawClient.open(peer.port, head);
    await raw.until(() => raw.ended, 'the peer to end TCP');
    expect(raw.response.split('\r\n')[0]).toMatch(new RegExp(`^HTTP/1.1 ${status} `));
    if (status === 426) expect(raw.response).toContain('Sec-WebSocket-Version: 13');
    expect(peer.connections[0]?.upgraded).toBe(false);
  });

  it.each<[string, StartPeerOptions['protocol'], string[], string | RegExp]>([
    ['selects the first offered', undefined, ['a', 'b'], 'a'],
    ['selects none when none offered', undefined, [], ''],
    ['forces a chosen one', 'b', ['a', 'b'], 'b'],
    ['can force one not offered (client must refuse)', 'x', ['a'], /invalid subprotocol/],
    ['can select none (client must refuse)', false, ['a'], /no subprotocol/],
  ])('subprotocol: %s', async (_name, protocol, offered, expected) => {
    const peer = await peerWith({ protocol });
    const client = wsClient(peer.url, offered);
    const conn = await peer.nextConnection();
    if (typeof expected === 'string') {
      await within(client.opened, 2000, 'ws open');
      expect(client.ws.protocol).toBe(expected);
      expect(conn.protocol).toBe(expected === '' ? null : expected);
    } else {
      await within(client.closed, 2000, 'ws close');
      expect(client.events).toEqual([expect.stringMatching(expected), 'close:1006']);
    }
  });
});

// ---- modes ----

describe("mode 'echo'", T, () => {
  it.each([0, 125, 126, 65_535, 65_536, 200_000])(
    'echoes a %i-byte text and binary message',
    async (size) => {
      const peer = await peerWith();
      const [client, conn] = await openPair(peer);
      const text = 'x'.repeat(size);
      const bytes = new Uint8Array(size).map((_, i) => i % 251);
      const echoes: { data: Buffer; isBinary: boolean }[] = [];
      client.ws.on('message', (data, isBinary) => echoes.push({ data: data as Buffer, isBinary }));
      client.ws.send(text);
      client.ws.send(bytes);
      await conn.whenMessages(2);
      // Digests, not element-wise deep equality: vitest compares a 200 KB typed array slowly.
      expect(conn.messages.map((m) => [m.type, digest(m.data)])).toEqual([
        ['text', digest(text)],
        ['binary', digest(bytes)],
      ]);
      expect(conn.messages[1]?.data).toBeInstanceOf(Uint8Array);
      await eventually(() => echoes.length === 2, 'the echoes');
      expect(echoes.map((e) => [e.isBinary, digest(e.data)])).toEqual([
        [false, digest(text)],
        [true, digest(bytes)],
      ]);
    },
  );

  it('reassembles a message ws sends in fragments (§5.4)', async () => {
    const peer = await peerWith();
    const [client, conn] = await openPair(peer);
    client.ws.send('hel', { fin: false });
    client.ws.send('lo ', { fin: false });
    client.ws.send('world', { fin: true });
    await conn.whenMessages(1);
    expect(conn.messages).toEqual([{ type: 'text', data: 'hello world' }]);
  });

  it('answers a Ping inside a fragmented message and still reassembles it (§5.4, §5.5.2)', async () => {
    const peer = await peerWith();
    const raw = await RawClient.upgraded(peer.port);
    const conn = peer.connections[0] as PeerConnection;
    raw.send(Opcode.binary, new Uint8Array([1, 2]), { fin: false });
    raw.send(Opcode.ping, 'are you there');
    raw.send(Opcode.continuation, new Uint8Array([3]), { fin: true });
    await conn.whenMessages(1);
    await raw.until(() => raw.events.length >= 2, 'pong + echo');
    expect(raw.events).toEqual([
      { type: 'pong', data: new Uint8Array(Buffer.from('are you there')) },
      { type: 'binary', data: new Uint8Array([1, 2, 3]) },
    ]);
    expect(conn.pings).toHaveLength(1);
  });

  it('replies Close with the same code and reason after all data, then ends TCP (§5.5.1, §7.1.1)', async () => {
    const peer = await peerWith();
    const [client, conn] = await openPair(peer);
    for (const m of ['a', 'b', 'c']) client.ws.send(m);
    client.ws.close(4000, 'bye');
    expect(await conn.whenCloseFrame()).toEqual({ code: 4000, reason: 'bye' });
    expect(conn.closeFrameAt).toBe(3);
    expect(conn.messages.map((m) => m.data)).toEqual(['a', 'b', 'c']);
    await conn.whenTcpClosed();
    expect(await within(client.closed, 2000, 'ws close')).toEqual({ code: 4000, reason: 'bye' });
    expect(conn.closeSent).toEqual({ code: 4000, reason: 'bye' });
    // ws delivers the echoes that were in flight before its 'close'.
    expect(client.events).toEqual(['open', 'message:a', 'message:b', 'message:c', 'close:4000:bye']);
  });

  it('ends TCP itself after its Close reply, without waiting for the client (§7.1.1)', async () => {
    const peer = await peerWith();
    const raw = await RawClient.upgraded(peer.port);
    raw.send(Opcode.close, encodeClosePayload(1000, 'x'));
    // The raw client never ends its side: only the peer's FIN can make `ended` true.
    await raw.until(() => raw.ended, 'the peer to end TCP');
    expect(raw.events).toEqual([{ type: 'close', code: 1000, reason: 'x' }]);
  });

  it('records a Close without payload as 1005 and replies with an empty Close (§7.1.5)', async () => {
    const peer = await peerWith();
    const [client, conn] = await openPair(peer);
    client.ws.close();
    expect(await conn.whenCloseFrame()).toEqual({ code: 1005, reason: '' });
    expect(await within(client.closed, 2000, 'ws close')).toEqual({ code: 1005, reason: '' });
  });

  it.each<[string, (raw: RawClient) => void, number]>([
    ['an unmasked frame (§5.1)', (raw) => raw.send(Opcode.text, 'hi', { mask: false }), 1002],
    ['a reserved opcode (§5.2)', (raw) => raw.send(0x3, ''), 1002],
    ['a continuation with nothing to continue (§5.4)', (raw) => raw.send(Opcode.continuation, 'x'), 1002],
    ['a 126-byte Ping (§5.5)', (raw) => raw.send(Opcode.ping, new Uint8Array(126)), 1002],
    ['a fragmented Ping (§5.5)', (raw) => raw.send(Opcode.ping, '', { fin: false }), 1002],
    ['invalid UTF-8 text (§8.1)', (raw) => raw.send(Opcode.text, new Uint8Array([0xc3, 0x28])), 1007],
    ['a Close with code 1006 (§7.4.1)', (raw) => raw.send(Opcode.close, encodeClosePayload(1006)), 1002],
    ['a header announcing 16 MiB + 1 (§10.4)', (raw) => raw.socket.write(oversizedHeader()), 1009],
  ])('fails the connection on %s with Close %i, then ends TCP (§7.1.7)', async (_name, send, code) => {
    const peer = await peerWith();
    const raw = await RawClient.upgraded(peer.port);
    const conn = peer.connections[0] as PeerConnection;
    send(raw);
    await raw.until(() => raw.ended, 'the peer to end TCP');
    expect(raw.closeEvent()).toMatchObject({ type: 'close', code });
    expect(conn.failure?.code).toBe(code);
  });

  it('fails with 1009 when fragments add up past maxMessageBytes', async () => {
    const peer = await peerWith({ maxMessageBytes: 10 });
    const raw = await RawClient.upgraded(peer.port);
    raw.send(Opcode.text, '123456', { fin: false });
    raw.send(Opcode.continuation, '78901', { fin: true });
    await raw.until(() => raw.ended, 'the peer to end TCP');
    expect(raw.closeEvent()).toMatchObject({ type: 'close', code: 1009 });
    expect(peer.connections[0]?.messageCount).toBe(0);
  });
});

describe("mode 'manual'", T, () => {
  it('sends text, binary, Ping and Close only when told, and leaves TCP to the test', async () => {
    const peer = await peerWith({ mode: 'manual' });
    const [client, conn] = await openPair(peer);
    client.ws.send('not echoed');
    await conn.whenMessages(1);
    conn.sendText('t');
    conn.sendBinary(new Uint8Array([9]));
    conn.sendPing(new Uint8Array([7]));
    await eventually(() => conn.pongs.length >= 1, 'the client Pong');
    expect(conn.pongs).toEqual([new Uint8Array([7])]);
    conn.sendClose(4001, 'manual');
    expect(await conn.whenCloseFrame()).toEqual({ code: 4001, reason: 'manual' });
    // ws replied Close and sent FIN, but its 'close' waits for the peer's FIN.
    await eventually(() => conn.clientEnded, 'the client FIN');
    await sleep(50);
    expect(client.ws.readyState).toBe(WebSocket.CLOSING);
    expect(conn.tcpClosed).toBe(false);
    conn.end();
    expect(await within(client.closed, 2000, 'ws close')).toEqual({ code: 4001, reason: 'manual' });
    await conn.whenTcpClosed();
    expect(client.events).toEqual(['open', 'message:t', 'message:binary', 'ping', 'close:4001:manual']);
  });

  it('sendClose() without a code sends an empty Close: ws reports 1005', async () => {
    const peer = await peerWith({ mode: 'manual' });
    const [client, conn] = await openPair(peer);
    conn.sendClose();
    expect(conn.closeSent).toEqual({ code: 1005, reason: '' });
    expect(await conn.whenCloseFrame()).toEqual({ code: 1005, reason: '' });
    conn.end();
    expect(await within(client.closed, 2000, 'ws close')).toEqual({ code: 1005, reason: '' });
  });

  it('sendInvalidFrame() makes ws fail with 1002', async () => {
    const peer = await peerWith({ mode: 'manual' });
    const [client, conn] = await openPair(peer);
    conn.sendInvalidFrame();
    expect(await conn.whenCloseFrame()).toEqual({ code: 1002, reason: '' });
    conn.end();
    await within(client.closed, 2000, 'ws close');
    expect(client.events).toEqual(['open', 'error:WS_ERR_INVALID_OPCODE', 'close:1006']);
  });

  it('stopReading() backs up the client; resumeReading() drains it', async () => {
    const peer = await peerWith({ mode: 'manual' });
    const [client, conn] = await openPair(peer);
    conn.stopReading();
    const big = new Uint8Array(8 * 1024 * 1024);
    client.ws.send(big);
    await sleep(100);
    expect(client.ws.bufferedAmount).toBeGreaterThan(0);
    expect(conn.messageCount).toBe(0);
    conn.resumeReading();
    await conn.whenMessages(1);
    expect(conn.messages[0]?.data).toHaveLength(big.length);
    expect(client.ws.bufferedAmount).toBe(0);
  });

  it('reset() gives ws close 1006 with no error', async () => {
    const peer = await peerWith({ mode: 'manual' });
    const [client, conn] = await openPair(peer);
    conn.reset();
    await conn.whenTcpClosed();
    expect(await within(client.closed, 2000, 'ws close')).toEqual({ code: 1006, reason: '' });
    expect(client.events).toEqual(['open', 'close:1006']);
  });

  it('sendRaw() writes bytes as they are', async () => {
    const peer = await peerWith({ mode: 'manual' });
    const [client, conn] = await openPair(peer);
    conn.sendRaw(encodeFrame(Opcode.text, Buffer.from('ab'), { fin: false }));
    conn.sendRaw(encodeFrame(Opcode.continuation, Buffer.from('c')));
    await eventually(() => client.events.length >= 2, 'the message');
    expect(client.events).toEqual(['open', 'message:abc']);
  });
});

describe("mode 'silent'", T, () => {
  it('records the Close but never answers it, nor a Ping, nor closes TCP', async () => {
    const peer = await peerWith({ mode: 'silent' });
    const [client, conn] = await openPair(peer);
    client.ws.ping();
    client.ws.close(1000, 'done');
    expect(await conn.whenCloseFrame()).toEqual({ code: 1000, reason: 'done' });
    await sleep(200);
    expect(conn.closeSent).toBeNull();
    expect(client.ws.readyState).toBe(WebSocket.CLOSING);
    expect(client.events).toEqual(['open']);
    expect(conn.pings).toHaveLength(1);
    expect(conn.tcpClosed).toBe(false);
  });
});

describe("mode 'no-pong'", T, () => {
  it('records every Ping but answers nothing: no Pong, no echo, no Close reply, no TCP close', async () => {
    const peer = await peerWith({ mode: 'no-pong' });
    const [client, conn] = await openPair(peer);
    client.ws.ping('a');
    client.ws.ping('b');
    client.ws.send('anyone?');
    client.ws.ping('c');
    await conn.whenFrames('ping', 3);
    expect(conn.frameCounts).toMatchObject({ ping: 3, text: 1, pong: 0 });
    expect(conn.pings.map((p) => Buffer.from(p).toString())).toEqual(['a', 'b', 'c']);
    await sleep(200);
    expect(client.events).toEqual(['open']);
    expect(conn.pongsSent).toBe(0);
    client.ws.close(1000, 'bye');
    expect(await conn.whenCloseFrame()).toEqual({ code: 1000, reason: 'bye' });
    await sleep(200);
    expect(conn.closeSent).toBeNull();
    expect(conn.tcpClosed).toBe(false);
    expect(client.ws.readyState).toBe(WebSocket.CLOSING);
    expect(client.events).toEqual(['open']);
  });

  it('keeps reading, so the client never backs up (unlike stop-reading)', async () => {
    const peer = await peerWith({ mode: 'no-pong' });
    const [client, conn] = await openPair(peer);
    client.ws.send(new Uint8Array(8 * 1024 * 1024));
    await conn.whenMessages(1);
    await eventually(() => client.ws.bufferedAmount === 0, 'the client buffer to drain');
    expect(conn.messages[0]?.data).toHaveLength(8 * 1024 * 1024);
  });

  it('does not answer the client FIN with its own', async () => {
    const peer = await peerWith({ mode: 'no-pong' });
    const raw = await RawClient.upgraded(peer.port);
    const conn = peer.connections[0] as PeerConnection;
    raw.socket.end();
    await eventually(() => conn.clientEnded, 'the client FIN');
    await sleep(100);
    expect(raw.ended).toBe(false);
    expect(conn.tcpClosed).toBe(false);
  });

  it('answers no Ping even with autoPong: true', async () => {
    const peer = await peerWith({ mode: 'no-pong', autoPong: true });
    const [client, conn] = await openPair(peer);
    client.ws.ping();
    await conn.whenFrames('ping', 1);
    await sleep(100);
    expect(client.events).toEqual(['open']);
  });
});

describe('frames received', T, () => {
  it('records every frame with its opcode, fragments and control frames included, in order', async () => {
    const peer = await peerWith();
    const raw = await RawClient.upgraded(peer.port);
    const conn = peer.connections[0] as PeerConnection;
    raw.send(Opcode.text, 'ab', { fin: false });
    raw.send(Opcode.ping, 'p');
    raw.send(Opcode.continuation, 'c', { fin: true });
    raw.send(Opcode.binary, new Uint8Array(300));
    raw.send(Opcode.pong, '');
    raw.send(Opcode.close, encodeClosePayload(1000));
    await conn.whenCloseFrame();
    expect(conn.frames.map(({ kind, opcode, fin, length }) => [kind, opcode, fin, length])).toEqual([
      ['text', Opcode.text, false, 2],
      ['ping', Opcode.ping, true, 1],
      ['continuation', Opcode.continuation, true, 1],
      ['binary', Opcode.binary, true, 300],
      ['pong', Opcode.pong, true, 0],
      ['close', Opcode.close, true, 2],
    ]);
    expect(conn.frameCounts).toEqual({ continuation: 1, text: 1, binary: 1, close: 1, ping: 1, pong: 1 });
    const times = conn.frames.map((f) => f.elapsedMs);
    expect(times.every((t, i) => t >= 0 && t >= (times[i - 1] ?? 0))).toBe(true);
  });

  it('counts pings from a ws client: whenFrames() resolves at the n-th', async () => {
    const peer = await peerWith();
    const [client, conn] = await openPair(peer);
    const waiting = conn.whenFrames('ping', 3);
    for (let i = 0; i < 3; i++) client.ws.ping();
    await waiting;
    expect(conn.frameCounts.ping).toBe(3);
    await eventually(() => client.events.filter((e) => e === 'pong').length === 3, 'three pongs');
    expect(conn.pongsSent).toBe(3);
  });

  it('maxRecordedMessages bounds the frames kept, not the counts', async () => {
    const peer = await peerWith({ maxRecordedMessages: 2 });
    const [client, conn] = await openPair(peer);
    for (let i = 0; i < 5; i++) client.ws.ping();
    await conn.whenFrames('ping', 5);
    expect(conn.frames).toHaveLength(2);
    expect(conn.frameCounts.ping).toBe(5);
  });

  it('whenFrames() rejects by name on timeout and when TCP closes short of n', async () => {
    const peer = await peerWith({ mode: 'manual' });
    const [client, conn] = await openPair(peer);
    await expect(conn.whenFrames('ping', 1, 50)).rejects.toThrow(
      'peer connection #0: timed out after 50 ms while waiting for 1 ping frame(s)',
    );
    client.ws.ping();
    await conn.whenFrames('ping', 1);
    const waiting = conn.whenFrames('ping', 2, 10_000);
    conn.reset();
    await expect(waiting).rejects.toThrow('TCP closed after 1 ping frame(s)');
    await expect(conn.whenFrames('nope' as 'ping', 1)).rejects.toThrow(/unknown frame kind/);
  });
});

describe('option pongReplies', T, () => {
  it('answers the first n Pings, then records the rest without answering', async () => {
    const peer = await peerWith({ pongReplies: 2 });
    const [client, conn] = await openPair(peer);
    for (let i = 0; i < 4; i++) client.ws.ping(String(i));
    await conn.whenFrames('ping', 4);
    await sleep(100);
    expect(client.events).toEqual(['open', 'pong', 'pong']);
    expect(conn.pongsSent).toBe(2);
    // Everything else still works: data is echoed, Close is answered.
    client.ws.send('still here');
    await eventually(() => client.events.includes('message:still here'), 'the echo');
  });

  it.each([-1, 1.5])('refuses %s', async (pongReplies) => {
    await expect(startPeer({ pongReplies })).rejects.toThrow(/pongReplies must be an integer/);
  });
});

describe("mode 'json-heartbeat'", T, () => {
  it('answers {"type":"ping"} with {"type":"pong"}, echoes other messages, closes cleanly', async () => {
    const peer = await peerWith({ mode: 'json-heartbeat' });
    const [client, conn] = await openPair(peer);
    client.ws.send(HEARTBEAT_PING);
    client.ws.send('hello');
    client.ws.send(JSON.stringify({ type: 'ping', id: 7 }));
    client.ws.send('{"type":"pong"}');
    client.ws.send('not json, but ping');
    await conn.whenHeartbeats(2);
    await eventually(() => client.events.length >= 6, 'the answers');
    expect(client.events).toEqual([
      'open',
      `message:${HEARTBEAT_PONG}`,
      'message:hello',
      `message:${HEARTBEAT_PONG}`,
      'message:{"type":"pong"}',
      'message:not json, but ping',
    ]);
    expect(conn.heartbeats).toBe(2);
    expect(conn.heartbeatsAnswered).toBe(2);
    expect(conn.messageCount).toBe(5);
    client.ws.close(1000, 'bye');
    expect(await within(client.closed, 2000, 'ws close')).toEqual({ code: 1000, reason: 'bye' });
  });

  it('still answers protocol Pings (unless autoPong: false)', async () => {
    const peer = await peerWith({ mode: 'json-heartbeat' });
    const [client] = await openPair(peer);
    client.ws.ping();
    await eventually(() => client.events.includes('pong'), 'the pong');
  });

  it('heartbeatReplies: answers the first n heartbeats, then stops answering them (and only them)', async () => {
    const peer = await peerWith({ mode: 'json-heartbeat', heartbeatReplies: 2 });
    const [client, conn] = await openPair(peer);
    for (let i = 0; i < 4; i++) client.ws.send(HEARTBEAT_PING);
    client.ws.send('echo me');
    await conn.whenHeartbeats(4);
    await eventually(() => client.events.includes('message:echo me'), 'the echo');
    await sleep(50);
    expect(client.events).toEqual([
      'open',
      `message:${HEARTBEAT_PONG}`,
      `message:${HEARTBEAT_PONG}`,
      'message:echo me',
    ]);
    expect(conn.heartbeats).toBe(4);
    expect(conn.heartbeatsAnswered).toBe(2);
  });

  it('heartbeatReplies: 0 never answers one', async () => {
    const peer = await peerWith({ mode: 'json-heartbeat', heartbeatReplies: 0 });
    const [client, conn] = await openPair(peer);
    client.ws.send(HEARTBEAT_PING);
    await conn.whenHeartbeats(1);
    await sleep(100);
    expect(client.events).toEqual(['open']);
  });

  it('other modes count heartbeats but never answer them: echo echoes them as data', async () => {
    const peer = await peerWith();
    const [client, conn] = await openPair(peer);
    client.ws.send(HEARTBEAT_PING);
    await conn.whenHeartbeats(1);
    await eventually(() => client.events.length >= 2, 'the echo');
    expect(client.events).toEqual(['open', `message:${HEARTBEAT_PING}`]);
    expect(conn.heartbeatsAnswered).toBe(0);
  });
});

describe("mode 'no-upgrade'", T, () => {
  it('reads the request and keeps ws CONNECTING', async () => {
    const peer = await peerWith({ mode: 'no-upgrade' });
    const client = wsClient(`${peer.url}/path`);
    const conn = await peer.nextConnection();
    await expect(conn.whenUpgraded(100)).rejects.toThrow(
      'peer connection #0: timed out after 100 ms while waiting for the upgrade (101)',
    );
    expect(conn.request?.url).toBe('/path');
    expect(client.ws.readyState).toBe(WebSocket.CONNECTING);
    expect(() => conn.sendText('x')).toThrow(/before the upgrade/);
    client.ws.close();
    await within(client.closed, 2000, 'ws close');
    expect(client.events).toEqual([
      'error:WebSocket was closed before the connection was established',
      'close:1006',
    ]);
  });
});

describe("mode 'http-error'", T, () => {
  it.each([
    [undefined, 400],
    [503, 503],
  ])('status %s: ws emits unexpected-response %i', async (status, expected) => {
    const peer = await peerWith({ mode: 'http-error', ...(status === undefined ? {} : { status }) });
    const client = wsClient(peer.url, undefined, { onUnexpectedResponse: true });
    await within(client.closed, 2000, 'ws close');
    expect(client.events).toEqual([
      `unexpected-response:${expected}`,
      'error:WebSocket was closed before the connection was established',
      'close:1006',
    ]);
  });

  it('without an unexpected-response listener: error, then close 1006', async () => {
    const peer = await peerWith({ mode: 'http-error' });
    const client = wsClient(peer.url);
    await within(client.closed, 2000, 'ws close');
    expect(client.events).toEqual(['error:Unexpected server response: 400', 'close:1006']);
    await peer.connections[0]?.whenTcpClosed();
  });
});

describe("mode 'stop-reading'", T, () => {
  it('leaves bufferedAmount above 0, flat, after sending 8 MiB', async () => {
    const peer = await peerWith({ mode: 'stop-reading' });
    const [client, conn] = await openPair(peer);
    client.ws.send(new Uint8Array(8 * 1024 * 1024));
    await sleep(100);
    const stuck = client.ws.bufferedAmount;
    expect(stuck).toBeGreaterThan(0);
    await sleep(100);
    expect(client.ws.bufferedAmount).toBe(stuck);
    expect(conn.messageCount).toBe(0);
  });
});

describe("mode 'close-first'", T, () => {
  it.each<[StartPeerOptions, number, string]>([
    [{}, 1001, 'going away'],
    [{ closeCode: 4002, closeReason: 'custom' }, 4002, 'custom'],
  ])('%o: the peer closes first, ws echoes %i, the peer ends TCP', async (options, code, reason) => {
    const peer = await peerWith({ mode: 'close-first', ...options });
    const client = wsClient(peer.url);
    const conn = await peer.nextConnection();
    expect(await conn.whenCloseFrame()).toEqual({ code, reason });
    expect(conn.closeSent).toEqual({ code, reason });
    await conn.whenTcpClosed();
    expect(await within(client.closed, 2000, 'ws close')).toEqual({ code, reason });
    expect(client.events).toEqual(['open', `close:${code}:${reason}`]);
  });
});

describe("mode 'reset'", T, () => {
  it.each([0, 30])('afterMs %i: ws closes 1006', async (afterMs) => {
    const peer = await peerWith({ mode: 'reset', afterMs });
    const client = wsClient(peer.url);
    expect(await within(client.closed, 2000, 'ws close')).toEqual({ code: 1006, reason: '' });
    expect(client.events.at(-1)).toBe('close:1006');
    // Once ws has seen the 101, a reset brings no 'error' at all.
    if (afterMs > 0) expect(client.events).toEqual(['open', 'close:1006']);
  });
});

describe("mode 'invalid-frame'", T, () => {
  it('ws errors, sends Close 1002, and closes 1006 when the peer ends TCP', async () => {
    const peer = await peerWith({ mode: 'invalid-frame' });
    const client = wsClient(peer.url);
    const conn = await peer.nextConnection();
    expect(await conn.whenCloseFrame()).toEqual({ code: 1002, reason: '' });
    await within(client.closed, 2000, 'ws close');
    expect(client.events).toEqual(['open', 'error:WS_ERR_INVALID_OPCODE', 'close:1006']);
  });
});

describe("mode 'data-after-close'", T, () => {
  it.each([undefined, 1])(
    'lateMessages %s: late messages reach ws before its close',
    async (lateMessages) => {
      const peer = await peerWith({
        mode: 'data-after-close',
        ...(lateMessages === undefined ? {} : { lateMessages }),
      });
      const [client, conn] = await openPair(peer);
      client.ws.close(1000, 'done');
      await conn.whenTcpClosed();
      expect(await within(client.closed, 2000, 'ws close')).toEqual({ code: 1000, reason: 'done' });
      const late = Array.from({ length: lateMessages ?? 3 }, (_, i) => `message:late-${i + 1}`);
      expect(client.events).toEqual(['open', ...late, 'close:1000:done']);
    },
  );
});

describe('refusedUrl()', T, () => {
  it('gives a URL where ws gets ECONNREFUSED, then close 1006', async () => {
    const client = wsClient(await refusedUrl());
    await within(client.closed, 2000, 'ws close');
    expect(client.events).toEqual(['error:ECONNREFUSED', 'close:1006']);
  });
});

describe('waits', T, () => {
  it('nextConnection() hands out each connection once, in order, and times out by name', async () => {
    const peer = await peerWith({ mode: 'manual' });
    wsClient(peer.url);
    wsClient(peer.url);
    const a = await peer.nextConnection();
    const b = await peer.nextConnection();
    expect([a.index, b.index]).toEqual([0, 1]);
    await expect(peer.nextConnection(50)).rejects.toThrow(
      'peer: timed out after 50 ms while waiting for the next connection',
    );
  });

  it('whenMessages() rejects as soon as TCP closes short of n', async () => {
    const peer = await peerWith({ mode: 'manual' });
    const [client, conn] = await openPair(peer);
    client.ws.send('one');
    await conn.whenMessages(1);
    const waiting = conn.whenMessages(2, 10_000);
    conn.reset();
    await expect(waiting).rejects.toThrow(
      'the connection ended after 1 message(s) while waiting for 2 message(s)',
    );
  });

  it('maxConnections: an extra connection is destroyed', async () => {
    const peer = await peerWith({ maxConnections: 1 });
    await openPair(peer);
    const extra = wsClient(peer.url);
    expect((await within(extra.closed, 2000, 'ws close')).code).toBe(1006);
    expect(peer.droppedConnections).toBe(1);
    expect(peer.connections).toHaveLength(1);
  });

  it('startPeer() refuses a non-loopback host', async () => {
    await expect(startPeer({ host: '0.0.0.0' } as unknown as StartPeerOptions)).rejects.toThrow(
      /loopback only/,
    );
  });
});

describe('Peer#close', T, () => {
  it('ends every socket and timer, rejects pending waits, and is idempotent', async () => {
    // Start from a machine with no TCP handle left by earlier tests.
    await eventually(
      () => !(tcpHandles().sockets + tcpHandles().servers > 0),
      'earlier sockets to close',
      1000,
    );
    const before = tcpHandles();
    const modes: [PeerMode, StartPeerOptions][] = [
      ['silent', {}],
      ['no-pong', {}],
      ['no-upgrade', {}],
      ['stop-reading', {}],
      ['reset', { afterMs: 60_000 }],
    ];
    const started = await Promise.all(modes.map(([mode, o]) => startPeer({ mode, ...o })));
    const clients = started.map((p) => wsClient(p.url));
    const conns = await Promise.all(started.map((p) => p.nextConnection()));
    await Promise.all(
      conns.map((c, i) =>
        modes[i]?.[0] === 'no-upgrade' ? c.whenTcpClosed(50).catch(() => {}) : c.whenUpgraded(),
      ),
    );
    const pending = conns[0]?.whenCloseFrame(60_000).then(
      () => 'resolved',
      (err: Error) => err.message,
    );
    expect(tcpHandles().sockets).toBeGreaterThan(before.sockets);

    await Promise.all(started.map((p) => p.close()));
    await Promise.all(started.map((p) => p.close()));
    expect(await pending).toMatch(/TCP closed|the peer closed/);
    await expect(started[0]?.nextConnection()).rejects.toThrow(/the peer is closed/);
    for (const c of conns) expect(c.tcpClosed).toBe(true);
    await within(Promise.all(clients.map((c) => c.closed)), 2000, 'every ws close');
    await sleep(0);
    const after = tcpHandles();
    expect({ sockets: after.sockets, servers: after.servers }).toEqual({ sockets: 0, servers: 0 });
    // The 'reset' peer's 60 s timer and the 60 s wait are gone (vitest's own timers may come and go).
    expect(after.timers).toBeLessThanOrEqual(before.timers);
  });
});
