/**
 * Keepalive in the pure machine, with a SimulatedClock: the sub-states of `open` (quiet, awaiting-pong,
 * keepalive-off), activity-based pings, the pong deadline, and what is recorded. RFC 6455 §5.5.2
 * (ping), §7.1.7 (fail the connection).
 */
import { describe, expect, it } from 'vitest';
import { start } from './harness.js';

const KEEPALIVE = { interval: 200, timeout: 100 };

function openWithKeepalive(keepalive = KEEPALIVE) {
  const m = start(keepalive);
  m.send({ type: 'api.open' }, { type: 'ws.open', protocol: '' });
  return m;
}

const pings = (commands: string[]) => commands.filter((c) => c === 'transport.ping').length;

describe('keepalive: a ping once interval ms passed with nothing received', () => {
  it('pings at the interval, not a millisecond earlier, and waits in awaiting-pong', () => {
    const m = openWithKeepalive();
    m.clock.increment(KEEPALIVE.interval - 1);
    expect(pings(m.commands)).toBe(0);
    expect(m.actor.getSnapshot().value).toEqual({ open: 'quiet' });
    m.clock.increment(1);
    expect(pings(m.commands)).toBe(1);
    expect(m.actor.getSnapshot().value).toEqual({ open: 'awaiting-pong' });
  });

  it('restarts the interval on every frame received: a busy feed is never pinged', () => {
    const m = openWithKeepalive();
    for (let t = 0; t < 50; t += 1) {
      m.clock.increment(KEEPALIVE.interval - 1);
      m.send({ type: 'ws.activity' });
    }
    expect(pings(m.commands)).toBe(0);
    m.clock.increment(KEEPALIVE.interval);
    expect(pings(m.commands)).toBe(1);
  });

  it('ends the pong deadline on any frame, and the next ping comes a full interval later', () => {
    const m = openWithKeepalive();
    m.clock.increment(KEEPALIVE.interval);
    m.clock.increment(KEEPALIVE.timeout - 1);
    m.send({ type: 'ws.activity' });
    expect(m.actor.getSnapshot().value).toEqual({ open: 'quiet' });
    m.clock.increment(KEEPALIVE.interval - 1);
    expect(pings(m.commands)).toBe(1);
    m.clock.increment(1);
    expect(pings(m.commands)).toBe(2);
  });

  it('fails a silent peer interval + timeout after the last frame: ERR_KEEPALIVE_TIMEOUT, Close 1011, socket destroyed', () => {
    const m = openWithKeepalive();
    m.clock.increment(150);
    m.send({ type: 'ws.activity' }); // the last frame
    // (A SimulatedClock fires the timers due by the end of one increment, not those they arm.)
    m.clock.increment(KEEPALIVE.interval);
    m.clock.increment(KEEPALIVE.timeout - 1);
    expect(m.state()).toBe('open');
    m.clock.increment(1);
    expect(m.state()).toBe('closed');
    const info = m.output();
    expect(info).toMatchObject({ code: 1006, reason: '', wasClean: false, initiator: 'local' });
    expect(info?.error?.code).toBe('ERR_KEEPALIVE_TIMEOUT');
    expect(m.closeCommands.at(-1)).toEqual({ code: 1011, reason: 'keepalive timeout' });
    expect(m.commands.slice(-3)).toEqual(['transport.close', 'transport.destroy', 'transport.release']);
  });

  it('records only top-level states; the closed record carries the error code', () => {
    const m = openWithKeepalive();
    m.clock.increment(KEEPALIVE.interval);
    m.clock.increment(KEEPALIVE.timeout);
    expect(m.emitted.map((change) => change.to)).toEqual(['idle', 'connecting', 'open', 'closed']);
    expect(m.emitted.at(-1)).toEqual({
      type: 'lifecycle.state',
      to: 'closed',
      event: 'xstate.after.pong.connection.open.awaiting-pong',
      detail: { code: 1006, reason: '', errorCode: 'ERR_KEEPALIVE_TIMEOUT' },
    });
  });

  it('is off in closing-sent and draining: the write and read deadlines govern', () => {
    const m = openWithKeepalive({ interval: 50, timeout: 50 });
    m.send({ type: 'api.close', code: 1000, reason: '' });
    m.clock.increment(299); // < write (300)
    expect(pings(m.commands)).toBe(0);
    m.send({ type: 'ws.flushed' });
    m.clock.increment(699); // < read (700)
    expect(m.state()).toBe('draining');
    expect(pings(m.commands)).toBe(0);
  });

  it('keepalive off (null): no ping, no deadline while open, for as long as it stays open', () => {
    const m = start(null);
    m.send({ type: 'api.open' }, { type: 'ws.open', protocol: '' });
    expect(m.actor.getSnapshot().value).toEqual({ open: 'keepalive-off' });
    m.clock.increment(10 * 3600 * 1000);
    expect(m.state()).toBe('open');
    expect(pings(m.commands)).toBe(0);
  });
});

describe('a ping the caller asks for (api.ping)', () => {
  it('is sent in every open sub-state, changing nothing', () => {
    const m = openWithKeepalive();
    m.send({ type: 'api.ping' });
    expect(m.actor.getSnapshot().value).toEqual({ open: 'quiet' });
    m.clock.increment(KEEPALIVE.interval);
    m.send({ type: 'api.ping' });
    expect(m.actor.getSnapshot().value).toEqual({ open: 'awaiting-pong' });
    expect(pings(m.commands)).toBe(3);
  });

  it('is ignored outside open', () => {
    const m = start(KEEPALIVE);
    m.send({ type: 'api.ping' }, { type: 'api.open' }, { type: 'api.ping' });
    expect(pings(m.commands)).toBe(0);
  });
});
