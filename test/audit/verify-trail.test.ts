/**
 * verifyTrail on in-memory trails (`conn.trail`): what it accepts, and each thing it rejects, with the
 * seq it names. Base trails come from real connections; each case changes one thing.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../src/audit/audit.js';
import { createAuditChain } from '../../src/audit/audit-chain.js';
import { verifyTrail } from '../../src/audit/verify-trail.js';
import { runScenario } from './scenarios.js';
import { cleanCloseTrail } from './trails.js';

/** idle → connecting → open → closing-sent (api.close 4000) → draining → closed. */
let closed: AuditRecord[];
/** idle → connecting → open → closing-sent (ws.close-received) → draining → closed. */
let peerClosed: AuditRecord[];

const copy = (trail: readonly AuditRecord[]): AuditRecord[] => structuredClone([...trail]);

beforeAll(async () => {
  closed = copy(
    (await runScenario({ kind: 'echo', messages: 1, end: 'close', code: 4000, reason: 'bye' })).trail,
  );
  peerClosed = copy((await runScenario({ kind: 'server-close', code: 4001, reason: 'server' })).trail);
}, 5000);

describe('verifyTrail accepts', () => {
  it('the trails of real connections, in memory and after a JSON round trip', () => {
    expect(closed.map((r) => r.to)).toEqual([
      'idle',
      'connecting',
      'open',
      'closing-sent',
      'draining',
      'closed',
    ]);
    expect(verifyTrail(closed, { complete: true })).toEqual({ ok: true, checked: 6 });
    expect(verifyTrail(JSON.parse(JSON.stringify(peerClosed)), { complete: true })).toEqual({
      ok: true,
      checked: 6,
    });
  });

  it('a trail cut short (a live connection) unless it must be complete', () => {
    expect(verifyTrail(closed.slice(0, 3))).toEqual({ ok: true, checked: 3 });
    expect(verifyTrail(closed.slice(0, 3), { complete: true }).error).toMatchObject({
      seq: 3,
      reason: expect.stringMatching(/ends at seq 2 in open/),
    });
  });

  it('hash-chained records, and records with extra fields (pino adds level, pid, hostname)', () => {
    const chain = createAuditChain();
    const chained = closed.map(chain).map((r) => ({ level: 30, pid: 1, hostname: 'h', ...r }));
    expect(verifyTrail(chained, { complete: true })).toEqual({ ok: true, checked: 6 });
  });
});

type Tamper = (trail: AuditRecord[]) => unknown[];
const at = (trail: AuditRecord[], i: number) => trail[i] as AuditRecord;

