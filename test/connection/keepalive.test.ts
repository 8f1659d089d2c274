/**
 * Keepalive over real sockets (issue 11): activity-based pings, the pong deadline, the application
 * heartbeat, `conn.ping()` and `conn.latency`, and the 'ping'/'pong' events, against the fault peers of
 * src/testing/peer.ts on 127.0.0.1. RFC 6455 §5.5.2 (Ping), §5.5.3 (Pong), §7.1.7 (_Fail the WebSocket
 * Connection_).
 *
 * Times: the client's side is `performance.now()` in this process (the peers run here too); the peer's
 * side is `PeerFrame.elapsedMs`, one clock per peer connection. The bounds are the contract's:
 * activity is sampled (at most one report per min(50, interval/4) ms), so a ping may leave up to 50 ms
 * early, never late; a dead peer is found within interval + timeout of the last frame; upper bounds get
 * the suite's usual +250 ms for a loaded machine. Lower bounds get 5 ms for timer rounding.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type Connection, createConnection, MAX_PINGS_IN_FLIGHT } from '../../src/connection.js';
import type { CloseInfo, ConnectionError, ConnectionOptions } from '../../src/index.js';
import { type Peer, type PeerConnection, type StartPeerOptions, startPeer } from '../../src/testing/index.js';
import { expectNoLeaks, liveHandles, waitFor } from '../helpers.js';

/** How early a ping may leave because activity is sampled (the contract's bound). */
const SAMPLE_MS = 50;
/** Slack on upper bounds, for a loaded machine. */
const LATE_MS = 250;
/** Slack on lower bounds: timers are scheduled in whole ms from the loop's cached time. */
const ROUNDING_MS = 5;

const peers: Peer[] = [];
const connections: Connection[] = [];
afterEach(async () => {
  await Promise.all(connections.splice(0).map((c) => c.terminate()));
  await Promise.all(peers.splice(0).map((p) => p.close()));
});

async function peer(options: StartPeerOptions): Promise<Peer> {
  const p = await startPeer(options);
  peers.push(p);
  return p;
}

function connect(url: string, options: ConnectionOptions = {}): Connection {
  const conn = createConnection(url, { timeouts: { connect: 2000, write: 1000, read: 1000 }, ...options });
  connections.push(conn);
  return conn;
}

/** Everything a connection reports, with the time it happened. */
interface Seen {
  messages: Array<{ data: string | Uint8Array; at: number }>;
  errors: ConnectionError[];
  closes: CloseInfo[];
  closedAt: number;
  pongs: Array<{ rtt: number | null; at: number }>;
  pings: Array<{ data: Uint8Array; at: number }>;
}

function watch(conn: Connection): Seen {
  const seen: Seen = { messages: [], errors: [], closes: [], closedAt: Number.NaN, pongs: [], pings: [] };
  conn.on('message', (data) => seen.messages.push({ data, at: performance.now() }));
  conn.on('error', (error) => seen.errors.push(error));
  conn.on('close', (info) => {
    seen.closedAt = performance.now();
    seen.closes.push(info);
  });
  conn.on('pong', (rtt) => seen.pongs.push({ rtt, at: performance.now() }));
  conn.on('ping', (data) => seen.pings.push({ data, at: performance.now() }));
  return seen;
}

async function openWithPeer(conn: Connection, p: Peer): Promise<PeerConnection> {
  await conn.open();
  const pc = await p.nextConnection();
  await pc.whenUpgraded();
  return pc;
}

/** When the peer received each frame of `kind`, in the peer connection's own clock. */
const frameTimes = (pc: PeerConnection, kind: string) =>
  pc.frames.filter((f) => f.kind === kind).map((f) => f.elapsedMs);

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** What RFC 6455 §7.1.7 and issue 11 promise when the pong deadline fires. */
const KEEPALIVE_FAILURE = {
  code: 1006,
  reason: '',
  wasClean: false,
  initiator: 'local',
  error: expect.objectContaining({ name: 'ConnectionError', code: 'ERR_KEEPALIVE_TIMEOUT' }),
};

