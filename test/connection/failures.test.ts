/**
 * What a failed connection tells its caller, on real sockets: the ConnectionError's code, message, cause,
 * status and closeCode, and the Close the peer received. The messages are checked where they carry
 * something the caller acts on (the HTTP status, the deadline and its value, the Close code we sent) or
 * must not carry something (a redirect target).
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ClientOptions, CloseInfo, Connection, ConnectionError } from '../../src/index.js';
import { type Peer, refusedUrl, type StartPeerOptions, startPeer } from '../../src/testing/index.js';

type Api = typeof import('../../src/index.js');

// Imported inside a hook: a module that fails to load fails these tests (docs/testing.md).
let api: Api;
beforeAll(async () => {
  api = await import('../../src/index.js');
});

const peers: Peer[] = [];
const servers: Server[] = [];
const connections: Connection[] = [];
afterEach(async () => {
  await Promise.all(connections.splice(0).map((c) => c.terminate()));
  await Promise.all(peers.splice(0).map((p) => p.close()));
  for (const server of servers.splice(0)) server.close();
});

async function peer(options: StartPeerOptions): Promise<Peer> {
  const p = await startPeer(options);
  peers.push(p);
  return p;
}

function connect(url: string, options: Parameters<Api['createConnection']>[1] = {}): Connection {
  const conn = api.createConnection(url, {
    timeouts: { connect: 1000, write: 1000, read: 1000 },
    ...options,
  });
  connections.push(conn);
  return conn;
}

/** Opens, expecting a failure: the ConnectionError open() rejects with, which CloseInfo carries too. */
async function failing(conn: Connection): Promise<{ error: ConnectionError; info: CloseInfo }> {
  const error = (await conn.open().then(
    () => {
      throw new Error('open() resolved');
    },
    (e: unknown) => e,
  )) as ConnectionError;
  const info = await conn.closed;
  expect(info.error).toBe(error);
  return { error, info };
}

