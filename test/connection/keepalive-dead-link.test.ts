/**
 * Keepalive against a dead link, for real (issue 11): a peer in its own network namespace behind a veth
 * pair that `cut()` blackholes both ways (test/support/dead-link.ts), so nothing crosses any more — no
 * data, no FIN, no RST, no Pong — and nothing says so, like a pulled cable or an expired NAT entry. A
 * silent peer on loopback is not that: its kernel still ACKs. Only keepalive can find it (RFC 6455
 * §5.5.2 Ping; §7.1.7 _Fail the WebSocket Connection_).
 *
 * Needs root and iproute2; skipped with the reason otherwise. CI runs as root, so it runs there.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Connection, createConnection } from '../../src/connection.js';
import type { CloseInfo, ConnectionError } from '../../src/index.js';
import { expectNoLeaks, liveHandles, waitFor } from '../helpers.js';
import { createDeadLinkHost, type DeadLinkHost, deadLinkSupport } from '../support/dead-link.js';

const support = deadLinkSupport();
if (!support.ok) console.warn(`keepalive over a dead link: skipped (${support.reason})`);
const title = support.ok
  ? 'keepalive over a dead link'
  : `keepalive over a dead link (skipped: ${support.reason})`;

/** Unequal, so a mixed-up delay shows in the bounds. */
const KA = { interval: 400, timeout: 600 };
/** How early a ping may leave because activity is sampled (the contract's bound). */
const SAMPLE_MS = 50;
const LATE_MS = 250;
const ROUNDING_MS = 5;

describe.skipIf(!support.ok)(title, () => {
  let host: DeadLinkHost;
  const connections: Connection[] = [];

  beforeAll(async () => {
    host = await createDeadLinkHost();
  }, 15_000);

  afterEach(async () => {
    await Promise.all(connections.splice(0).map((c) => c.terminate()));
    await host?.restore();
  });

  afterAll(async () => {
    await host?.close();
  }, 10_000);

  /** Opens a connection to the peer behind the link; resolves with it and the peer's id for it. */
  async function openBehindLink(keepalive: typeof KA | false) {
    const known = new Set(host.events.filter((e) => e.event === 'ws-open').map((e) => e.id));
    const conn = createConnection(host.peerUrl, {
      keepalive,
      timeouts: { connect: 3000, write: 1000, read: 1000 },
    });
    connections.push(conn);
    const seen = {
      messages: [] as Array<{ data: unknown; at: number }>,
      pongs: 0,
      errors: [] as ConnectionError[],
      closes: [] as CloseInfo[],
      closedAt: Number.NaN,
    };
    conn.on('message', (data) => seen.messages.push({ data, at: performance.now() }));
    conn.on('pong', () => seen.pongs++);
    conn.on('error', (error) => seen.errors.push(error));
    conn.on('close', (info) => {
      seen.closedAt = performance.now();
      seen.closes.push(info);
    });
    await conn.open();
    const open = await host.waitForEvent(
      (e) => e.event === 'ws-open' && !known.has(e.id),
      2000,
      'the peer to see our connection',
    );
    return { conn, seen, id: open.id as number };
  }

  /** The peer sends one message and we receive it: the last frame before the cut. When it arrived. */
  async function lastWords(id: number, seen: { messages: Array<{ data: unknown; at: number }> }) {
    const before = seen.messages.length;
    await host.command({ cmd: 'ws-send', id, data: 'last words' });
    await waitFor(() => seen.messages.length > before, 2000, 'the last message before the cut');
    const last = seen.messages.at(-1) as { data: unknown; at: number };
    expect(last.data).toBe('last words');
    return last.at;
  }

  it('is found within interval + timeout of the last frame received: ERR_KEEPALIVE_TIMEOUT, nothing leaked', {
    timeout: 10_000,
  }, async () => {
    const baseline = liveHandles();
    const { conn, seen, id } = await openBehindLink(KA);

    // Before the cut the link carries our keepalive: a ping goes out after the interval and its pong
    // comes back.
    await host.waitForEvent((e) => e.event === 'ws-ping' && e.id === id, KA.interval + 1000, 'our ping');
    await waitFor(() => seen.pongs === 1, 1000, 'the pong');
    expect(conn.state).toBe('open');

    const lastFrameAt = await lastWords(id, seen);
    await host.cut();
    const mark = host.events.length;

    const info = await conn.closed;
    const foundAfter = seen.closedAt - lastFrameAt;
    expect(foundAfter).toBeGreaterThanOrEqual(KA.interval + KA.timeout - SAMPLE_MS - ROUNDING_MS);
    expect(foundAfter).toBeLessThanOrEqual(KA.interval + KA.timeout + LATE_MS);
    expect(info).toEqual({
      code: 1006,
      reason: '',
      wasClean: false,
      initiator: 'local',
      error: expect.objectContaining({ name: 'ConnectionError', code: 'ERR_KEEPALIVE_TIMEOUT' }),
    });
    expect(seen.errors).toEqual([info.error]);
    expect(seen.closes).toEqual([info]);
    expect(conn.trail.map((r) => r.to)).toEqual(['idle', 'connecting', 'open', 'closed']);
    expect(conn.trail.at(-1)?.detail).toEqual({ code: 1006, reason: '', errorCode: 'ERR_KEEPALIVE_TIMEOUT' });
    expect(seen.pongs).toBe(1);

    // The link really was dead: the peer saw nothing of ours after the cut (not the ping, not the
    // best-effort Close 1011, not our FIN).
    expect(host.events.slice(mark).filter((e) => e.id === id && e.event.startsWith('ws-'))).toEqual([]);
    await expectNoLeaks(baseline);
  });

  it('with keepalive off it stays open past interval + timeout + 500 ms (then terminate() ends it)', {
    timeout: 10_000,
  }, async () => {
    const baseline = liveHandles();
    const { conn, seen, id } = await openBehindLink(false);
    await lastWords(id, seen);
    await host.cut();
    const mark = host.events.length;

    await new Promise((resolve) => setTimeout(resolve, KA.interval + KA.timeout + 500));
    expect(conn.state).toBe('open');
    expect(seen.closes).toEqual([]);
    expect(seen.errors).toEqual([]);
    expect(host.events.slice(mark).filter((e) => e.id === id && e.event.startsWith('ws-'))).toEqual([]);

    const info = await conn.terminate();
    expect(info).toEqual({ code: 1006, reason: '', wasClean: false, initiator: 'local' });
    expect(seen.errors).toEqual([]);
    await expectNoLeaks(baseline);
  });
});