describe('a peer that answers nothing (no-pong) is failed by the pong deadline', () => {
  // Unequal, so that a swapped or mixed-up delay is caught by the bounds.
  const KA = { interval: 150, timeout: 500 };

  it('within interval + timeout of the last frame: 1006, local, ERR_KEEPALIVE_TIMEOUT, one error, recorded, nothing leaked', {
    timeout: 5000,
  }, async () => {
    const baseline = liveHandles();
    const p = await peer({ mode: 'no-pong' });
    const conn = connect(p.url, { keepalive: KA });
    const seen = watch(conn);
    const pc = await openWithPeer(conn, p);
    pc.sendText('last words');
    await waitFor(() => seen.messages.length === 1, 1000, 'the last frame');
    const lastFrameAt = (seen.messages[0] as { at: number }).at;

    const info = await conn.closed;
    const foundAfter = seen.closedAt - lastFrameAt;
    expect(foundAfter).toBeGreaterThanOrEqual(KA.interval + KA.timeout - SAMPLE_MS - ROUNDING_MS);
    expect(foundAfter).toBeLessThanOrEqual(KA.interval + KA.timeout + LATE_MS);

    expect(info).toEqual(KEEPALIVE_FAILURE);
    expect(seen.errors).toEqual([info.error]);
    expect(seen.closes).toEqual([info]);
    // Sub-states are not recorded; the edge that ended it is, with its error code.
    expect(conn.trail.map((r) => r.to)).toEqual(['idle', 'connecting', 'open', 'closed']);
    const closed = conn.trail.at(-1);
    expect(closed?.from).toBe('open');
    expect(closed?.event).toMatch(/^xstate\.after\.pong\./);
    expect(closed?.detail).toEqual({ code: 1006, reason: '', errorCode: 'ERR_KEEPALIVE_TIMEOUT' });

    // One ping went out (after the interval), then the deadline.
    await waitFor(() => pc.clientEnded || pc.tcpClosed, 1000, 'our side of TCP to end');
    expect(pc.frameCounts.ping).toBe(1);
    // Close 1011 "keepalive timeout" is a best effort: it arrives, or nothing does.
    expect([null, { code: 1011, reason: 'keepalive timeout' }]).toContainEqual(pc.closeFrame);
    expect(pc.frameCounts.close).toBe(pc.closeFrame ? 1 : 0);

    await p.close();
    await expectNoLeaks(baseline);
  });

  it('a peer that answers N pings, then stops, is found after it stops: one ping per interval, N pongs', {
    timeout: 5000,
  }, async () => {
    const ka = { interval: 200, timeout: 400 };
    const N = 3;
    const p = await peer({ mode: 'echo', pongReplies: N });
    const conn = connect(p.url, { keepalive: ka });
    const seen = watch(conn);
    const pc = await openWithPeer(conn, p);
    const openedAt = performance.now();

    const info = await conn.closed;
    expect(info).toEqual(KEEPALIVE_FAILURE);
    expect(seen.errors).toEqual([info.error]);

    // N pings answered, the next one not: N + 1 pings at the peer, N pongs here, each with its RTT.
    expect(pc.frameCounts.ping).toBe(N + 1);
    expect(pc.pongsSent).toBe(N);
    expect(seen.pongs).toHaveLength(N);
    for (const pong of seen.pongs) expect(pong.rtt).toBeGreaterThan(0);
    expect(conn.latency).toBe(seen.pongs.at(-1)?.rtt);

    // Each ping a full interval after the pong that answered the one before (pongs are immediate
    // here), the first an interval after open.
    const pings = frameTimes(pc, 'ping');
    for (let i = 1; i < pings.length; i++) {
      const gap = (pings[i] as number) - (pings[i - 1] as number);
      expect(gap).toBeGreaterThanOrEqual(ka.interval - SAMPLE_MS - ROUNDING_MS);
      expect(gap).toBeLessThanOrEqual(ka.interval + LATE_MS);
    }
    const firstPongAt = (seen.pongs[0] as { at: number }).at;
    expect(firstPongAt - openedAt).toBeGreaterThanOrEqual(ka.interval - ROUNDING_MS);
    expect(firstPongAt - openedAt).toBeLessThanOrEqual(ka.interval + LATE_MS);

    // Found within interval + timeout of the last frame received (the last pong).
    const lastFrameAt = (seen.pongs.at(-1) as { at: number }).at;
    expect(seen.closedAt - lastFrameAt).toBeGreaterThanOrEqual(
      ka.interval + ka.timeout - SAMPLE_MS - ROUNDING_MS,
    );
    expect(seen.closedAt - lastFrameAt).toBeLessThanOrEqual(ka.interval + ka.timeout + LATE_MS);
  });
});