describe('the opening handshake fails (ERR_CONNECT_FAILED)', () => {
  it('on a refused port: the message names the URL and the socket error, the cause is that error', async () => {
    const url = await refusedUrl();
    const { port } = new URL(url);
    const { error } = await failing(connect(url));
    expect(error.code).toBe('ERR_CONNECT_FAILED');
    expect(error.message).toBe(
      `could not connect to ws://127.0.0.1:${port}/: connect ECONNREFUSED 127.0.0.1:${port}`,
    );
    expect(error.cause).toBeInstanceOf(Error);
    expect((error.cause as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
    expect(error.status).toBeUndefined();
  });

  it('on an HTTP answer to the upgrade: the status, in the message too, and no cause', async () => {
    const p = await peer({ mode: 'http-error', status: 403 });
    const { error, info } = await failing(connect(p.url));
    expect(error).toMatchObject({ code: 'ERR_CONNECT_FAILED', status: 403 });
    expect(error.message).toBe(
      `could not connect to ${p.url}/: the server answered the upgrade with HTTP 403`,
    );
    expect(error.cause).toBeUndefined();
    expect(info).toMatchObject({ code: 1006, reason: '', wasClean: false, initiator: 'remote' });
  });

  it('on a redirect to an invalid URL: the target is not quoted, and no cause carries it', async () => {
    const server = createServer();
    servers.push(server);
    server.on('upgrade', (_request, socket) => {
      socket.end('HTTP/1.1 302 Found\r\nLocation: ws://user:hunter2@[bad/\r\nContent-Length: 0\r\n\r\n');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const { error } = await failing(connect(url, { ws: { followRedirects: true } as ClientOptions }));
    expect(error.code).toBe('ERR_CONNECT_FAILED');
    expect(error.message).toBe(`could not connect to ${url}: the server redirected to an invalid URL`);
    expect(error.cause).toBeUndefined();
    expect(JSON.stringify(error)).not.toContain('hunter2');
  });

  it('at the connect deadline: ERR_CONNECT_TIMEOUT names the deadline and its value', async () => {
    const p = await peer({ mode: 'no-upgrade' });
    const { error } = await failing(connect(p.url, { timeouts: { connect: 150 } }));
    expect(error.code).toBe('ERR_CONNECT_TIMEOUT');
    expect(error.message).toBe(
      'the opening handshake did not complete within 150 ms (connect deadline); it was aborted',
    );
  });
});

describe('the peer breaks the protocol (ERR_PROTOCOL, RFC 6455 §7.1.7)', () => {
  it.each([
    ['a reserved opcode', 1002, 'WS_ERR_INVALID_OPCODE', (pc: PeerConnectionLike) => pc.sendInvalidFrame()],
    [
      'a text frame that is not UTF-8 (§8.1)',
      1007,
      'WS_ERR_INVALID_UTF8',
      (pc: PeerConnectionLike) => pc.sendRaw(new Uint8Array([0x81, 0x02, 0xc3, 0x28])),
    ],
  ])(
    'on %s: we send Close %s, and the error says so, with ws’s error as cause',
    async (_label, closeCode, wsCode, provoke) => {
      const p = await peer({ mode: 'manual' });
      const conn = connect(p.url);
      await conn.open();
      const pc = await p.nextConnection();
      provoke(pc);
      const info = await conn.closed;
      const error = info.error as ConnectionError;
      expect(error.code).toBe('ERR_PROTOCOL');
      expect(error.closeCode).toBe(closeCode);
      expect((error.cause as { code?: string }).code).toBe(wsCode);
      expect(error.message).toBe(
        `the peer broke the WebSocket protocol (${(error.cause as Error).message}); we sent Close ${closeCode} and closed the connection`,
      );
      expect(info).toMatchObject({ code: 1006, wasClean: false, initiator: 'local' });
      expect((await pc.whenCloseFrame()).code).toBe(closeCode);
    },
  );
});

describe('the closing handshake fails', () => {
  it('the peer never answers: ERR_READ_DEADLINE names the deadline and its value; our Close went out', async () => {
    const p = await peer({ mode: 'silent' });
    const conn = connect(p.url, { timeouts: { read: 120 } });
    await conn.open();
    const info = await conn.close(4003, 'leaving');
    expect(info).toMatchObject({ code: 1006, reason: '', wasClean: false, initiator: 'local' });
    expect(info.error?.code).toBe('ERR_READ_DEADLINE');
    expect(info.error?.message).toBe(
      "the peer's Close frame did not arrive within 120 ms (read deadline); the socket was destroyed",
    );
    expect(p.connections[0]?.closeFrame).toEqual({ code: 4003, reason: 'leaving' });
  });

  it('the peer stops reading: ERR_WRITE_DEADLINE names the deadline and its value', async () => {
    const p = await peer({ mode: 'manual' });
    const conn = connect(p.url, { timeouts: { write: 120 } });
    await conn.open();
    const pc = await p.nextConnection();
    pc.stopReading();
    for (let i = 0; i < 4; i++) conn.send(new Uint8Array(4 * 1024 * 1024));
    const info = await conn.close();
    expect(info).toMatchObject({ code: 1006, reason: '', wasClean: false, initiator: 'local' });
    expect(info.error?.code).toBe('ERR_WRITE_DEADLINE');
    expect(info.error?.message).toBe(
      'our Close frame was not written within 120 ms (write deadline); the socket was destroyed',
    );
  });

  it('TCP ends without the peer’s Close: ERR_SOCKET, 1006, RFC 6455 §7.1.5', async () => {
    const p = await peer({ mode: 'reset', afterMs: 20 });
    const conn = connect(p.url);
    await conn.open();
    const info = await conn.closed;
    expect(info).toMatchObject({ code: 1006, reason: '', wasClean: false, initiator: 'remote' });
    expect(info.error?.code).toBe('ERR_SOCKET');
    expect(info.error?.message).toBe(
      "the TCP connection ended before the peer's Close frame arrived (1006, RFC 6455 §7.1.5)",
    );
  });
});

type PeerConnectionLike = Awaited<ReturnType<Peer['nextConnection']>>;
