/**
 * The ws actor (src/ws-actor.ts) on real sockets against the fault peers, run inside the machine as
 * `createConnection` runs it: which `ws.*` events it reports (read from XState inspection), what reaches
 * the peer, and what it leaves behind.
 *
 * Teardown has no public signal, so those tests look where a ws user could: the listeners on the ws and
 * on its TCP socket (from ws's public 'upgrade' event), and the intervals started (a spy on
 * `setInterval`). Everything else is observed from outside.
 */
import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { type AnyActorRef, createActor, type InspectionEvent } from 'xstate';
import type { CloseInfo, ConnectionEvent, Timeouts } from '../../machines/index.js';
import { type Peer, type PeerConnection, type StartPeerOptions, startPeer } from '../../src/testing/index.js';
import { waitFor } from '../helpers.js';
import { watchIntervals } from './intervals.js';

type WsActorModule = typeof import('../../src/transports/ws-client.js');

// Imported inside a hook: a module that fails to load fails these tests (docs/testing.md).
let wsActor: WsActorModule;
beforeAll(async () => {
  wsActor = await import('../../src/transports/ws-client.js');
});

/** Long enough that no deadline fires unless a test shortens it. */
const SLOW: Timeouts = { connect: 3000, write: 3000, read: 3000 };
/** Enough to keep our Close behind data a paused peer never reads (loopback buffers hold a few MiB). */
const STUFF = { chunks: 4, bytes: 4 * 1024 * 1024 };
/** Every ws event the actor listens to. */
const WS_EVENTS = ['upgrade', 'unexpected-response', 'open', 'message', 'error', 'close'] as const;

const peers: Peer[] = [];
const actors: AnyActorRef[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const actor of actors.splice(0)) actor.stop();
  await Promise.all(peers.splice(0).map((p) => p.close()));
});

async function peer(options: StartPeerOptions): Promise<Peer> {
  const p = await startPeer(options);
  peers.push(p);
  return p;
}

let counter = 0;

/** The connection machine with the ws actor, as `createConnection` runs it, and what the actor reports. */
function run(url: string, timeouts: Partial<Timeouts> = {}) {
  const id = `ws-actor-test-${++counter}`;
  const link = new wsActor.SocketLink(new URL(url), url, undefined, {}, () => {});
  wsActor.provideLink(id, link);
  /** The `ws.*` events the actor sent to the machine, in order. */
  const reported: ConnectionEvent[] = [];
  const actor = createActor(wsActor.wsConnectionMachine, {
    input: { connectionId: id, timeouts: { ...SLOW, ...timeouts } },
    inspect: (event: InspectionEvent) => {
      if (event.type === '@xstate.event' && event.event.type.startsWith('ws.') && event.actorRef === actor)
        reported.push(event.event as ConnectionEvent);
    },
  });
  actors.push(actor);
  const closed = new Promise<CloseInfo>((resolve) => {
    actor.subscribe({ complete: () => resolve(actor.getSnapshot().output as CloseInfo) });
  });
  actor.start();
  let tcp: Socket | null = null;
  return {
    actor,
    link,
    reported,
    closed,
    types: () => reported.map((event) => event.type),
    state: () => actor.getSnapshot().value as string,
    /** The TCP socket under the ws, once upgraded (from ws's public 'upgrade' event). */
    tcp: () => {
      if (!tcp) throw new Error('not upgraded');
      return tcp;
    },
    /** `api.open`: the actor makes its ws at once; returns it. */
    open(): WebSocket {
      actor.send({ type: 'api.open' });
      const ws = link.ws;
      if (!ws) throw new Error('the actor made no ws on api.open');
      ws.once('upgrade', (response: IncomingMessage) => {
        tcp = response.socket as Socket;
      });
      return ws;
    },
  };
}

type Run = ReturnType<typeof run>;

/** Opens `c` against a peer that upgrades; resolves once the machine is open. */
async function opened(c: Run, p: Peer): Promise<{ ws: WebSocket; pc: PeerConnection }> {
  const ws = c.open();
  const pc = await p.nextConnection();
  await waitFor(() => c.state() === 'open', 2000, 'open');
  return { ws, pc };
}

/** The peer stops reading and we queue more than loopback buffers hold: a Close now waits behind it. */
function stuff(c: Run, pc: PeerConnection): void {
  pc.stopReading();
  for (let i = 0; i < STUFF.chunks; i++) c.link.send(new Uint8Array(STUFF.bytes));
}

