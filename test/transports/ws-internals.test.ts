/**
 * What ws-lifecycle relies on in ws, private API included (src/ws-actor.ts, "ws internals"). These tests
 * fail loudly when a ws upgrade changes any of it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { ConnectionEvent } from '../../machines/index.js';
import { type Peer, type PeerConnection, startPeer } from '../../src/testing/index.js';
import {
  failCloseCode,
  offPeerClose,
  onPeerClose,
  receiverOf,
  Session,
  type SocketLink,
} from '../../src/transports/ws-client.js';
import { waitFor } from '../helpers.js';

const peers: Peer[] = [];
const sockets: WebSocket[] = [];
afterEach(async () => {
  for (const ws of sockets.splice(0)) {
    ws.on('error', () => {});
    ws.terminate();
  }
  await Promise.all(peers.splice(0).map((p) => p.close()));
});

async function openTo(mode: Parameters<typeof startPeer>[0]): Promise<{ ws: WebSocket; pc: PeerConnection }> {
  const peer = await startPeer(mode);
  peers.push(peer);
  const ws = new WebSocket(peer.url);
  sockets.push(ws);
  const events: string[] = [];
  ws.on('error', (e) => events.push(`error:${e.message}`));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('close', () => reject(new Error(`closed before open: ${events.join(', ')}`)));
  });
  return { ws, pc: await peer.nextConnection() };
}

function recordingSession(events: ConnectionEvent[]): Session {
  return new Session({} as SocketLink, (event) => events.push(event), 0);
}

describe('ws version', () => {
  it('is the 8.x line this was checked against', async () => {
    const { version } = (await import('ws/package.json', { with: { type: 'json' } })).default as {
      version: string;
    };
    expect(version).toMatch(/^8\./);
  });
});

describe("the peer's Close frame (private receiver 'conclude')", () => {
  it('is seen when it arrives, before TCP ends and before ws emits close', async () => {
    const { ws, pc } = await openTo({ mode: 'manual' });
    const events: ConnectionEvent[] = [];
    let closedEarly = false;
    ws.on('close', () => {
      closedEarly = events.length === 0;
    });
    onPeerClose(ws, recordingSession(events));
    pc.sendClose(4321, 'from the peer');
    await waitFor(() => events.length === 1, 1000, "the 'conclude' hook");
    expect(events).toEqual([{ type: 'ws.close-received', code: 4321, reason: 'from the peer' }]);
    // The peer keeps TCP open: ws is CLOSING, has answered (echo), and has not emitted 'close'.
    expect(ws.readyState).toBe(WebSocket.CLOSING);
    expect(await pc.whenCloseFrame()).toEqual({ code: 4321, reason: 'from the peer' });
    expect(closedEarly).toBe(false);
  });

  it('reports 1005 for a Close without status', async () => {
    const { ws, pc } = await openTo({ mode: 'manual' });
    const events: ConnectionEvent[] = [];
    onPeerClose(ws, recordingSession(events));
    pc.sendClose();
    await waitFor(() => events.length === 1, 1000, "the 'conclude' hook");
    expect(events[0]).toEqual({ type: 'ws.close-received', code: 1005, reason: '' });
  });

  it('can be unhooked', async () => {
    const { ws, pc } = await openTo({ mode: 'manual' });
    const events: ConnectionEvent[] = [];
    onPeerClose(ws, recordingSession(events));
    const receiver = receiverOf(ws);
    const before = receiver.listenerCount('conclude');
    offPeerClose(ws);
    expect(receiver.listenerCount('conclude')).toBe(before - 1);
    pc.sendClose(1000, '');
    await pc.whenCloseFrame();
    expect(events).toEqual([]);
  });

  it('refuses loudly a ws without the private receiver', () => {
    expect(() => receiverOf({} as WebSocket)).toThrow(/no private receiver emitting 'conclude'/);
  });
});

describe('the Close code ws sent when it failed the connection (private status symbol)', () => {
  it.each([
    ['an invalid frame', (pc: PeerConnection) => pc.sendInvalidFrame(), 1002],
    // A text frame whose payload is not UTF-8: RFC 6455 §8.1, ws fails with 1007.
    ['invalid UTF-8', (pc: PeerConnection) => pc.sendRaw(new Uint8Array([0x81, 0x02, 0xc3, 0x28])), 1007],
  ])('is read from the error of %s', async (_label, provoke, code) => {
    const { ws, pc } = await openTo({ mode: 'manual' });
    const error = new Promise<Error>((resolve) => ws.once('error', resolve));
    provoke(pc);
    expect(failCloseCode(await error)).toBe(code);
    expect((await pc.whenCloseFrame()).code).toBe(code);
  });

  it('falls back to 1002 for an error without it', () => {
    expect(failCloseCode(new Error('plain'))).toBe(1002);
  });
});

describe('bufferedAmount (the public "Close frame written" signal)', () => {
  it('counts the Close frame while it is stuck and drops to 0 once it is written', async () => {
    const { ws, pc } = await openTo({ mode: 'manual' });
    pc.stopReading();
    for (let i = 0; i < 4; i++) ws.send(new Uint8Array(4 * 1024 * 1024));
    const beforeClose = ws.bufferedAmount;
    ws.close(1000, 'stuck');
    expect(beforeClose).toBeGreaterThan(0);
    expect(ws.bufferedAmount).toBeGreaterThan(beforeClose); // the Close frame is in it
    pc.resumeReading();
    await waitFor(() => ws.bufferedAmount === 0, 2000, 'bufferedAmount to drop to 0');
    expect(await pc.whenCloseFrame()).toEqual({ code: 1000, reason: 'stuck' });
  });

  it('is 0 right after close() when nothing is queued', async () => {
    const { ws } = await openTo({ mode: 'manual' });
    ws.close(1000, '');
    expect(ws.bufferedAmount).toBe(0);
  });
});

describe("ws's own close timer (closeTimeout, ws ≥ 8.19)", () => {
  it('destroys the socket after closeTimeout, which is why the actor sets it above write + read', async () => {
    const peer = await startPeer({ mode: 'silent' });
    peers.push(peer);
    const ws = new WebSocket(peer.url, { closeTimeout: 100 } as WebSocket.ClientOptions);
    sockets.push(ws);
    await new Promise((resolve) => ws.once('open', resolve));
    const started = performance.now();
    ws.close(1000, '');
    const code = await new Promise<number>((resolve) => ws.once('close', resolve));
    expect(code).toBe(1006);
    expect(performance.now() - started).toBeGreaterThanOrEqual(99);
    expect(performance.now() - started).toBeLessThan(100 + 250);
  });
});

describe("'unexpected-response'", () => {
  it('leaves ws connecting until terminate(), which the actor calls', async () => {
    const peer = await startPeer({ mode: 'http-error', status: 401 });
    peers.push(peer);
    const ws = new WebSocket(peer.url);
    sockets.push(ws);
    const events: string[] = [];
    ws.on('error', () => events.push('error'));
    ws.on('close', () => events.push('close'));
    const status = await new Promise<number>((resolve) =>
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0)),
    );
    expect(status).toBe(401);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(ws.readyState).toBe(WebSocket.CONNECTING);
    expect(events).toEqual([]);
    ws.terminate();
    await waitFor(() => events.includes('close'), 1000, 'close after terminate');
    expect(events).toEqual(['error', 'close']);
  });
});
