/**
 * close() in every supervisor state, against a real server: it resolves, no TCP connection starts
 * after it (counted at the server, for longer than any backoff), and no timer or socket is left.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createManagedConnection } from '../../src/managed/managed-connection.js';
import type { ManagedConnection } from '../../src/managed/managed-core.js';
import { expectNoLeaks, liveHandles, waitFor } from '../helpers.js';
import { watchIntervals } from '../transports/intervals.js';
import { type Answer, type ScriptedServer, startScriptedServer } from './support/scripted-server.js';

let server: ScriptedServer | null = null;

afterEach(async () => {
  await server?.close();
  server = null;
});

const value = (feed: ManagedConnection) => JSON.stringify(feed.actor.getSnapshot().value);

interface Case {
  state: string;
  answer: (n: number) => Answer;
  onOpen?: () => Promise<void>;
  /** Brings the feed to the state. */
  reach: (feed: ManagedConnection) => Promise<void>;
  timeouts?: { connect?: number; write?: number; read?: number };
}

const never = () => new Promise<void>(() => {});

const CASES: Case[] = [
  { state: '"idle"', answer: () => ({ kind: 'accept' }), reach: async () => {} },
  {
    state: '{"connecting":"handshake"}',
    answer: () => ({ kind: 'hang' }),
    reach: async (feed) => {
      void feed.open();
      await waitFor(() => (server?.connections ?? 0) === 1, 2000, 'the handshake');
    },
  },
  {
    state: '{"connecting":"preparing"}',
    answer: () => ({ kind: 'accept' }),
    onOpen: never,
    reach: async (feed) => {
      void feed.open();
      await waitFor(() => value(feed) === '{"connecting":"preparing"}', 2000, 'preparing');
    },
  },
  {
    state: '{"connecting":"failing"}',
    answer: () => ({ kind: 'accept', stopReading: true }),
    onOpen: () => Promise.reject(new Error('auth refused')),
    timeouts: { write: 300, read: 300 },
    reach: async (feed) => {
      void feed.open();
      await waitFor(() => value(feed) === '{"connecting":"failing"}', 2000, 'failing');
    },
  },
  {
    state: '{"connecting":"releasing"}',
    answer: () => ({ kind: 'accept', stopReading: true }),
    timeouts: { write: 300, read: 300 },
    reach: async (feed) => {
      await feed.open();
      feed.reconnect();
      expect(value(feed)).toBe('{"connecting":"releasing"}');
    },
  },
  {
    state: '{"open":"unstable"}',
    answer: () => ({ kind: 'accept' }),
    reach: async (feed) => {
      await feed.open();
    },
  },
  {
    state: '"waiting"',
    answer: () => ({ kind: 'status', status: 503 }),
    reach: async (feed) => {
      void feed.open();
      await waitFor(() => feed.state === 'waiting', 2000, 'waiting');
    },
  },
  {
    state: '"closing"',
    answer: () => ({ kind: 'accept', stopReading: true }),
    timeouts: { write: 300, read: 300 },
    reach: async (feed) => {
      await feed.open();
      void feed.close(4000, 'first');
      expect(feed.state).toBe('closing');
    },
  },
  {
    state: '"closed"',
    answer: () => ({ kind: 'accept' }),
    reach: async (feed) => {
      await feed.open();
      await feed.close();
    },
  },
];

describe('close() in every supervisor state', () => {
  it('covers every top-level state of the supervisor', async () => {
    const { SUPERVISOR_STATE_NAMES } = await import('../../machines/supervisor-types.js');
    const covered = new Set(
      CASES.map((c) => JSON.parse(c.state) as string | object).map((v) =>
        typeof v === 'string' ? v : Object.keys(v)[0],
      ),
    );
    expect([...covered].sort()).toEqual([...SUPERVISOR_STATE_NAMES].sort());
  });

  it.each(CASES)(
    '$state: resolves, starts no further connection, leaves no timer',
    { timeout: 10_000 },
    async (c) => {
      server = await startScriptedServer(c.answer);
      const baseline = liveHandles();
      const intervals = watchIntervals();
      try {
        const options: Parameters<typeof createManagedConnection>[1] = {
          reconnect: { initialDelay: 30, maxDelay: 60 },
          keepalive: false,
        };
        if (c.onOpen) options.onOpen = c.onOpen;
        if (c.timeouts) options.timeouts = c.timeouts;
        const feed = createManagedConnection(server.url, options);
        const closes: unknown[] = [];
        feed.on('close', (info) => closes.push(info));
        await c.reach(feed);
        expect(value(feed)).toBe(c.state);
        const info = await feed.close(1000, 'bye');
        expect(info.reason).toBe('closed');
        expect(info.error).toBeUndefined();
        expect(feed.state).toBe('closed');
        const connections = server.connections;
        await new Promise((resolve) => setTimeout(resolve, 300));
        expect(server.connections).toBe(connections);
        expect(closes).toHaveLength(1);
        expect(await feed.close()).toBe(info);
        expect(() => feed.reconnect()).toThrow(expect.objectContaining({ code: 'ERR_INVALID_STATE' }));
        await expect(feed.open()).rejects.toMatchObject({ code: 'ERR_INVALID_STATE' });
      } finally {
        await server.close();
        server = null;
        await expectNoLeaks(baseline).finally(() => {
          const left = intervals.running();
          intervals.restore();
          expect(left).toEqual([]);
        });
      }
    },
  );
});
