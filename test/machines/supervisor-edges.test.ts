/**
 * Every intended edge of the supervisor, driven purely (SimulatedClock, the pure connection machine as
 * the child, driven with its own ws.* events): where it goes, what it commands the attempt to do, and
 * what it announces. The edges the runs took, named from inspection, must cover the edge set computed
 * from the machine.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { supervisorMachine } from '../../machines/supervisor-machine.js';
import { SUPERVISOR_INTENDED_EDGES } from '../managed/support/intended-edges.js';
import { type PureSupervisor, pureSupervisor } from '../managed/support/pure-supervisor.js';
import { supervisorEdges } from '../managed/support/supervisor-edges.js';

const taken = new Set<string>();
const policy = { initialDelay: 100, maxDelay: 1000, factor: 2, minUptime: 500 };

async function run(
  maxAttempts: number,
  scenario: (s: PureSupervisor) => Promise<void> | void,
): Promise<PureSupervisor> {
  const s = pureSupervisor({ reconnect: { ...policy, maxAttempts }, random: () => 0.5, onOpenTimeout: 300 });
  try {
    await scenario(s);
  } finally {
    for (const edge of s.taken) taken.add(edge);
  }
  return s;
}

/** To `open`: the attempt opened and onOpen resolved. */
async function toOpen(s: PureSupervisor): Promise<void> {
  if (s.value() === 'idle') s.actor.send({ type: 'api.open' });
  s.opened();
  await s.settle();
  s.hooks.shift()?.resolve();
  await s.settle();
  expect(s.value()).toEqual({ open: 'unstable' });
}

async function toPreparing(s: PureSupervisor): Promise<void> {
  s.actor.send({ type: 'api.open' });
  s.opened();
  await s.settle();
  expect(s.value()).toEqual({ connecting: 'preparing' });
  expect(s.hooks).toHaveLength(1);
}

const last = (s: PureSupervisor) => s.states.at(-1);

