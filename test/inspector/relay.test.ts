/**
 * Watching a Node-side connection live (docs/inspector.md): `@statelyai/inspect`'s WebSocket inspector
 * as the `inspect` option sends the actor and a snapshot for every state change to a relay. A plain
 * `ws` WebSocketServer on 127.0.0.1 stands in for `createInspectorServer` (which listens on every
 * interface on a fixed port): it receives exactly what the real relay would forward to the browser.
 */
import type { AddressInfo } from 'node:net';
import { createWebSocketInspector } from '@statelyai/inspect';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { STATE_NAMES } from '../../machines/types.js';
import { createConnection } from '../../src/connection.js';
import { startPeer } from '../../src/testing/index.js';
import { bounded } from '../audit/scenarios.js';

/** A message as @statelyai/inspect 0.7 sends it (the fields this test relies on). */
interface StatelyMessage {
  type: '@xstate.actor' | '@xstate.event' | '@xstate.snapshot';
  _version: string;
  sessionId: string;
  createdAt: string;
  name?: string;
  parentId?: string;
  definition?: string;
  event?: { type: string };
  snapshot?: { value: unknown; status: string; context?: Record<string, unknown> };
}

/** The top-level state of a snapshot value: `open` is compound (its keepalive sub-states). */
const topLevel = (value: unknown) =>
  typeof value === 'string' ? value : Object.keys((value ?? {}) as object)[0];

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

/** The stand-in relay: records every message an inspector sends it. */
async function startRelay() {
  const messages: StatelyMessage[] = [];
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  server.on('connection', (socket) => {
    socket.on('message', (data) => messages.push(JSON.parse(data.toString()) as StatelyMessage));
  });
  await bounded(new Promise((resolve) => server.once('listening', resolve)), 1000, 'relay listening');
  cleanup.push(async () => {
    for (const client of server.clients) client.terminate();
    await bounded(new Promise((resolve) => server.close(resolve)), 1000, 'relay close');
  });
  return { url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`, messages };
}

/** Resolves once `check()` holds; polls every 5 ms, rejects after `ms`. */
async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = performance.now() + ms;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('the Stately WebSocket inspector', () => {
  it('sends the actor (with the machine definition) and a snapshot for every state change', async () => {
    const relay = await startRelay();
    const peer = await startPeer({ mode: 'close-first', closeCode: 1001, closeReason: 'going away' });
    cleanup.push(() => peer.close());
    const inspector = createWebSocketInspector({ url: relay.url });
    cleanup.push(() => inspector.stop());

    const conn = createConnection(peer.url, { inspect: inspector.inspect });
    await bounded(conn.open(), 1000, 'open');
    const info = await bounded(conn.closed, 2000, 'closed');
    expect(info).toMatchObject({ code: 1001, initiator: 'remote', wasClean: true });

    const root = () => relay.messages.find((m) => m.type === '@xstate.actor' && m.name === 'connection');
    const snapshotsOf = (sessionId: string) =>
      relay.messages.filter((m) => m.type === '@xstate.snapshot' && m.sessionId === sessionId);
    await until(
      () => snapshotsOf(root()?.sessionId ?? '').some((m) => m.snapshot?.status === 'done'),
      2000,
      'the final snapshot at the relay',
    );

    const actor = root() as StatelyMessage;
    expect(actor).toMatchObject({
      _version: expect.stringMatching(/^0\.7\./),
      sessionId: expect.any(String),
    });
    expect(actor.parentId).toBeUndefined();
    const definition = JSON.parse(actor.definition as string);
    expect(definition.id).toBe('connection');
    // safe-stable-stringify sorts keys.
    expect(Object.keys(definition.states)).toEqual([...STATE_NAMES].sort());
    // The socket is driven by the machine's transport.* actions, not by a child actor: one actor only.
    expect(relay.messages.filter((m) => m.type === '@xstate.actor')).toHaveLength(1);

    // One snapshot per event the root processed; their top-level states, without repeats, are the trail's.
    const values = snapshotsOf(actor.sessionId).map((m) => topLevel(m.snapshot?.value));
    const changes = values.filter((value, i) => i === 0 || value !== values[i - 1]);
    expect(changes).toEqual(conn.trail.map((record) => record.to));
    expect(changes).toEqual(['idle', 'connecting', 'open', 'closing-sent', 'draining', 'closed']);
    // The events that caused them, as the machine received them.
    const events = relay.messages
      .filter((m) => m.type === '@xstate.event' && m.sessionId === actor.sessionId)
      .map((m) => m.event?.type);
    for (const record of conn.trail.slice(1)) expect(events).toContain(record.event);
    // Snapshots carry the context, which holds no URL (docs/inspector.md).
    const last = snapshotsOf(actor.sessionId).at(-1);
    expect(Object.keys(last?.snapshot?.context ?? {}).sort()).toEqual([
      'closeSent',
      'connectionId',
      'error',
      'initiator',
      'keepalive',
      'received',
      'timeouts',
    ]);
    expect(JSON.stringify(relay.messages)).not.toContain(`:${peer.port}`);
  }, 5000);

  it('keeps events sent before the relay connection opened, and delivers them once it does', async () => {
    const relay = await startRelay();
    const inspector = createWebSocketInspector({ url: relay.url });
    cleanup.push(() => inspector.stop());
    // Ends at once, before the inspector's own socket is open.
    const conn = createConnection('ws://127.0.0.1:9', { inspect: inspector.inspect });
    await conn.terminate();
    await until(
      () =>
        relay.messages.some((m) => m.type === '@xstate.snapshot' && topLevel(m.snapshot?.value) === 'closed'),
      2000,
      'the deferred snapshots at the relay',
    );
    const values = relay.messages
      .filter((m) => m.type === '@xstate.snapshot')
      .map((m) => topLevel(m.snapshot?.value));
    expect(values).toContain('idle');
    expect(values.at(-1)).toBe('closed');
  }, 5000);
});