/** [what, base, tamper, seq it must name, reason pattern] */
const REJECTED: Array<[string, () => AuditRecord[], Tamper, number, RegExp]> = [
  ['an empty trail', () => closed, () => [], 0, /empty/],
  ['a trail that does not start at seq 0', () => closed, (t) => t.slice(1), 0, /seq 1 where 0 was expected/],
  ['a gap in seq', () => closed, (t) => t.toSpliced(3, 1), 3, /seq 4 where 3 was expected: seq 3 is missing/],
  [
    'a repeated seq',
    () => closed,
    (t) => t.toSpliced(2, 0, at(t, 1)),
    2,
    /seq 1 where 2 was expected: repeated/,
  ],
  [
    'records out of order',
    () => closed,
    (t) => [at(t, 0), at(t, 2), at(t, 1), ...t.slice(3)],
    1,
    /seq 2 where 1 was expected/,
  ],
  [
    'wall time going backwards',
    () => closed,
    (t) => t.with(4, { ...at(t, 4), time: at(t, 3).time - 1000 }),
    4,
    /time goes backwards/,
  ],
  [
    'elapsedMs going backwards',
    () => closed,
    (t) => t.with(2, { ...at(t, 2), elapsedMs: at(t, 1).elapsedMs - 0.5 }),
    2,
    /elapsedMs goes backwards/,
  ],
  [
    'mixed connection ids',
    () => closed,
    (t) => t.with(3, { ...at(t, 3), connectionId: 'someone-else' }),
    3,
    /connection id someone-else is not the trail's/,
  ],
  [
    'a record after closed',
    () => closed,
    (t) => [...t, { ...at(t, 5), seq: 6, from: 'closed' as const }],
    6,
    /follows the closed record/,
  ],
  [
    'from that is not where the previous record ended',
    () => closed,
    (t) => t.with(3, { ...at(t, 3), from: 'connecting' as const }),
    3,
    /from connecting, but the previous record ended in open/,
  ],
  [
    'a transition the machine cannot make (open → draining)',
    () => closed,
    (t) => t.with(3, { ...at(t, 3), to: 'draining' as const }),
    3,
    /goes from open to closing-sent on api.close, not to draining/,
  ],
  [
    'an event the state does not take (ws.flushed while open)',
    () => closed,
    (t) => t.with(3, { ...at(t, 3), event: 'ws.flushed' }),
    3,
    /cannot leave open on ws.flushed/,
  ],
  [
    'a deadline of another state (read deadline while open)',
    () => closed,
    (t) => t.with(3, { ...at(t, 3), event: 'xstate.after.read.connection.draining' }),
    3,
    /cannot leave open/,
  ],
  [
    'an unknown event',
    () => closed,
    (t) => t.with(2, { ...at(t, 2), event: 'ws.magic' }),
    2,
    /unknown event/,
  ],
  [
    'a close code close() refuses',
    () => closed,
    (t) => t.with(3, { ...at(t, 3), detail: { code: 1005, reason: '' } }),
    3,
    /api.close with code 1005/,
  ],
  [
    'a closed detail the machine would not decide (an error on a clean close)',
    () => closed,
    (t) => t.with(5, { ...at(t, 5), detail: { code: 4000, reason: 'bye', errorCode: 'ERR_SOCKET' } }),
    5,
    /detail .* is not what the machine decides/,
  ],
  [
    'a closed record without its close code',
    () => peerClosed,
    (t) => t.with(5, { ...at(t, 5), detail: undefined }),
    5,
    /detail null is not what the machine decides/,
  ],
  [
    'a handshake failure with a code the socket never reports',
    () => closed,
    (t) => [
      ...t.slice(0, 2),
      {
        ...at(t, 2),
        to: 'closed' as const,
        event: 'ws.handshake-failed',
        detail: { code: 1006, reason: '', errorCode: 'ERR_SOCKET' as const },
      },
    ],
    2,
    /not what the machine decides/,
  ],
  [
    'a hash in a trail whose first record has none',
    () => closed,
    (t) => t.with(2, { ...at(t, 2), hash: 'a'.repeat(64) } as AuditRecord),
    2,
    /first record has no hash/,
  ],
  [
    'a record that is not an object',
    () => closed,
    (t) => t.with(1, null as unknown as AuditRecord),
    1,
    /not an object/,
  ],
  [
    'an unknown state',
    () => closed,
    (t) => t.with(1, { ...at(t, 1), to: 'half-open' } as never),
    1,
    /not a state/,
  ],
  [
    'an unknown schema version',
    () => closed,
    (t) => t.with(0, { ...at(t, 0), v: 2 } as never),
    0,
    /version 2/,
  ],
];

describe('verifyTrail rejects', () => {
  it.each(REJECTED)('%s', (_what, base, tamper, seq, reason) => {
    const result = verifyTrail(tamper(copy(base())));
    expect(result.ok).toBe(false);
    expect(result.checked).toBe(seq);
    expect(result.error?.seq).toBe(seq);
    expect(result.error?.reason).toMatch(reason);
  });

  it('a hash-chained trail with a record whose hash is missing', () => {
    const chained = closed.map(createAuditChain());
    delete chained[4]?.hash;
    expect(verifyTrail(chained).error).toMatchObject({
      seq: 4,
      reason: 'hash missing in a hash-chained trail',
    });
  });
});

describe('verifyTrail with requireChain', () => {
  const trail = cleanCloseTrail('c1');
  const chained = () => trail.map(createAuditChain()) as unknown as Array<Record<string, unknown>>;
  const stripped = () =>
    chained().map(({ hash: _hash, prev: _prev, ...rest }) => rest as Record<string, unknown>);

  it('accepts a hash-chained trail', () => {
    expect(verifyTrail(chained(), { requireChain: true, complete: true })).toEqual({ ok: true, checked: 6 });
  });

  it('fails a trail whose hashes were all stripped and whose records were then edited, at seq 0', () => {
    const forged = stripped().map((r) =>
      r.detail ? { ...r, detail: { ...(r.detail as object), reason: 'forged' } } : r,
    );
    // Without the option the forgery is a consistent unchained trail: that is what it guards against.
    expect(verifyTrail(forged, { complete: true })).toEqual({ ok: true, checked: 6 });
    expect(verifyTrail(forged, { requireChain: true })).toEqual({
      ok: false,
      checked: 0,
      error: {
        seq: 0,
        connectionId: 'c1',
        reason:
          'no hash chain: seq 0 has no hash, and requireChain wants prev and hash on every record (were they removed?)',
      },
    });
  });

  it('fails conn.trail-style records, which carry no chain', () => {
    expect(verifyTrail(trail, { requireChain: true }).error).toMatchObject({
      seq: 0,
      reason: /no hash chain/,
    });
  });

  it('fails a record whose hash alone was removed, and one whose prev alone was removed', () => {
    const noHash = chained();
    delete noHash[3]?.hash;
    expect(verifyTrail(noHash, { requireChain: true }).error).toMatchObject({
      seq: 3,
      reason: 'hash missing in a hash-chained trail',
    });
    const noPrev = chained();
    delete noPrev[2]?.prev;
    expect(verifyTrail(noPrev, { requireChain: true }).error).toMatchObject({ seq: 2 });
  });
});