const SCENARIOS: Record<string, (s: PureSupervisor) => Promise<void> | void> = {
  '(any) --xstate.error.actor.attempt--> closed': (s) => {
    s.actor.send({ type: 'api.open' });
    s.actor.send({ type: 'xstate.error.actor.attempt', error: new Error('bug') });
    expect(s.value()).toBe('closed');
    expect(s.output()?.reason).toBe('final-close');
    expect(s.output()?.error?.code).toBe('ERR_SOCKET');
  },
  'idle --api.open--> connecting': (s) => {
    s.actor.send({ type: 'api.open' });
    expect(s.value()).toEqual({ connecting: 'handshake' });
    expect(s.commands).toEqual([{ type: 'api.open' }]);
    expect(last(s)).toMatchObject({ to: 'connecting', event: 'api.open', detail: { attempt: 1 } });
  },
  'idle --api.close--> closed': (s) => {
    s.actor.send({ type: 'api.close', code: 1000, reason: '' });
    expect(s.value()).toBe('closed');
    expect(s.output()).toEqual({ reason: 'closed', attempts: 0, last: null });
    expect(s.spawned).toBe(0);
  },
  'connecting --xstate.done.actor.attempt [finalClose]--> closed': (s) => {
    s.actor.send({ type: 'api.open' });
    s.refused(401);
    expect(s.output()?.reason).toBe('final-close');
    expect(s.output()?.error?.status).toBe(401);
  },
  'connecting --xstate.done.actor.attempt [attemptsExhausted]--> closed': (s) => {
    s.actor.send({ type: 'api.open' });
    s.refused(503);
    s.clock.increment(50);
    s.refused(503);
    expect(s.output()?.reason).toBe('gave-up');
    expect(s.output()?.attempts).toBe(2);
  },
  'connecting --xstate.done.actor.attempt--> waiting': (s) => {
    s.actor.send({ type: 'api.open' });
    s.refused(503);
    expect(s.value()).toBe('waiting');
    // A failed handshake shows only in the retry that follows it.
    expect(s.retries).toHaveLength(1);
    expect(s.retries[0]).toMatchObject({ attempt: 2, delayMs: 50 });
    expect(s.retries[0]?.info.error?.status).toBe(503);
    expect(Object.keys(s.actor.getSnapshot().children)).toEqual([]);
  },
  'connecting --api.close--> closing': (s) => {
    s.actor.send({ type: 'api.open' });
    s.actor.send({ type: 'api.close', code: 4000, reason: 'bye' });
    // The handshake is aborted by the connection machine itself (api.close while connecting).
    expect(s.commands.at(-1)).toEqual({ type: 'api.close', code: 4000, reason: 'bye' });
    expect(s.value()).toBe('closed');
    expect(s.states.map((r) => r.to)).toEqual(['idle', 'connecting', 'closing', 'closed']);
    expect(s.output()?.reason).toBe('closed');
  },
  'connecting.handshake --xstate.snapshot.attempt [attemptOpen]--> connecting.preparing': async (s) => {
    await toPreparing(s);
    expect(s.hooks[0]?.attempt).toBe(1);
  },
  'connecting.handshake --api.reconnect--> connecting.releasing': (s) => {
    s.actor.send({ type: 'api.open' });
    s.actor.send({ type: 'api.reconnect' });
    expect(s.commands).toEqual([
      { type: 'api.open' },
      { type: 'api.close', code: 1000, reason: 'reconnect' },
      { type: 'api.open' },
    ]);
    // The aborted handshake ended at once: the next attempt is the only one.
    expect(s.value()).toEqual({ connecting: 'handshake' });
    expect(s.spawned).toBe(2);
  },
  'connecting.preparing --xstate.done.actor.onOpen--> open': async (s) => {
    await toPreparing(s);
    s.hooks.shift()?.resolve();
    await s.settle();
    expect(s.value()).toEqual({ open: 'unstable' });
    expect(last(s)).toMatchObject({ to: 'open', event: 'xstate.done.actor.onOpen' });
  },
  'connecting.preparing --xstate.error.actor.onOpen--> connecting.failing': async (s) => {
    await toPreparing(s);
    s.hooks.shift()?.reject(new Error('auth refused'));
    await s.settle();
    expect(s.value()).toEqual({ connecting: 'failing' });
    expect(s.commands.at(-1)).toEqual({ type: 'api.close', code: 1011, reason: 'onOpen failed' });
    s.closeCompletes(1011);
    // Counts as failed: a retry, with the backoff of a failed attempt.
    expect(s.value()).toBe('waiting');
    expect(s.retries[0]?.info.code).toBe(1011);
  },
  'connecting.preparing --xstate.after.prepare--> connecting.failing': async (s) => {
    await toPreparing(s);
    s.clock.increment(299);
    expect(s.value()).toEqual({ connecting: 'preparing' });
    s.clock.increment(1);
    expect(s.value()).toEqual({ connecting: 'failing' });
    expect(s.commands.at(-1)).toEqual({ type: 'api.close', code: 1011, reason: 'onOpen timed out' });
  },
  'connecting.preparing --api.reconnect--> connecting.releasing': async (s) => {
    await toPreparing(s);
    s.actor.send({ type: 'api.reconnect' });
    expect(s.value()).toEqual({ connecting: 'releasing' });
    expect(s.commands.at(-1)).toEqual({ type: 'api.close', code: 1000, reason: 'reconnect' });
    expect(s.spawned).toBe(1);
  },
  'connecting.failing --api.reconnect--> connecting.releasing': async (s) => {
    await toPreparing(s);
    s.hooks.shift()?.reject(new Error('x'));
    await s.settle();
    s.actor.send({ type: 'api.reconnect' });
    expect(s.value()).toEqual({ connecting: 'releasing' });
    // No second Close: the 1011 is already on its way.
    expect(s.commands.filter((c) => c.type === 'api.close')).toHaveLength(1);
  },
  'connecting.releasing --xstate.done.actor.attempt--> connecting.handshake': async (s) => {
    await toPreparing(s);
    s.actor.send({ type: 'api.reconnect' });
    expect(s.spawned).toBe(1);
    s.closeCompletes();
    // RFC 6455 §4.1: the next attempt starts only once the previous one is done, at once, no wait.
    expect(s.value()).toEqual({ connecting: 'handshake' });
    expect(s.spawned).toBe(2);
    expect(s.retries).toEqual([]);
    expect(s.actor.getSnapshot().context.attempt).toBe(2);
  },
  'open --xstate.done.actor.attempt [finalClose]--> closed': async (s) => {
    await toOpen(s);
    s.peerCloses(4001, 'revoked');
    expect(s.output()?.reason).toBe('final-close');
    expect(s.output()?.last).toMatchObject({ code: 4001, reason: 'revoked' });
  },
  'open --xstate.done.actor.attempt [attemptsExhausted]--> closed': async (s) => {
    s.actor.send({ type: 'api.open' });
    s.refused(503);
    s.clock.increment(50);
    await toOpen(s);
    s.peerCloses(1012);
    expect(s.output()?.reason).toBe('gave-up');
  },
  'open --xstate.done.actor.attempt--> waiting': async (s) => {
    await toOpen(s);
    s.peerCloses(1012, 'restart');
    expect(s.value()).toBe('waiting');
    expect(s.retries[0]).toMatchObject({ attempt: 2, delayMs: 50 });
    expect(last(s)?.detail).toMatchObject({ code: 1012, reason: 'restart', n: 0, delayMs: 50 });
  },
  'open --api.close--> closing': async (s) => {
    await toOpen(s);
    s.actor.send({ type: 'api.close', code: 1001, reason: 'leaving' });
    expect(s.value()).toBe('closing');
    expect(s.commands.at(-1)).toEqual({ type: 'api.close', code: 1001, reason: 'leaving' });
    s.closeCompletes(1001);
    expect(s.output()?.reason).toBe('closed');
    expect(s.output()?.last?.code).toBe(1001);
  },
  'open --api.reconnect--> connecting.releasing': async (s) => {
    await toOpen(s);
    s.actor.send({ type: 'api.reconnect' });
    expect(s.value()).toEqual({ connecting: 'releasing' });
    expect(s.commands.at(-1)).toEqual({ type: 'api.close', code: 1000, reason: 'reconnect' });
  },
  'open.unstable --xstate.after.minUptime--> open.stable': async (s) => {
    await toOpen(s);
    s.clock.increment(499);
    expect(s.value()).toEqual({ open: 'unstable' });
    s.clock.increment(1);
    expect(s.value()).toEqual({ open: 'stable' });
    expect(s.actor.getSnapshot().context).toMatchObject({ streak: 0, retries: 0 });
  },
  'waiting --xstate.after.backoff--> connecting': (s) => {
    s.actor.send({ type: 'api.open' });
    s.refused(503);
    s.clock.increment(49);
    expect(s.spawned).toBe(1);
    s.clock.increment(1);
    expect(s.value()).toEqual({ connecting: 'handshake' });
    expect(s.spawned).toBe(2);
  },
  'waiting --api.reconnect--> connecting': (s) => {
    s.actor.send({ type: 'api.open' });
    s.refused(503);
    s.actor.send({ type: 'api.reconnect' });
    expect(s.value()).toEqual({ connecting: 'handshake' });
    expect(s.spawned).toBe(2);
  },
  'waiting --api.close--> closed': (s) => {
    s.actor.send({ type: 'api.open' });
    s.refused(503);
    s.actor.send({ type: 'api.close', code: 1000, reason: '' });
    expect(s.output()?.reason).toBe('closed');
    expect(s.output()?.error).toBeUndefined();
    s.clock.increment(10_000);
    expect(s.spawned).toBe(1);
  },
  'closing --xstate.done.actor.attempt--> closed': async (s) => {
    await toOpen(s);
    s.actor.send({ type: 'api.close', code: 1000, reason: '' });
    s.closeCompletes();
    expect(s.value()).toBe('closed');
    expect(s.output()).toMatchObject({ reason: 'closed', attempts: 1 });
    expect(Object.keys(s.actor.getSnapshot().children)).toEqual([]);
  },
};

