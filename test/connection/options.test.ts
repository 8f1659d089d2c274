/**
 * Bad input gets a ConnectionError with a code, thrown by createConnection before anything exists or
 * touches the network.
 */
import { describe, expect, it } from 'vitest';
import { createConnection } from '../../src/index.js';

const URL_OK = 'ws://127.0.0.1:9/';

describe('createConnection: url', () => {
  it.each([
    ['a number', 42],
    ['null', null],
    ['an object', { href: URL_OK }],
    ['not a URL', 'localhost:8080'],
    ['an ftp URL', 'ftp://127.0.0.1/'],
    ['a file URL', 'file:///tmp/x'],
    ['a URL with a fragment', 'ws://127.0.0.1:9/#frag'],
  ])('refuses %s with ERR_INVALID_URL', (_label, url) => {
    expect(() => createConnection(url as never)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_URL' }),
    );
  });

  it('never echoes an unparseable URL, which may hold credentials', () => {
    expect(() => createConnection('ws://user:secret@[bad')).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('secret') }),
    );
  });

  it.each([
    ['ws://127.0.0.1:9/x', 'ws:'],
    ['wss://127.0.0.1:9/x', 'wss:'],
    ['http://127.0.0.1:9/x', 'ws:'],
    ['https://127.0.0.1:9/x', 'wss:'],
  ])('accepts %s (as %s)', (url) => {
    const conn = createConnection(url);
    expect(conn.state).toBe('idle');
  });

  it('accepts a URL object and is not affected by later changes to it', async () => {
    const url = new URL('ws://127.0.0.1:9/');
    const conn = createConnection(url);
    url.protocol = 'http:';
    expect(conn.state).toBe('idle');
    await conn.terminate();
  });
});

describe('createConnection: options', () => {
  it.each([
    ['options that are not an object', 'fast'],
    ['an unknown option', { timeout: 1000 }],
    ['an unknown timeout', { timeouts: { idle: 5 } }],
    ['timeouts that are not an object', { timeouts: 5 }],
    ['a timeout of 0', { timeouts: { connect: 0 } }],
    ['a negative timeout', { timeouts: { write: -1 } }],
    ['a fractional timeout', { timeouts: { read: 1.5 } }],
    ['a timeout over 2^31−1 ms (it would fire after 1 ms)', { timeouts: { read: 2 ** 31 } }],
    ['a timeout as a string', { timeouts: { connect: '100' } }],
    ['a NaN timeout', { timeouts: { connect: Number.NaN } }],
    ['an infinite timeout', { timeouts: { connect: Number.POSITIVE_INFINITY } }],
    ['protocols of the wrong type', { protocols: 5 }],
    ['a subprotocol that is not a token', { protocols: ['chat v1'] }],
    ['an empty subprotocol', { protocols: [''] }],
    ['a repeated subprotocol', { protocols: ['a', 'a'] }],
    ['ws options that are not an object', { ws: 'x' }],
    ['ws.closeTimeout (it would race the deadlines)', { ws: { closeTimeout: 1000 } }],
    ['ws.handshakeTimeout (it would race the deadlines)', { ws: { handshakeTimeout: 1000 } }],
    ['audit that is not a function', { audit: 'file.jsonl' }],
    ['inspect that is not a function or observer', { inspect: 42 }],
    ['trail that is not a boolean', { trail: 'yes' }],
    ['redact that is not an object', { redact: true }],
    ['keepalive as a string', { keepalive: 'fast' }],
    ['keepalive as a number', { keepalive: 20_000 }],
    ['keepalive: true (only false turns it off; on is the default)', { keepalive: true }],
    ['keepalive: null', { keepalive: null }],
    ['keepalive as an array', { keepalive: [20_000, 10_000] }],
    ['an unknown keepalive option', { keepalive: { pingInterval: 1000 } }],
    ['a keepalive interval of 0', { keepalive: { interval: 0 } }],
    ['a negative keepalive interval', { keepalive: { interval: -1 } }],
    ['a fractional keepalive interval', { keepalive: { interval: 1.5 } }],
    ['a keepalive interval over 2^31−1 ms', { keepalive: { interval: 2 ** 31 } }],
    ['a keepalive interval as a string', { keepalive: { interval: '1000' } }],
    ['a NaN keepalive interval', { keepalive: { interval: Number.NaN } }],
    ['a keepalive timeout of 0', { keepalive: { timeout: 0 } }],
    ['a negative keepalive timeout', { keepalive: { timeout: -1 } }],
    ['a fractional keepalive timeout', { keepalive: { timeout: 1.5 } }],
    ['a keepalive timeout over 2^31−1 ms', { keepalive: { timeout: 2 ** 31 } }],
    ['keepalive.message without isPong', { keepalive: { message: (): string => 'ping' } }],
    ['keepalive.isPong without message', { keepalive: { isPong: (): boolean => true } }],
    [
      'keepalive.message that is not a function',
      { keepalive: { message: 'ping', isPong: (): boolean => true } },
    ],
    [
      'keepalive.isPong that is not a function',
      { keepalive: { message: (): string => 'ping', isPong: 'pong' } },
    ],
  ])('refuses %s with ERR_INVALID_OPTIONS', (_label, options) => {
    expect(() => createConnection(URL_OK, options as never)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTIONS', name: 'ConnectionError' }),
    );
  });

  it.each([
    ['the largest timeouts', { timeouts: { connect: 2 ** 31 - 1, write: 2 ** 31 - 1, read: 2 ** 31 - 1 } }],
    ['the smallest timeouts', { timeouts: { connect: 1, write: 1, read: 1 } }],
    ['one subprotocol as a string', { protocols: 'chat' }],
    ['an inspection observer', { inspect: { next: () => {} } }],
    ['keepalive: false', { keepalive: false }],
    ['an empty keepalive (the defaults)', { keepalive: {} }],
    ['the smallest keepalive', { keepalive: { interval: 1, timeout: 1 } }],
    ['the largest keepalive', { keepalive: { interval: 2 ** 31 - 1, timeout: 2 ** 31 - 1 } }],
    ['an application heartbeat', { keepalive: { message: () => '{"type":"ping"}', isPong: () => true } }],
    ['undefined options', undefined],
  ])('accepts %s', (_label, options) => {
    expect(createConnection(URL_OK, options as never).state).toBe('idle');
  });
});