describe('activity-based: a ping only after interval ms with nothing received', () => {
  it('a busy feed (50 messages a second, interval 100) is never pinged, and stays open', {
    timeout: 5000,
  }, async () => {
    const ka = { interval: 100, timeout: 100 };
    const p = await peer({ mode: 'manual' });
    const conn = connect(p.url, { keepalive: ka });
    const seen = watch(conn);
    const pc = await openWithPeer(conn, p);
    let sent = 0;
    const feed = setInterval(() => pc.sendText(`tick ${++sent}`), 20);
    try {
      await sleep(2000);
    } finally {
      clearInterval(feed);
    }
    expect(pc.frameCounts.ping).toBe(0);
    expect(conn.state).toBe('open');
    expect(sent).toBeGreaterThanOrEqual(80); // the feed really ran at about 50 a second
    await waitFor(() => seen.messages.length === sent, 1000, 'every tick');

    // The control: once the feed stops, the ping comes after an interval (the peer answers it).
    await pc.whenFrames('ping', 1, ka.interval + LATE_MS);
    await waitFor(() => seen.pongs.length === 1, 1000, 'the pong');
    expect(conn.state).toBe('open');
    expect(seen.errors).toEqual([]);
  });

  it('the first ping leaves interval ms after the last frame received (−50 ms sampling, never late)', {
    timeout: 5000,
  }, async () => {
    const ka = { interval: 250, timeout: 1000 };
    const p = await peer({ mode: 'echo' });
    const conn = connect(p.url, { keepalive: ka });
    const seen = watch(conn);
    const pc = await openWithPeer(conn, p);
    // Irregular traffic (each message echoed at once): the last echo is the last frame we receive.
    for (const gap of [0, 30, 70, 20]) {
      await sleep(gap);
      conn.send(`m${gap}`);
    }
    await waitFor(() => seen.messages.length === 4, 1000, 'the echoes');
    const lastFrameAt = (seen.messages.at(-1) as { at: number }).at;
    await pc.whenFrames('ping', 1, ka.interval + LATE_MS + 200);
    const pingSeenAt = performance.now();

    // On the peer's clock: the first ping after the last message it echoed, no ping before it.
    const texts = frameTimes(pc, 'text');
    const [firstPing] = frameTimes(pc, 'ping');
    expect(pc.frames.findIndex((f) => f.kind === 'ping')).toBe(4);
    const gap = (firstPing as number) - (texts.at(-1) as number);
    expect(gap).toBeGreaterThanOrEqual(ka.interval - SAMPLE_MS - ROUNDING_MS);
    expect(gap).toBeLessThanOrEqual(ka.interval + LATE_MS);
    // On ours: from the echo's arrival to the ping's.
    expect(pingSeenAt - lastFrameAt).toBeGreaterThanOrEqual(ka.interval - SAMPLE_MS - ROUNDING_MS);
    expect(pingSeenAt - lastFrameAt).toBeLessThanOrEqual(ka.interval + LATE_MS);

    // The pong restarts the interval: the next ping an interval after it.
    await pc.whenFrames('ping', 2, ka.interval + LATE_MS + 200);
    const [, secondPing] = frameTimes(pc, 'ping');
    expect((secondPing as number) - (firstPing as number)).toBeGreaterThanOrEqual(
      ka.interval - SAMPLE_MS - ROUNDING_MS,
    );
    expect(seen.errors).toEqual([]);
  });

  it('what we send is not activity: sending all the time, we still ping a silent peer and fail it', {
    timeout: 5000,
  }, async () => {
    const ka = { interval: 150, timeout: 150 };
    const p = await peer({ mode: 'no-pong' });
    const conn = connect(p.url, { keepalive: ka });
    const pc = await openWithPeer(conn, p);
    const chatter = setInterval(() => {
      if (conn.state === 'open') conn.send('still here');
    }, 10);
    try {
      const info = await conn.closed;
      expect(info).toEqual(KEEPALIVE_FAILURE);
    } finally {
      clearInterval(chatter);
    }
    expect(pc.frameCounts.ping).toBe(1);
    expect(pc.messageCount).toBeGreaterThan(10);
  });

  it('pings from the peer are answered (ws does) and count as activity: a peer pinging every 50 ms with interval 100 gets no ping of ours', {
    timeout: 5000,
  }, async () => {
    const ka = { interval: 100, timeout: 100 };
    const p = await peer({ mode: 'manual' });
    const conn = connect(p.url, { keepalive: ka });
    const seen = watch(conn);
    const pc = await openWithPeer(conn, p);
    let sent = 0;
    const pinger = setInterval(() => {
      sent++;
      pc.sendPing(new Uint8Array([sent & 0xff]));
    }, 50);
    try {
      await sleep(1500);
    } finally {
      clearInterval(pinger);
    }
    await waitFor(() => pc.frameCounts.pong === sent, 1000, 'a pong for every ping');
    expect(pc.frameCounts.ping).toBe(0);
    expect(sent).toBeGreaterThanOrEqual(20);
    // §5.5.3: each Pong carries its Ping's payload.
    expect(pc.pongs.map((b) => Array.from(b))).toEqual(
      Array.from({ length: sent }, (_, i) => [(i + 1) & 0xff]),
    );
    // Each of the peer's pings is reported, with its payload.
    expect(seen.pings.map((e) => Array.from(e.data))).toEqual(pc.pongs.map((b) => Array.from(b)));
    expect(conn.state).toBe('open');

    // The control: once the peer stops, we ping.
    await pc.whenFrames('ping', 1, ka.interval + LATE_MS);
  });
});

