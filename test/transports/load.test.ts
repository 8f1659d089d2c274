/**
 * The two mutated modules load. Most test files import them at their top: a module that throws while
 * loading makes such a file fail to collect, with no failing test, and Stryker 9.6 counts that mutant as
 * survived. Here they are imported inside the tests, so it fails an assertion instead; Stryker runs this
 * file first (vitest.stryker.config.ts), before any file that could crash while loading.
 */
import { describe, expect, it } from 'vitest';

describe('the lifecycle modules load', () => {
  it('machines/connection-machine.ts: six top-level states, idle first, closed final', async () => {
    const { connectionMachine } = await import('../../machines/connection-machine.js');
    const { STATE_NAMES } = await import('../../machines/types.js');
    expect(Object.keys(connectionMachine.root.states)).toEqual([...STATE_NAMES]);
    expect(connectionMachine.root.initial.target.map((node) => node.key)).toEqual(['idle']);
    expect(connectionMachine.root.states.closed?.type).toBe('final');
  });

  it('src/ws-actor.ts: the same machine with the ws actor as its socket', async () => {
    const { wsConnectionMachine, wsSocketActor } = await import('../../src/transports/ws-client.js');
    const { connectionMachine } = await import('../../machines/connection-machine.js');
    expect(wsConnectionMachine.implementations.actors.socket).toBe(wsSocketActor);
    expect(Object.keys(wsConnectionMachine.root.states)).toEqual(Object.keys(connectionMachine.root.states));
    expect(wsConnectionMachine.config).toBe(connectionMachine.config);
  });
});