/** None of the actor's listeners is left on the ws; only the no-op 'error' listener it adds at the end. */
function expectReleased(ws: WebSocket): void {
  for (const event of WS_EVENTS) {
    expect(ws.listenerCount(event), `ws '${event}' listeners`).toBe(event === 'error' ? 1 : 0);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('teardown: aborted while connecting', () => {
  it.each([
    ['api.close', (c: Run) => c.actor.send({ type: 'api.close', code: 1000, reason: '' })],
    ['api.terminate', (c: Run) => c.actor.send({ type: 'api.terminate' })],
    ['the connect deadline', () => {}],
  ] as const)(
    'by %s: our listeners are removed, a no-op hears ws’s late abort error, TCP ends',
    async (label, abort) => {
      const p = await peer({ mode: 'no-upgrade' });
      const c = run(p.url, label === 'the connect deadline' ? { connect: 100 } : {});
      const ws = c.open();
      const pc = await p.nextConnection();
      abort(c);
      const info = await c.closed;
      expect(info.initiator).toBe('local');
      expect(info.error?.code).toBe(label === 'the connect deadline' ? 'ERR_CONNECT_TIMEOUT' : undefined);
      // ws emits an 'error' for the abort on a later tick, after the actor let go: the no-op hears it.
      expectReleased(ws);
      await waitFor(() => ws.readyState === WebSocket.CLOSED, 1000, 'ws to close');
      expect(c.types()).toEqual([]);
      await waitFor(() => pc.clientEnded || pc.tcpClosed, 1000, 'our side of TCP to end');
    },
  );
});

describe('teardown: after the connection closed', () => {
  it('after a clean close, the ws is closed and neither it nor its TCP socket holds a listener of ours', async () => {
    const p = await peer({ mode: 'echo' });
    const c = run(p.url);
    const intervals = watchIntervals();
    const { ws, pc } = await opened(c, p);
    const drainBefore = c.tcp().listenerCount('drain');
    c.actor.send({ type: 'api.close', code: 4000, reason: 'bye' });
    const info = await c.closed;
    expect(info).toEqual({ code: 4000, reason: 'bye', wasClean: true, initiator: 'local' });
    expect(await pc.whenCloseFrame()).toEqual({ code: 4000, reason: 'bye' });
    expect(ws.readyState).toBe(WebSocket.CLOSED);
    expectReleased(ws);
    expect(c.tcp().listenerCount('drain')).toBe(drainBefore);
    expect(intervals.started()).toEqual([]);
    expect(c.types()).toEqual(['ws.open', 'ws.flushed', 'ws.close-received', 'ws.closed']);
    expect(c.link.ws).toBeNull();
  });

  it('a read deadline ends the connection: the ws is destroyed and released, the peer sees TCP end', async () => {
    const p = await peer({ mode: 'silent' });
    const c = run(p.url, { read: 100 });
    const { ws, pc } = await opened(c, p);
    c.actor.send({ type: 'api.close', code: 1000, reason: '' });
    const info = await c.closed;
    expect(info.error?.code).toBe('ERR_READ_DEADLINE');
    expectReleased(ws);
    await waitFor(() => ws.readyState === WebSocket.CLOSED, 1000, 'ws to close');
    await waitFor(() => pc.clientEnded || pc.tcpClosed, 1000, 'our side of TCP to end');
  });
});

describe('the flush watch: our Close stuck behind data the peer does not read', () => {
  it('watches the TCP socket’s drain and polls meanwhile; reports ws.flushed on that drain, then drops both', async () => {
    const p = await peer({ mode: 'manual' });
    const c = run(p.url);
    const { pc } = await opened(c, p);
    const tcp = c.tcp();
    const drainBefore = tcp.listenerCount('drain');
    stuff(c, pc);
    const intervals = watchIntervals();
    c.actor.send({ type: 'api.close', code: 4001, reason: 'stuck' });
    expect(c.state()).toBe('closing-sent');
    expect(tcp.listenerCount('drain')).toBe(drainBefore + 1);
    expect(intervals.running()).toHaveLength(1);
    await sleep(30); // a few polls while still stuck: nothing to report
    expect(c.types()).toEqual(['ws.open']);
    // Listeners run in order: the actor's first, so this one sees what it did on the same 'drain'.
    let stateOnDrain: string | undefined;
    tcp.once('drain', () => {
      stateOnDrain = c.state();
    });
    pc.resumeReading();
    await waitFor(() => c.state() === 'draining', 2000, 'draining');
    expect(stateOnDrain).toBe('draining');
    expect(tcp.listenerCount('drain')).toBe(drainBefore);
    expect(intervals.running()).toEqual([]);
    expect(await pc.whenCloseFrame()).toEqual({ code: 4001, reason: 'stuck' });
    expect(pc.closeFrameAt).toBe(STUFF.chunks); // behind every message queued before it (§5.5.1)
    await sleep(30);
    expect(c.types()).toEqual(['ws.open', 'ws.flushed']);
  });

  it('a Close written at once is reported once, with no watch at all', async () => {
    const p = await peer({ mode: 'manual' });
    const c = run(p.url);
    const { pc } = await opened(c, p);
    const drainBefore = c.tcp().listenerCount('drain');
    const intervals = watchIntervals();
    c.actor.send({ type: 'api.close', code: 4002, reason: 'at once' });
    expect(c.state()).toBe('draining');
    expect(c.tcp().listenerCount('drain')).toBe(drainBefore);
    expect(intervals.started()).toEqual([]);
    await sleep(30);
    expect(c.types()).toEqual(['ws.open', 'ws.flushed']);
    expect(await pc.whenCloseFrame()).toEqual({ code: 4002, reason: 'at once' });
  });

  it('the write deadline destroys the socket, drops the watch and clears the poll', async () => {
    const p = await peer({ mode: 'manual' });
    const c = run(p.url, { write: 100 });
    const { ws, pc } = await opened(c, p);
    const tcp = c.tcp();
    const drainBefore = tcp.listenerCount('drain');
    stuff(c, pc);
    const intervals = watchIntervals();
    c.actor.send({ type: 'api.close', code: 1000, reason: '' });
    const info = await c.closed;
    expect(info.error?.code).toBe('ERR_WRITE_DEADLINE');
    expect(intervals.started()).toHaveLength(1);
    expect(intervals.running()).toEqual([]);
    expect(tcp.listenerCount('drain')).toBe(drainBefore);
    expect(tcp.destroyed).toBe(true);
    expectReleased(ws);
    expect(c.types()).toEqual(['ws.open']);
    pc.resumeReading(); // a paused socket never sees the end of TCP
    await waitFor(() => pc.clientEnded || pc.tcpClosed, 1000, 'our side of TCP to end');
  });

  it('the peer’s Close first: the echo is reported written once, like our own Close', async () => {
    const p = await peer({ mode: 'manual' });
    const c = run(p.url);
    const { pc } = await opened(c, p);
    const intervals = watchIntervals();
    pc.sendClose(4100, 'peer first');
    await waitFor(() => c.state() === 'draining', 2000, 'draining');
    expect(await pc.whenCloseFrame()).toEqual({ code: 4100, reason: 'peer first' });
    pc.end();
    const info = await c.closed;
    expect(info).toEqual({ code: 4100, reason: 'peer first', wasClean: true, initiator: 'remote' });
    expect(intervals.running()).toEqual([]);
    expect(c.types()).toEqual(['ws.open', 'ws.close-received', 'ws.flushed', 'ws.closed']);
  });
});

describe('what the actor reports', () => {
  it('a refused upgrade once, as ws.handshake-failed with the status; the request is aborted', async () => {
    const p = await peer({ mode: 'http-error', status: 403 });
    const c = run(p.url);
    const ws = c.open();
    const info = await c.closed;
    expect(info.error).toMatchObject({ code: 'ERR_CONNECT_FAILED', status: 403 });
    expect(ws.readyState).not.toBe(WebSocket.CONNECTING);
    expectReleased(ws);
    await waitFor(() => ws.readyState === WebSocket.CLOSED, 1000, 'ws to close');
    expect(c.types()).toEqual(['ws.handshake-failed']);
  });

  it('fails loudly, at once, when started without its link (a connection always provides one)', () => {
    const actor = createActor(wsActor.wsConnectionMachine, {
      input: { connectionId: 'no-such-connection', timeouts: SLOW },
    });
    const errors: unknown[] = [];
    actor.subscribe({ error: (error) => errors.push(error) });
    actor.start();
    expect(actor.getSnapshot().status).toBe('error');
    expect(errors).toHaveLength(1);
    expect((errors[0] as Error).message).toBe(
      'ws-lifecycle: no socket link for connection no-such-connection',
    );
  });
});

describe('ws internals: the guards around private API', () => {
  it('reads the Close code only from ws’s status-code symbol, and only a number', () => {
    const { failCloseCode } = wsActor;
    const tagged = (entries: [string, unknown][]) => {
      const error = new Error('x');
      for (const [name, value] of entries) Object.defineProperty(error, Symbol(name), { value });
      return error;
    };
    expect(
      failCloseCode(
        tagged([
          ['other', 4000],
          ['status-code', 1009],
        ]),
      ),
    ).toBe(1009);
    expect(failCloseCode(tagged([['status-code', '1009']]))).toBe(1002);
  });

  it('refuses a receiver that ws does not listen to for “conclude”', () => {
    const fake = { _receiver: new EventEmitter() } as unknown as WebSocket;
    expect(() => wsActor.receiverOf(fake)).toThrow(/no private receiver emitting 'conclude'/);
  });
});