describe('keepalive: false', () => {
  it('never pings and keeps a silent peer open, where a shortened keepalive fails it', {
    timeout: 5000,
  }, async () => {
    const ka = { interval: 100, timeout: 100 };
    const p = await peer({ mode: 'no-pong' });
    const on = connect(p.url, { keepalive: ka });
    const pcOn = await openWithPeer(on, p);
    const off = connect(p.url, { keepalive: false });
    const seenOff = watch(off);
    const pcOff = await openWithPeer(off, p);

    // The control fails; the other stays open well past its interval + timeout.
    expect(await on.closed).toEqual(KEEPALIVE_FAILURE);
    expect(pcOn.frameCounts.ping).toBe(1);
    await sleep(ka.interval + ka.timeout + 500);
    expect(off.state).toBe('open');
    expect(pcOff.frameCounts.ping).toBe(0);
    expect(seenOff.closes).toEqual([]);

    const info = await off.terminate();
    expect(info).toEqual({ code: 1006, reason: '', wasClean: false, initiator: 'local' });
    expect(seenOff.errors).toEqual([]);
  });
});

describe('the application heartbeat (keepalive.message / isPong) against a JSON heartbeat server', () => {
  const PING = '{"type":"ping"}';
  const PONG = '{"type":"pong"}';
  const heartbeat = (interval: number, timeout: number) => ({
    interval,
    timeout,
    message: () => PING,
    isPong: (data: string | Uint8Array) => data === PONG,
  });

  it('heartbeats only in silence, replies delivered and timed, and a peer gone silent after N is failed', {
    timeout: 6000,
  }, async () => {
    const ka = heartbeat(200, 200);
    const N = 2;
    const p = await peer({ mode: 'json-heartbeat', heartbeatReplies: N });
    const conn = connect(p.url, { keepalive: ka });
    const seen = watch(conn);
    expect(conn.latency).toBeNull();
    const pc = await openWithPeer(conn, p);

    // Busy: our chat is echoed every 40 ms for 600 ms, so no heartbeat goes out.
    for (let i = 0; i < 15; i++) {
      conn.send(`chat ${i}`);
      await sleep(40);
    }
    expect(pc.heartbeats).toBe(0);

    const info = await conn.closed;
    expect(info).toEqual(KEEPALIVE_FAILURE);
    expect(seen.errors).toEqual([info.error]);
    // The heartbeat replaces ping frames: none at all.
    expect(pc.frameCounts.ping).toBe(0);
    // N answered, the next one not.
    expect(pc.heartbeats).toBe(N + 1);
    expect(pc.heartbeatsAnswered).toBe(N);
    // The replies still reach 'message' listeners (the library never hides data), with the echoes.
    const texts = seen.messages.map((m) => m.data);
    expect(texts.filter((d) => d === PONG)).toHaveLength(N);
    expect(texts.filter((d) => typeof d === 'string' && d.startsWith('chat '))).toHaveLength(15);
    // Each reply measured: 'pong' with its RTT, and conn.latency the last of them.
    expect(seen.pongs).toHaveLength(N);
    for (const pong of seen.pongs) expect(pong.rtt).toBeGreaterThan(0);
    expect(conn.latency).toBe(seen.pongs.at(-1)?.rtt);

    // On the peer's clock: the first heartbeat an interval after the last chat it echoed.
    const textTimes = frameTimes(pc, 'text');
    const firstBeat = pc.messages.findIndex((m) => m.data === PING);
    expect(firstBeat).toBe(15);
    const gap = (textTimes[firstBeat] as number) - (textTimes[firstBeat - 1] as number);
    expect(gap).toBeGreaterThanOrEqual(ka.interval - SAMPLE_MS - ROUNDING_MS);
    expect(gap).toBeLessThanOrEqual(ka.interval + LATE_MS);

    // Found within interval + timeout of the last frame (the last reply).
    const lastFrameAt = (seen.messages.at(-1) as { at: number }).at;
    expect(seen.messages.at(-1)?.data).toBe(PONG);
    expect(seen.closedAt - lastFrameAt).toBeLessThanOrEqual(ka.interval + ka.timeout + LATE_MS);
    expect(seen.closedAt - lastFrameAt).toBeGreaterThanOrEqual(
      ka.interval + ka.timeout - SAMPLE_MS - ROUNDING_MS,
    );
  });

  it('conn.ping() sends the heartbeat and resolves with its reply’s round trip', {
    timeout: 5000,
  }, async () => {
    const p = await peer({ mode: 'json-heartbeat' });
    const conn = connect(p.url, { keepalive: heartbeat(60_000, 10_000) });
    const seen = watch(conn);
    const pc = await openWithPeer(conn, p);
    const rtt = await conn.ping();
    expect(rtt).toBeGreaterThan(0);
    expect(rtt).toBeLessThan(1000);
    expect(conn.latency).toBe(rtt);
    expect(pc.heartbeats).toBe(1);
    expect(pc.frameCounts.ping).toBe(0);
    expect(seen.messages.map((m) => m.data)).toEqual([PONG]);
  });
});

