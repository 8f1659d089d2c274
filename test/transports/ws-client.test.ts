/**
 * The ws client transport (src/transports/ws-client.ts) on real sockets against the fault peers and real
 * ws servers, driven by the machine exactly as `createConnection` drives it: which `ws.*` events it
 * reports (read from XState inspection of the connection's actor), what reaches the peer, and what it
 * leaves behind.
 *
 * Teardown has no public signal, so those tests look where a ws user could: the listeners on the ws, on
 * its TCP socket (from ws's public 'upgrade' event) and on ws's receiver, the timers started (spies on
 * `setInterval`/`setTimeout`), and whether the TCP socket's `end` is its prototype's again (or the
 * socket destroyed). The facts are taken inside a 'close' listener, which runs once the step that
 * closed (and ran the machine's `transport.release`) is over, before ws's own cleanup on the socket's
 * 'close' (a later turn of the event loop) could hide a listener left behind.
 *
 * Expectations come from RFC 6455 and the issue (issue 9), never from the code under test.
 */
import type { IncomingMessage } from 'node:http';
import { createServer, Socket, type Server as TcpServer } from 'node:net';
import { deflateRawSync, constants as zlib } from 'node:zlib';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import type { InspectionEvent } from 'xstate';
import type { CloseInfo, ConnectionEvent, Timeouts } from '../../machines/index.js';
import type { Connection as ConnectionClass } from '../../src/core/connection-core.js';
import {
  acceptKey,
  encodeClosePayload,
  encodeFrame,
  Opcode,
  type Peer,
  type PeerConnection,
  type StartPeerOptions,
  startPeer,
} from '../../src/testing/index.js';
import type { WsClientTransport } from '../../src/transports/ws-client.js';
import { liveHandles, waitFor } from '../helpers.js';
import { startWsServer, type WsServer } from '../support/servers.js';
import { watchIntervals } from './intervals.js';

type Core = typeof import('../../src/core/connection-core.js');
type Client = typeof import('../../src/transports/ws-client.js');

// Imported inside a hook: a module that fails to load fails these tests (docs/testing.md).
let core: Core;
let client: Client;
beforeAll(async () => {
  core = await import('../../src/core/connection-core.js');
  client = await import('../../src/transports/ws-client.js');
});

/** Long enough that no deadline fires unless a test shortens it. */
const SLOW: Timeouts = { connect: 3000, write: 3000, read: 3000 };
/** More than loopback buffers hold (a few MiB): a Close queued after it waits until the peer reads. */
const STUFF = { chunks: 4, bytes: 4 * 1024 * 1024 };
/** Every ws event the transport listens to. */
const WS_EVENTS = ['upgrade', 'unexpected-response', 'open', 'message', 'ping', 'pong', 'error', 'close'];
/** A generous bound on "at once" and on a deadline's lateness. */
const BOUND_MS = 250;

