/**
 * The send queue against a real server that is down, then up: what is sent while not open waits,
 * bounded, and goes out in order after the onOpen messages; nothing is dropped silently; a message
 * handed to a connection that then drops is not sent again (at most once).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createManagedConnection } from '../../src/managed/managed-connection.js';
import type { ManagedConnection } from '../../src/managed/managed-core.js';
import { refusedUrl } from '../../src/testing/index.js';
import { waitFor } from '../helpers.js';
import { type ScriptedServer, startScriptedServer } from './support/scripted-server.js';

let server: ScriptedServer | null = null;
let feed: ManagedConnection | null = null;

afterEach(async () => {
  await feed?.close();
  await server?.close();
  feed = null;
  server = null;
});

const portOf = (url: string) => Number(new URL(url).port);

describe('while the server is down', () => {
  it('500 messages arrive in order, after the onOpen message; the 1001st throws ERR_QUEUE_FULL', async () => {
    const url = await refusedUrl();
    feed = createManagedConnection(url, {
      reconnect: { initialDelay: 20, maxDelay: 50 },
      onOpen: (conn, attempt) => conn.send(`auth ${attempt}`),
    });
    void feed.open();
    for (let i = 0; i < 500; i++) feed.send(`m${i}`);
    expect(feed.queued).toBe(500);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(feed.state).not.toBe('open');
    server = await startScriptedServer(undefined, portOf(url));
    await feed.open();
    const first = server.messages;
    await waitFor(() => (first[0]?.length ?? 0) === 501, 3000, '501 messages at the server');
    const received = first[0] as string[];
    expect(received[0]).toMatch(/^auth \d+$/);
    expect(received.slice(1)).toEqual(Array.from({ length: 500 }, (_, i) => `m${i}`));
    expect(feed.queued).toBe(0);
    // Open now: sent at once, after the flushed ones.
    feed.send('after');
    await waitFor(() => received.length === 502, 2000, 'the next message');
    expect(received.at(-1)).toBe('after');
  });

  it('queues 1000 (the default maxMessages), refuses the 1001st synchronously, keeps the 1000 for unsent', async () => {
    feed = createManagedConnection(await refusedUrl(), { reconnect: { initialDelay: 50, maxDelay: 100 } });
    void feed.open();
    for (let i = 0; i < 1000; i++) feed.send(`m${i}`);
    let thrown: unknown;
    try {
      feed.send('one too many');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({ name: 'ConnectionError', code: 'ERR_QUEUE_FULL' });
    expect(feed.queued).toBe(1000);
    const info = await feed.close();
    expect(info.reason).toBe('closed');
    expect(info.unsent).toEqual(Array.from({ length: 1000 }, (_, i) => `m${i}`));
  });

  it('is bounded by bytes too (UTF-8 bytes of text, bytes of binary)', async () => {
    feed = createManagedConnection(await refusedUrl(), { queue: { maxBytes: 10 } });
    feed.send('ééé'); // 6 bytes
    feed.send(new Uint8Array(4));
    expect(() => feed?.send('x')).toThrow(expect.objectContaining({ code: 'ERR_QUEUE_FULL' }));
    expect(() => feed?.send(new Uint8Array(11))).toThrow(expect.objectContaining({ code: 'ERR_QUEUE_FULL' }));
    const info = await feed.close();
    expect(info.unsent).toEqual(['ééé', new Uint8Array(4)]);
  });

  it('copies queued bytes: the caller may reuse its buffer', async () => {
    feed = createManagedConnection(await refusedUrl());
    const buffer = new Uint8Array([1, 2, 3]);
    feed.send(buffer);
    feed.send(buffer.buffer);
    buffer[0] = 9;
    const info = await feed.close();
    expect(info.unsent).toEqual([new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 3])]);
  });

  it('with queue: false, send throws ERR_INVALID_STATE unless open', async () => {
    feed = createManagedConnection(await refusedUrl(), { queue: false });
    expect(() => feed?.send('x')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_STATE' }));
  });

  it('refuses what is not a message with ERR_INVALID_DATA, before anything is queued', async () => {
    feed = createManagedConnection(await refusedUrl());
    expect(() => feed?.send(42 as unknown as string)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_DATA' }),
    );
    expect(feed.queued).toBe(0);
  });
});

describe('at most once', () => {
  it('a message handed to a connection that then dropped is not sent again', async () => {
    // The first connection never reads, then is cut; the second echoes.
    server = await startScriptedServer((n) =>
      n === 0 ? { kind: 'accept', stopReading: true } : { kind: 'accept' },
    );
    feed = createManagedConnection(server.url, {
      reconnect: { initialDelay: 10, maxDelay: 20 },
      onOpen: (conn, attempt) => conn.send(`hello ${attempt}`),
    });
    await feed.open();
    feed.send('handed to attempt 1');
    server.sockets[0]?.terminate();
    await waitFor(() => (server?.messages[1]?.length ?? 0) >= 1, 3000, 'the second connection');
    feed.send('to attempt 2');
    await waitFor(() => (server?.messages[1]?.length ?? 0) >= 2, 2000, 'the message');
    expect(server.messages[1]).toEqual(['hello 2', 'to attempt 2']);
    expect(server.messages[0]).toEqual([]);
  });
});

describe('after close()', () => {
  it('send throws ERR_INVALID_STATE', async () => {
    feed = createManagedConnection(await refusedUrl());
    void feed.close();
    expect(() => feed?.send('x')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_STATE' }));
  });
});