describe('conn.ping()', () => {
  it('resolves with the round trip in ms against an echo peer and sets conn.latency (null before)', {
    timeout: 5000,
  }, async () => {
    const p = await peer({ mode: 'echo' });
    const conn = connect(p.url);
    const seen = watch(conn);
    expect(conn.latency).toBeNull();
    const pc = await openWithPeer(conn, p);
    expect(conn.latency).toBeNull();
    const t0 = performance.now();
    const rtt = await conn.ping();
    const wall = performance.now() - t0;
    expect(rtt).toBeGreaterThan(0);
    expect(rtt).toBeLessThanOrEqual(wall);
    expect(conn.latency).toBe(rtt);
    expect(pc.frameCounts.ping).toBe(1);
    expect(seen.pongs.map((e) => e.rtt)).toEqual([rtt]);
  });

  it('rejects ERR_INVALID_STATE while idle, before anything touches the network', {
    timeout: 5000,
  }, async () => {
    const p = await peer({ mode: 'echo' });
    const conn = connect(p.url);
    await expect(conn.ping()).rejects.toMatchObject({ name: 'ConnectionError', code: 'ERR_INVALID_STATE' });
    expect(conn.state).toBe('idle');
    await sleep(50);
    expect(p.connections).toHaveLength(0);
  });

  it('rejects ERR_INVALID_STATE while connecting, the state unchanged', { timeout: 5000 }, async () => {
    const p = await peer({ mode: 'no-upgrade' });
    const conn = connect(p.url);
    void conn.open();
    await p.nextConnection();
    expect(conn.state).toBe('connecting');
    await expect(conn.ping()).rejects.toMatchObject({ code: 'ERR_INVALID_STATE' });
    expect(conn.state).toBe('connecting');
  });

  it('rejects ERR_INVALID_STATE while closing (closing-sent, draining), and sends no ping', {
    timeout: 5000,
  }, async () => {
    // closing-sent: the peer stopped reading and our Close waits behind 16 MiB.
    const stuck = await peer({ mode: 'stop-reading' });
    const a = connect(stuck.url, { timeouts: { connect: 2000, write: 3000, read: 1000 } });
    await openWithPeer(a, stuck);
    for (let i = 0; i < 4; i++) a.send(new Uint8Array(4 * 1024 * 1024));
    void a.close();
    expect(a.state).toBe('closing-sent');
    await expect(a.ping()).rejects.toMatchObject({ code: 'ERR_INVALID_STATE' });
    expect(a.state).toBe('closing-sent');

    // draining: our Close is out, the peer never answers it.
    const silent = await peer({ mode: 'silent' });
    const b = connect(silent.url, { timeouts: { connect: 2000, write: 1000, read: 3000 } });
    const pc = await openWithPeer(b, silent);
    void b.close();
    await waitFor(() => b.state === 'draining', 1000, 'draining');
    await expect(b.ping()).rejects.toMatchObject({ code: 'ERR_INVALID_STATE' });
    await pc.whenCloseFrame();
    await sleep(50);
    expect(pc.frameCounts.ping).toBe(0);
    expect(b.state).toBe('draining');
  });

  it('rejects ERR_INVALID_STATE once closed', { timeout: 5000 }, async () => {
    const p = await peer({ mode: 'echo' });
    const conn = connect(p.url);
    const pc = await openWithPeer(conn, p);
    await conn.close();
    await expect(conn.ping()).rejects.toMatchObject({ code: 'ERR_INVALID_STATE' });
    expect(pc.frameCounts.ping).toBe(0);
  });

  it('when the connection ends before the pong: rejects ERR_INVALID_STATE after terminate() (no error)', {
    timeout: 5000,
  }, async () => {
    const p = await peer({ mode: 'no-pong' });
    const conn = connect(p.url, { keepalive: false });
    const pc = await openWithPeer(conn, p);
    const ping = conn.ping();
    await pc.whenFrames('ping', 1);
    const info = await conn.terminate();
    expect(info.error).toBeUndefined();
    await expect(ping).rejects.toMatchObject({ name: 'ConnectionError', code: 'ERR_INVALID_STATE' });
    expect(conn.latency).toBeNull();
  });

  it("when the connection ends before the pong: rejects with that outcome's error (the keepalive timeout)", {
    timeout: 5000,
  }, async () => {
    const p = await peer({ mode: 'no-pong' });
    const conn = connect(p.url, { keepalive: { interval: 150, timeout: 150 } });
    await openWithPeer(conn, p);
    const ping = conn.ping();
    const error = await ping.then(
      () => {
        throw new Error('ping() resolved');
      },
      (e: unknown) => e,
    );
    const info = await conn.closed;
    expect(info.error?.code).toBe('ERR_KEEPALIVE_TIMEOUT');
    expect(error).toBe(info.error);
  });

  it('refuses one ping more than the limit in flight, before sending it', { timeout: 5000 }, async () => {
    expect(MAX_PINGS_IN_FLIGHT).toBeGreaterThanOrEqual(1);
    const p = await peer({ mode: 'no-pong' });
    const conn = connect(p.url, { keepalive: false });
    const pc = await openWithPeer(conn, p);
    const inFlight = Array.from({ length: MAX_PINGS_IN_FLIGHT }, () => conn.ping());
    await expect(conn.ping()).rejects.toMatchObject({ code: 'ERR_INVALID_STATE' });
    await pc.whenFrames('ping', MAX_PINGS_IN_FLIGHT);
    await sleep(50);
    expect(pc.frameCounts.ping).toBe(MAX_PINGS_IN_FLIGHT);
    expect(conn.state).toBe('open');
    await conn.terminate();
    const outcomes = await Promise.allSettled(inFlight);
    expect(outcomes.every((o) => o.status === 'rejected')).toBe(true);
  });
});