describe('verifyTrail names missing records', () => {
  const trail = cleanCloseTrail('c1');

  it.each([
    ['one in the middle', trail.toSpliced(2, 1), 2, { first: 2, last: 2 }],
    ['two in the middle', trail.toSpliced(2, 2), 2, { first: 2, last: 3 }],
    ['the first', trail.slice(1), 0, { first: 0, last: 0 }],
  ])('%s', (_what, records, seq, missing) => {
    expect(verifyTrail(records).error).toMatchObject({ seq, missing });
  });

  it('the end of a trail that must be complete, open-ended', () => {
    expect(verifyTrail(trail.slice(0, 4), { complete: true }).error).toMatchObject({
      seq: 4,
      missing: { first: 4, last: null },
    });
  });

  it('not for other failures', () => {
    const repeated = trail.toSpliced(2, 0, trail[1] as AuditRecord);
    expect(verifyTrail(repeated).error).toMatchObject({ seq: 2, reason: /repeated/ });
    expect(verifyTrail(repeated).error).not.toHaveProperty('missing');
  });
});

describe('keepalive in a trail', () => {
  it('replays a connection failed by the pong deadline (the ping in between is not recorded)', async () => {
    const { startPeer } = await import('../../src/testing/index.js');
    const { createConnection, verifyTrail: verify } = await import('../../src/index.js');
    const peer = await startPeer({ mode: 'no-pong' });
    try {
      const conn = createConnection(peer.url, { keepalive: { interval: 50, timeout: 50 } });
      await conn.open();
      const info = await conn.closed;
      expect(info.error?.code).toBe('ERR_KEEPALIVE_TIMEOUT');
      expect(conn.trail.map((r) => r.to)).toEqual(['idle', 'connecting', 'open', 'closed']);
      expect(verify(conn.trail, { complete: true })).toEqual({ ok: true, checked: 4 });
    } finally {
      await peer.close();
    }
  }, 5000);
});

describe('a managed connection’s trail', () => {
  it('replays through verifyTrail itself: the supervisor’s records and every attempt’s', async () => {
    const { startPeer } = await import('../../src/testing/index.js');
    const { createManagedConnection, verifyTrail: verify } = await import('../../src/index.js');
    const peer = await startPeer({ mode: 'echo' });
    try {
      const feed = createManagedConnection(peer.url, { keepalive: false });
      await feed.open();
      await feed.close();
      const records = feed.trail;
      expect(records.some((r) => (r as { machine?: string }).machine === 'supervisor')).toBe(true);
      expect(verify(records, { complete: true }).ok).toBe(true);
      // An edited supervisor record fails it.
      const edited = records.map((r, i) => (i === 1 ? { ...r, to: 'waiting' } : r));
      expect(verify(edited, { complete: true }).ok).toBe(false);
    } finally {
      await peer.close();
    }
  }, 5000);
});

describe('an adopted connection’s trail', () => {
  it('replays from idle → open on api.adopt', async () => {
    const { WebSocketServer, WebSocket } = await import('ws');
    const { adopt, verifyTrail: verify } = await import('../../src/index.js');
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise((resolve) => wss.once('listening', resolve));
    const adopted = new Promise<import('../../src/index.js').Connection>((resolve) =>
      wss.once('connection', (ws) => resolve(adopt(ws, { keepalive: false }))),
    );
    const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as { port: number }).port}`);
    try {
      const conn = await adopted;
      await conn.close(1000, 'done');
      expect(conn.trail.map((r) => r.event).slice(0, 2)).toEqual(['xstate.init', 'api.adopt']);
      expect(verify(conn.trail, { complete: true })).toEqual({ ok: true, checked: conn.trail.length });
    } finally {
      client.terminate();
      await new Promise((resolve) => wss.close(resolve));
    }
  }, 5000);
});