const peers: Peer[] = [];
const servers: Array<{ close(): Promise<void> | void }> = [];
const connections: ConnectionClass[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(connections.splice(0).map((c) => c.terminate()));
  await Promise.all(peers.splice(0).map((p) => p.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function peer(options: StartPeerOptions): Promise<Peer> {
  const p = await startPeer(options);
  peers.push(p);
  return p;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What the transport left on the ws, its TCP socket and ws's receiver, taken right after release. */
interface Teardown {
  ws: Record<string, number>;
  /** The only 'error' listener left is not the transport's own handler. */
  errorListenerIsNoop: boolean;
  /** The transport's 'end' listener on the TCP socket is gone. */
  tcpEndListenerGone: boolean;
  /** The TCP socket has no own `end`: it is its prototype's again. */
  tcpEndIsPrototypes: boolean;
  /** The TCP socket is destroyed (release destroys a socket ws has not closed). */
  tcpDestroyed: boolean;
  /** The transport's 'conclude' and 'finish' listeners on ws's receiver are gone. */
  receiverListenersGone: boolean;
  /** `_closeFrameSent` is a plain data property again (no watch left). */
  closeFrameSent: PropertyDescriptor | undefined;
  /** The transport holds neither the ws nor the TCP socket any more. */
  transportLetGo: boolean;
  info: CloseInfo;
}

/** What the transport added at open, to compare with what is left at close. */
interface Wiring {
  tcp: Socket;
  onError: unknown;
  tcpEnd: unknown;
  receiver: NodeJS.EventEmitter;
  conclude: unknown[];
  finishBefore: unknown[];
}

/**
 * A connection built the way `createConnection` builds one, with a handle on its transport, and the
 * `ws.*` events that transport reported to the machine (from XState inspection), each with its time.
 */
function run(url: string, timeouts: Partial<Timeouts> = {}, wsOptions: WebSocket.ClientOptions = {}) {
  const resolved = { ...SLOW, ...timeouts };
  let transport: WsClientTransport | undefined;
  const reported: Array<{ event: ConnectionEvent; at: number }> = [];
  const conn: ConnectionClass = new core.Connection({
    timeouts: resolved,
    keepalive: null,
    audit: undefined,
    inspect: (event: InspectionEvent) => {
      if (
        event.type === '@xstate.event' &&
        event.actorRef === conn.actor &&
        event.event.type.startsWith('ws.')
      )
        reported.push({ event: event.event as ConnectionEvent, at: performance.now() });
    },
    trail: true,
    transport: (sink) => {
      transport = new client.WsClientTransport(
        new URL(url),
        url,
        undefined,
        wsOptions,
        client.wsCloseTimeout(resolved),
        sink,
      );
      return transport;
    },
  });
  connections.push(conn);
  let ws: WebSocket | null = null;
  let wiring: Wiring | null = null;
  let teardown: Teardown | null = null;
  let upgradeEnd: unknown[] = [];

  conn.on('close', (info) => {
    // Runs after the machine's transport.release, before ws cleans up after itself.
    const socket = ws;
    if (!socket) return;
    const counts: Record<string, number> = {};
    for (const name of WS_EVENTS) counts[name] = socket.listenerCount(name);
    const errorListeners = socket.listeners('error');
    const w = wiring;
    teardown = {
      ws: counts,
      errorListenerIsNoop: errorListeners.length === 1 && errorListeners[0] !== w?.onError,
      tcpEndListenerGone: w ? !w.tcp.listeners('end').includes(w.tcpEnd as () => void) : true,
      tcpEndIsPrototypes: w ? !Object.hasOwn(w.tcp, 'end') && w.tcp.end === Socket.prototype.end : true,
      tcpDestroyed: w ? w.tcp.destroyed : true,
      receiverListenersGone: w
        ? w.conclude.every((fn) => !w.receiver.listeners('conclude').includes(fn as () => void)) &&
          w.receiver.listeners('finish').every((fn) => w.finishBefore.includes(fn))
        : true,
      closeFrameSent: Object.getOwnPropertyDescriptor(socket, '_closeFrameSent'),
      transportLetGo: transport?.ws === null && transport?.tcp === null,
      info,
    };
  });

  return {
    conn,
    reported,
    types: () => reported.map((r) => r.event.type),
    events: () => reported.map((r) => r.event),
    at: (type: string) => reported.find((r) => r.event.type === type)?.at,
    get transport(): WsClientTransport {
      if (!transport) throw new Error('no transport made');
      return transport;
    },
    get ws(): WebSocket {
      if (!ws) throw new Error('no ws yet');
      return ws;
    },
    get wiring(): Wiring {
      if (!wiring) throw new Error('not open yet');
      return wiring;
    },
    get teardown(): Teardown {
      if (!teardown) throw new Error('the close listener did not run');
      return teardown;
    },
    /** `open()`: the transport makes its ws at once; our listeners go on after the transport's. */
    open(): Promise<void> {
      const opened = conn.open();
      const made = transport?.ws;
      if (!made) throw new Error('the transport made no ws on api.open');
      ws = made;
      made.once('upgrade', (response: IncomingMessage) => {
        const tcp = response.socket as Socket;
        upgradeEnd = tcp.listeners('end');
        made.once('open', () => {
          const receiver = (made as unknown as { _receiver: NodeJS.EventEmitter })._receiver;
          const conclude = receiver.listeners('conclude');
          wiring = {
            tcp,
            onError: made.listeners('error')[0],
            // The transport prepends its 'end' listener before ws's own.
            tcpEnd: tcp.listeners('end').find((fn) => !upgradeEnd.includes(fn) && fn.name !== 'socketOnEnd'),
            receiver,
            // ws's own listener first, then the transport's.
            conclude: conclude.slice(1),
            finishBefore: receiver.listeners('finish'),
          };
        });
      });
      return opened;
    },
  };
}

type Run = ReturnType<typeof run>;

/** Opens `c` against a peer that upgrades; resolves with the peer's side once the machine is open. */
async function opened(c: Run, p: Peer): Promise<PeerConnection> {
  await c.open();
  return p.nextConnection();
}

/** The peer stops reading and we queue more than loopback buffers hold: a Close now waits behind it. */
function stuff(c: Run, pc: PeerConnection): void {
  pc.stopReading();
  for (let i = 0; i < STUFF.chunks; i++) c.conn.send(new Uint8Array(STUFF.bytes));
}

/** Nothing of the transport's is left anywhere: only the no-op 'error' listener it adds on the ws. */
function expectReleased(t: Teardown): void {
  for (const name of WS_EVENTS) {
    expect(t.ws[name], `ws '${name}' listeners`).toBe(name === 'error' ? 1 : 0);
  }
  expect(t.errorListenerIsNoop, "the 'error' listener left is the no-op").toBe(true);
  expect(t.tcpEndListenerGone, "the TCP socket's 'end' listener is removed").toBe(true);
  // end() stays held only on a socket the release destroyed, which can write nothing more; a socket
  // ws had closed gets its prototype's end() back.
  expect(
    t.tcpEndIsPrototypes || t.tcpDestroyed,
    "the TCP socket's end() is its prototype's, or it is destroyed",
  ).toBe(true);
  expect(t.receiverListenersGone, "the receiver's 'conclude'/'finish' listeners are removed").toBe(true);
  expect(t.transportLetGo, 'the transport holds no socket').toBe(true);
  if (t.closeFrameSent) {
    expect(t.closeFrameSent, '_closeFrameSent is a plain data property').toMatchObject({ writable: true });
    expect(t.closeFrameSent.get).toBeUndefined();
    expect(t.closeFrameSent.set).toBeUndefined();
  }
}

/**
 * Timers started from the transport's own file (by stack), and every interval (intervals.ts): "our Close
 * is written" comes from ws's write callback, never a poll or a timer of the transport's.
 */
function watchTimers() {
  const intervals = watchIntervals();
  const original = globalThis.setTimeout;
  const fromTransport: string[] = [];
  const all: string[] = [];
  vi.spyOn(globalThis, 'setTimeout').mockImplementation(((...args: Parameters<typeof setTimeout>) => {
    const stack = new Error().stack ?? '';
    all.push(stack);
    // The function that called setTimeout: the first frame past this spy and vitest's.
    const caller = stack
      .split('\n')
      .slice(1)
      .find((line) => !line.includes('ws-client.test.ts') && !line.includes('@vitest/spy'));
    if (caller?.includes('src/transports/ws-client.ts')) fromTransport.push(stack);
    return original(...args);
  }) as typeof setTimeout);
  return { intervals, fromTransport, all };
}

describe('teardown: aborted while connecting', () => {
  it.each([
    ['api.close', (c: Run): void => void c.conn.close()],
    ['api.terminate', (c: Run): void => void c.conn.terminate()],
    ['the connect deadline', (): void => {}],
  ] as const)(
    'by %s: the listeners are removed, the no-op hears ws’s late abort error, TCP ends',
    { timeout: 5000 },
    async (label, abort) => {
      const p = await peer({ mode: 'no-upgrade' });
      const c = run(p.url, label === 'the connect deadline' ? { connect: 100 } : {});
      const opening = c.open();
      const { ws } = c;
      // ws's abort error is emitted on a later tick through a bound `emit`: watch it from the start.
      const emitted: Array<{ event: string; message?: string; errorListeners: number }> = [];
      const emit = ws.emit.bind(ws);
      ws.emit = ((event: string, ...args: unknown[]) => {
        emitted.push({
          event,
          message: args[0] instanceof Error ? args[0].message : undefined,
          errorListeners: ws.listenerCount('error'),
        });
        return emit(event, ...args);
      }) as typeof ws.emit;
      const pc = await p.nextConnection();
      abort(c);
      const info = await c.conn.closed;
      expect(info.initiator).toBe('local');
      expect(info.error?.code).toBe(label === 'the connect deadline' ? 'ERR_CONNECT_TIMEOUT' : undefined);
      await expect(opening).rejects.toMatchObject({
        code: label === 'the connect deadline' ? 'ERR_CONNECT_TIMEOUT' : 'ERR_CONNECT_ABORTED',
      });
      expectReleased(c.teardown);
      await waitFor(() => ws.readyState === WebSocket.CLOSED, 1000, 'ws to close');
      // The abort error came after the transport let go, and only the no-op heard it.
      const late = emitted.filter((e) => e.event === 'error');
      expect(late).toEqual([
        {
          event: 'error',
          message: 'WebSocket was closed before the connection was established',
          errorListeners: 1,
        },
      ]);
      // Nothing of it reached the machine: it had closed.
      expect(c.types()).toEqual([]);
      await waitFor(() => pc.clientEnded || pc.tcpClosed, 1000, 'our side of TCP to end');
    },
  );
});

describe('teardown: after the connection closed', () => {
  it('a clean close: nothing of the transport is left on the ws, its TCP socket or the receiver', {
    timeout: 5000,
  }, async () => {
    const p = await peer({ mode: 'echo' });
    const c = run(p.url);
    const pc = await opened(c, p);
    // While open: the TCP socket's end() is held (ws would end TCP first, RFC 6455 §7.1.1).
    expect(Object.hasOwn(c.wiring.tcp, 'end')).toBe(true);
    expect(c.wiring.tcpEnd).toBeTypeOf('function');
    expect(c.wiring.conclude).toHaveLength(1);
    const info = await c.conn.close(4000, 'bye');
    expect(info).toEqual({ code: 4000, reason: 'bye', wasClean: true, initiator: 'local' });
    expect(await pc.whenCloseFrame()).toEqual({ code: 4000, reason: 'bye' });
    expectReleased(c.teardown);
    expect(c.teardown.closeFrameSent).toEqual({
      value: true,
      writable: true,
      enumerable: true,
      configurable: true,
    });
    expect(c.types()).toEqual(['ws.open', 'ws.flushed', 'ws.close-received', 'ws.closed']);
    await waitFor(() => c.ws.readyState === WebSocket.CLOSED, 1000, 'ws to close');
  });

  it('the read deadline: the ws is destroyed and released, the peer sees TCP end', {
    timeout: 5000,
  }, async () => {
    const p = await peer({ mode: 'silent' });
    const c = run(p.url, { read: 100 });
    const pc = await opened(c, p);
    const info = await c.conn.close(1000, '');
    expect(info.error?.code).toBe('ERR_READ_DEADLINE');
    expectReleased(c.teardown);
    expect(c.types()).toEqual(['ws.open', 'ws.flushed']);
    await waitFor(() => c.ws.readyState === WebSocket.CLOSED, 1000, 'ws to close');
    await waitFor(() => pc.clientEnded || pc.tcpClosed, 1000, 'our side of TCP to end');
  });

  it('a TCP reset: ws has closed by the release, and the TCP socket gets its prototype’s end() back', {
    timeout: 5000,
  }, async () => {
    const p = await peer({ mode: 'reset', afterMs: 20 });
    const c = run(p.url);
    await c.open();
    const info = await c.conn.closed;
    expect(info).toMatchObject({ code: 1006, wasClean: false, initiator: 'remote' });
    expect(info.error?.code).toBe('ERR_SOCKET');
    expect(c.types()).toEqual(['ws.open', 'ws.closed']);
    expectReleased(c.teardown);
    expect(c.teardown.tcpEndIsPrototypes).toBe(true);
  });

  it('20 connections in a row: no timer of the transport’s, and none left running', {
    timeout: 10_000,
  }, async () => {
    const p = await peer({ mode: 'echo' });
    const before = liveHandles();
    const timers = watchTimers();
    const perConnection: number[] = [];
    for (let i = 0; i < 20; i++) {
      const started = timers.all.length;
      const c = run(p.url);
      await c.open();
      const info = await c.conn.close(1000, '');
      expect(info.wasClean).toBe(true);
      perConnection.push(timers.all.length - started);
    }
    expect(timers.fromTransport).toEqual([]);
    expect(timers.intervals.started()).toEqual([]);
    // The same timers per connection (the named deadlines and ws's own close timer): none accumulate.
    expect(new Set(perConnection).size, `setTimeout calls per connection: ${perConnection}`).toBe(1);
    vi.restoreAllMocks();
    await waitFor(
      () => liveHandles().timers <= before.timers,
      1000,
      `timers back to ${before.timers} (now ${liveHandles().timers})`,
    );
  });
});

describe('our Close is written: reported from ws’s own write callback, never a poll', () => {
  it('a Close written at once is reported once, and no interval or timer of the transport’s starts', {
    timeout: 5000,
  }, async () => {
    const p = await peer({ mode: 'manual' });
    const c = run(p.url);
    const pc = await opened(c, p);
    const timers = watchTimers();
    void c.conn.close(4002, 'at once');
    expect(await pc.whenCloseFrame()).toEqual({ code: 4002, reason: 'at once' });
    await waitFor(() => c.conn.state === 'draining', 1000, 'draining');
    await sleep(50);
    expect(c.types()).toEqual(['ws.open', 'ws.flushed']);
    expect(timers.intervals.started()).toEqual([]);
    expect(timers.fromTransport).toEqual([]);
    pc.sendClose(4002, 'at once');
    pc.end();
    expect(await c.conn.closed).toEqual({
      code: 4002,
      reason: 'at once',
      wasClean: true,
      initiator: 'local',
    });
  });

  it('a Close stuck behind 16 MiB the peer does not read is reported when the peer resumes, not before', {
    timeout: 10_000,
  }, async () => {
    const p = await peer({ mode: 'manual' });
    const c = run(p.url);
    const pc = await opened(c, p);
    stuff(c, pc);
    const timers = watchTimers();
    void c.conn.close(4001, 'stuck');
    expect(c.conn.state).toBe('closing-sent');
    await sleep(150);
    // Still stuck: nothing to report, and nothing polls meanwhile.
    expect(c.conn.state).toBe('closing-sent');
    expect(c.types()).toEqual(['ws.open']);
    expect(timers.intervals.started()).toEqual([]);
    expect(timers.fromTransport).toEqual([]);
    const resumedAt = performance.now();
    pc.resumeReading();
    await waitFor(() => c.conn.state === 'draining', 3000, 'draining');
    expect(c.types()).toEqual(['ws.open', 'ws.flushed']);
    expect(c.at('ws.flushed')).toBeGreaterThanOrEqual(resumedAt);
    expect(await pc.whenCloseFrame(3000)).toEqual({ code: 4001, reason: 'stuck' });
    // RFC 6455 §5.5.1: behind every message queued before it.
    expect(pc.closeFrameAt).toBe(STUFF.chunks);
    await sleep(30);
    expect(c.types()).toEqual(['ws.open', 'ws.flushed']);
    expect(timers.intervals.started()).toEqual([]);
    expect(timers.fromTransport).toEqual([]);
  });

  it('the write deadline destroys the socket and leaves nothing: no listener, no watch', {
    timeout: 5000,
  }, async () => {
    const p = await peer({ mode: 'manual' });
    const c = run(p.url, { write: 100 });
    const pc = await opened(c, p);
    stuff(c, pc);
    void c.conn.close(1000, '');
    // While stuck, the transport watches ws's flag (an accessor on the ws).
    expect(Object.getOwnPropertyDescriptor(c.ws, '_closeFrameSent')?.set).toBeTypeOf('function');
    const info = await c.conn.closed;
    expect(info).toMatchObject({ code: 1006, wasClean: false, initiator: 'local' });
    expect(info.error?.code).toBe('ERR_WRITE_DEADLINE');
    expectReleased(c.teardown);
    // Back to a plain data property, with ws's value: our Close was never written.
    expect(c.teardown.closeFrameSent).toEqual({
      value: false,
      writable: true,
      enumerable: true,
      configurable: true,
    });
    expect(c.wiring.tcp.destroyed).toBe(true);
    expect(c.types()).toEqual(['ws.open']);
    pc.resumeReading(); // a paused socket never sees the end of TCP
    await waitFor(() => pc.clientEnded || pc.tcpClosed, 1000, 'our side of TCP to end');
  });

  it('the peer’s Close first: the echo is reported written once, like our own Close', {
    timeout: 5000,
  }, async () => {
    const p = await peer({ mode: 'manual' });
    const c = run(p.url);
    const pc = await opened(c, p);
    const timers = watchTimers();
    pc.sendClose(4100, 'peer first');
    // RFC 6455 §5.5.1: the Close is answered with a Close, echoing the code.
    expect(await pc.whenCloseFrame()).toEqual({ code: 4100, reason: 'peer first' });
    await waitFor(() => c.conn.state === 'draining', 1000, 'draining');
    await sleep(30);
    expect(c.types()).toEqual(['ws.open', 'ws.close-received', 'ws.flushed']);
    pc.end();
    const info = await c.conn.closed;
    expect(info).toEqual({ code: 4100, reason: 'peer first', wasClean: true, initiator: 'remote' });
    expect(c.types()).toEqual(['ws.open', 'ws.close-received', 'ws.flushed', 'ws.closed']);
    expect(timers.intervals.started()).toEqual([]);
    expect(timers.fromTransport).toEqual([]);
  });
});

describe('TCP end is the machine’s: the server ends TCP first (RFC 6455 §7.1.1)', () => {
  it('a server that echoes our Close but never ends TCP: no FIN from us, then a clean cut at the read deadline', {
    timeout: 5000,
  }, async () => {
    const read = 400;
    const p = await peer({ mode: 'manual' });
    const c = run(p.url, { read });
    const pc = await opened(c, p);
    let endedAtClose: boolean | undefined;
    c.conn.on('state', (record) => {
      if (record.to === 'closed') endedAtClose = pc.clientEnded;
    });
    const closing = c.conn.close(1000, '');
    expect(await pc.whenCloseFrame()).toEqual({ code: 1000, reason: '' });
    pc.sendClose(1000, '');
    await waitFor(() => c.types().includes('ws.close-received'), 1000, "the peer's Close");
    // Half the read deadline later we still have not ended TCP: the server must end it first.
    await sleep(read / 2);
    expect(pc.clientEnded).toBe(false);
    expect(c.conn.state).toBe('draining');
    const info = await closing;
    expect(info).toEqual({ code: 1000, reason: '', wasClean: true, initiator: 'local' });
    expect(info.error).toBeUndefined();
    expect(endedAtClose).toBe(false);
    const trail = c.conn.trail;
    const draining = trail.find((r) => r.to === 'draining');
    const closed = trail.find((r) => r.to === 'closed');
    expect(closed?.event).toBe('xstate.after.read.connection.draining');
    const waited = (closed?.elapsedMs ?? 0) - (draining?.elapsedMs ?? 0);
    expect(waited).toBeGreaterThanOrEqual(read - 5);
    expect(waited).toBeLessThan(read + BOUND_MS);
    // Then our socket is destroyed: TCP is gone, and nothing followed our Close on the wire.
    expect(c.wiring.tcp.destroyed).toBe(true);
    await waitFor(() => pc.clientEnded, 1000, 'the end of our side of TCP');
    expect(pc.frames.at(-1)?.kind).toBe('close');
    expect(pc.frameCounts.close).toBe(1);
    expectReleased(c.teardown);
  });

  it('a server that ends TCP right after its echo: closed at once, clean', { timeout: 5000 }, async () => {
    const p = await peer({ mode: 'manual' });
    const c = run(p.url);
    const pc = await opened(c, p);
    const closing = c.conn.close(1000, 'done');
    expect(await pc.whenCloseFrame()).toEqual({ code: 1000, reason: 'done' });
    await waitFor(() => c.conn.state === 'draining', 1000, 'draining');
    // We have not ended TCP before the server.
    expect(pc.clientEnded).toBe(false);
    pc.sendClose(1000, 'done');
    const endedAt = performance.now();
    pc.end();
    const info = await closing;
    expect(performance.now() - endedAt).toBeLessThan(BOUND_MS);
    expect(info).toEqual({ code: 1000, reason: 'done', wasClean: true, initiator: 'local' });
    expect(c.types()).toEqual(['ws.open', 'ws.flushed', 'ws.close-received', 'ws.closed']);
    await pc.whenTcpClosed(1000);
    expect(pc.frameCounts.close).toBe(1);
    expectReleased(c.teardown);
  });
});

describe('the peer’s FIN with no Close (issue 9, item 6)', () => {
  it('while our writes are queued behind a peer that stopped reading: reported at once, 1006', {
    timeout: 5000,
  }, async () => {
    const p = await peer({ mode: 'manual' });
    const c = run(p.url);
    const pc = await opened(c, p);
    stuff(c, pc);
    const endedAt = performance.now();
    pc.end();
    const info = await c.conn.closed;
    expect(performance.now() - endedAt).toBeLessThan(BOUND_MS);
    expect(info).toMatchObject({ code: 1006, reason: '', wasClean: false, initiator: 'remote' });
    expect(info.error?.code).toBe('ERR_SOCKET');
    expect(c.events()).toEqual([
      { type: 'ws.open', protocol: '' },
      { type: 'ws.closed', code: 1006, reason: '' },
    ]);
    expectReleased(c.teardown);
  });
});

/**
 * A permessage-deflate server that, once upgraded, writes a compressed text message, a Close and its
 * FIN in one burst: ws is still inflating the message when TCP's end arrives.
 */
async function burstServer(text: string, close: { code: number; reason: string }) {
  const sockets = new Set<Socket>();
  const server: TcpServer = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      if (head.indexOf('\r\n\r\n') === -1) return;
      socket.off('data', onData);
      const key = /^sec-websocket-key:\s*(\S+)\s*$/im.exec(head.toString('latin1'))?.[1] ?? '';
      socket.write(
        'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          `Sec-WebSocket-Accept: ${acceptKey(key)}\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n`,
      );
      // RFC 7692 §7.2.1: deflate, sync-flush, drop the trailing 00 00 ff ff; RSV1 marks it compressed.
      const deflated = deflateRawSync(Buffer.from(text), { finishFlush: zlib.Z_SYNC_FLUSH });
      const frame = encodeFrame(Opcode.text, deflated.subarray(0, deflated.length - 4));
      frame[0] = (frame[0] ?? 0) | 0x40;
      const closeFrame = encodeFrame(Opcode.close, encodeClosePayload(close.code, close.reason));
      // Keep reading (our echo, if any); write the burst a little after the upgrade answer.
      socket.resume();
      setTimeout(() => socket.end(Buffer.concat([frame, closeFrame])), 20);
    };
    socket.on('data', onData);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const handle = {
    url: `ws://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  servers.push(handle);
  return handle;
}

describe('a compressed message, then the peer’s Close and FIN', () => {
  const TEXT = 'compressed '.repeat(30_000);

  it('from a ws server with permessage-deflate that sends a message and close()s: delivered, clean', {
    timeout: 5000,
  }, async () => {
    const server: WsServer = await startWsServer({ perMessageDeflate: true, echo: false });
    servers.push(server);
    server.wss.on('connection', (socket) => {
      socket.send(TEXT);
      socket.close(1000, 'bye');
    });
    const c = run(server.url, { write: 1000, read: 1000 });
    const messages: unknown[] = [];
    c.conn.on('message', (data) => messages.push(data));
    await c.open();
    const info = await c.conn.closed;
    expect(messages).toEqual([TEXT]);
    expect(info).toEqual({ code: 1000, reason: 'bye', wasClean: true, initiator: 'remote' });
    expect(c.conn.trail.map((r) => r.to)).toEqual([
      'idle',
      'connecting',
      'open',
      'closing-sent',
      'draining',
      'closed',
    ]);
  });

  it('all in one burst: the message is delivered, the peer’s Close kept, and nothing waits for a deadline', {
    timeout: 5000,
  }, async () => {
    const server = await burstServer(TEXT, { code: 1000, reason: 'bye' });
    const c = run(server.url, { write: 1000, read: 1000 });
    const messages: unknown[] = [];
    const replies: unknown[] = [];
    c.conn.on('message', (data) => {
      messages.push(data);
      // The peer's FIN has arrived: a reply can no longer go out, so it must not be taken silently.
      try {
        c.conn.send('reply');
        replies.push('accepted');
      } catch (error) {
        replies.push((error as { code?: string }).code);
      }
    });
    await c.open();
    const started = performance.now();
    const info = await c.conn.closed;
    expect(messages).toEqual([TEXT]);
    expect(replies).toEqual(['ERR_INVALID_STATE']);
    // ws processed the peer's Close only after TCP's end, when Node's socket takes no more writes
    // (ws-internals.test.ts): no echo can be written, so the handshake did not complete (RFC 6455
    // §7.1.1) — but the peer's Close arrived, and nothing failed.
    expect(info).toEqual({ code: 1000, reason: 'bye', wasClean: false, initiator: 'remote' });
    expect(c.types()).toEqual(['ws.open', 'ws.close-received', 'ws.closed']);
    expect(c.conn.trail.map((r) => r.to)).toEqual(['idle', 'connecting', 'open', 'closing-sent', 'closed']);
    // Well before either deadline: nothing waited for a write that could not come.
    expect(performance.now() - started).toBeLessThan(BOUND_MS);
    expectReleased(c.teardown);
  });
});

describe('what the transport reports', () => {
  it('a refused upgrade once, as ws.handshake-failed with the status; the request is aborted', {
    timeout: 5000,
  }, async () => {
    const p = await peer({ mode: 'http-error', status: 403 });
    const c = run(p.url);
    const opening = c.open();
    const info = await c.conn.closed;
    await expect(opening).rejects.toMatchObject({ code: 'ERR_CONNECT_FAILED', status: 403 });
    expect(info.error).toMatchObject({ code: 'ERR_CONNECT_FAILED', status: 403 });
    expect(c.types()).toEqual(['ws.handshake-failed']);
    const [failed] = c.events();
    expect(failed?.type === 'ws.handshake-failed' && failed.error.status).toBe(403);
    // ws leaves the request open after 'unexpected-response' (ws-internals.test.ts) unless aborted.
    expect(c.ws.readyState).not.toBe(WebSocket.CONNECTING);
    expectReleased(c.teardown);
    await waitFor(() => c.ws.readyState === WebSocket.CLOSED, 1000, 'ws to close');
  });

  it('a protocol error once, as ws.protocol-error with the Close code ws sent (RFC 6455 §7.1.7)', {
    timeout: 5000,
  }, async () => {
    const p = await peer({ mode: 'manual' });
    const c = run(p.url);
    const pc = await opened(c, p);
    pc.sendInvalidFrame();
    const info = await c.conn.closed;
    expect(info.error).toMatchObject({ code: 'ERR_PROTOCOL', closeCode: 1002 });
    expect(c.types()).toEqual(['ws.open', 'ws.protocol-error']);
    expect((await pc.whenCloseFrame()).code).toBe(1002);
    expectReleased(c.teardown);
  });
});