describe("the 'ping' and 'pong' events", () => {
  it("'ping' carries the peer's payload, answered by a Pong with the same payload (§5.5.2)", {
    timeout: 5000,
  }, async () => {
    const p = await peer({ mode: 'manual' });
    const conn = connect(p.url, { keepalive: false });
    const seen = watch(conn);
    const pc = await openWithPeer(conn, p);
    pc.sendPing(new Uint8Array([1, 2, 3]));
    await pc.whenFrames('pong', 1);
    expect(Array.from(pc.pongs[0] ?? [])).toEqual([1, 2, 3]);
    expect(seen.pings.map((e) => Array.from(e.data))).toEqual([[1, 2, 3]]);
    expect(seen.pongs).toEqual([]);
  });

  it("'pong' is null for an unsolicited Pong (§5.5.3), and conn.latency stays unset", {
    timeout: 5000,
  }, async () => {
    const p = await peer({ mode: 'manual' });
    const conn = connect(p.url, { keepalive: false });
    const seen = watch(conn);
    const pc = await openWithPeer(conn, p);
    pc.sendRaw(new Uint8Array([0x8a, 0x00])); // FIN, opcode 0xA (Pong), unmasked, empty
    await waitFor(() => seen.pongs.length === 1, 1000, 'the pong event');
    expect(seen.pongs[0]?.rtt).toBeNull();
    expect(conn.latency).toBeNull();
    expect(conn.state).toBe('open');
  });

  it('on() refuses an unknown event name and lists ping and pong among the known ones', () => {
    const conn = connect('ws://127.0.0.1:9/');
    const on = conn.on.bind(conn) as (event: string, listener: () => void) => unknown;
    expect(() => on('pings', () => {})).toThrow(
      expect.objectContaining({
        code: 'ERR_INVALID_OPTIONS',
        message: expect.stringContaining('ping, pong'),
      }),
    );
  });
});