describe('supervisor: each intended edge', () => {
  it('has a scenario for every intended edge, and no other', () => {
    expect(Object.keys(SCENARIOS).sort()).toEqual([...SUPERVISOR_INTENDED_EDGES].sort());
  });

  it.each(SUPERVISOR_INTENDED_EDGES)('%s', async (edge) => {
    const scenario = SCENARIOS[edge];
    expect(scenario).toBeDefined();
    const s = await run(2, scenario as (s: PureSupervisor) => Promise<void>);
    expect(s.taken).toContain(edge);
  });
});

describe('supervisor: never two attempts at once (RFC 6455 §4.1)', () => {
  it('holds at every step of a long random run', async () => {
    const s = pureSupervisor({ reconnect: { ...policy, maxAttempts: 50 }, random: () => 0.3 });
    let most = 0;
    const seen = () => {
      const children = Object.keys(s.actor.getSnapshot().children).filter((id) => id === 'attempt');
      most = Math.max(most, children.length);
    };
    s.actor.subscribe(seen);
    s.actor.send({ type: 'api.open' });
    for (let i = 0; i < 20; i++) {
      if (i % 3 === 0) s.refused();
      else {
        s.opened();
        await s.settle();
        s.hooks.shift()?.resolve();
        await s.settle();
        if (i % 3 === 1) s.actor.send({ type: 'api.reconnect' });
        s.closeCompletes();
        if (s.value() !== 'waiting') continue;
      }
      s.clock.increment(1000);
    }
    expect(most).toBe(1);
    expect(s.spawned).toBe(s.actor.getSnapshot().context.attempt);
  });
});

describe('supervisor: coverage', () => {
  it('took every edge of the machine', () => {
    const missing = supervisorEdges(supervisorMachine).filter((edge) => !taken.has(edge));
    expect(missing).toEqual([]);
  });
});

afterAll(() => {
  const all = supervisorEdges(supervisorMachine);
  console.log(`supervisor edges covered ${all.filter((edge) => taken.has(edge)).length}/${all.length}`);
});
