/**
 * The mutated modules load. Most test files import them at their top: a module that throws while
 * loading makes such a file fail to collect, with no failing test, and Stryker 9.6 counts that mutant as
 * survived. Here they are imported inside the tests, so it fails an assertion instead; Stryker runs this
 * file first (vitest.stryker.config.ts), before any file that could crash while loading.
 */
import { describe, expect, it } from 'vitest';
import { createActor } from 'xstate';

describe('the lifecycle modules load', () => {
  it('machines/connection-machine.ts: six top-level states, idle first, closed final', async () => {
    const { connectionMachine } = await import('../../machines/connection-machine.js');
    const { STATE_NAMES } = await import('../../machines/types.js');
    expect(Object.keys(connectionMachine.root.states)).toEqual([...STATE_NAMES]);
    expect(connectionMachine.root.initial.target.map((node) => node.key)).toEqual(['idle']);
    expect(connectionMachine.root.states.closed?.type).toBe('final');
  });

  it('src/transports/transport.ts: the driven machine is the connection machine with the transport.* commands provided', async () => {
    const { drivenConnectionMachine } = await import('../../src/transports/transport.js');
    const { connectionMachine } = await import('../../machines/connection-machine.js');
    const { TRANSPORT_COMMANDS } = await import('../../machines/types.js');
    // The same definition: only the implementations differ.
    expect(drivenConnectionMachine.config).toBe(connectionMachine.config);
    expect(Object.keys(drivenConnectionMachine.root.states)).toEqual(
      Object.keys(connectionMachine.root.states),
    );
    const provided = drivenConnectionMachine.implementations.actions as Record<string, unknown>;
    const placeholders = connectionMachine.implementations.actions as Record<string, unknown>;
    expect([...TRANSPORT_COMMANDS]).toEqual([
      'transport.connect',
      'transport.close',
      'transport.destroy',
      'transport.ping',
      'transport.release',
    ]);
    for (const command of TRANSPORT_COMMANDS) {
      expect(provided[command], command).toBeTypeOf('function');
      expect(provided[command], `${command} is provided, not the placeholder`).not.toBe(
        placeholders[command],
      );
    }
    // Nothing else is replaced: the machine's own actions stay its own.
    for (const [name, action] of Object.entries(placeholders)) {
      if (!(TRANSPORT_COMMANDS as readonly string[]).includes(name))
        expect(provided[name], name).toBe(action);
    }
  });

  it('src/transports/transport.ts: a command on an actor with no transport attached fails loudly', async () => {
    const { drivenConnectionMachine } = await import('../../src/transports/transport.js');
    const actor = createActor(drivenConnectionMachine, { input: { keepalive: null } });
    const errors: unknown[] = [];
    actor.subscribe({ error: (error) => errors.push(error) });
    actor.start();
    actor.send({ type: 'api.open' });
    expect(actor.getSnapshot().status).toBe('error');
    expect(errors).toHaveLength(1);
    expect((errors[0] as Error).message).toBe('ws-lifecycle: no transport attached to this connection actor');
  });

  it('src/transports/ws-client.ts: the transport class and its close-timer cap', async () => {
    const { WsClientTransport, wsCloseTimeout, RESERVED_WS_OPTIONS } = await import(
      '../../src/transports/ws-client.js'
    );
    expect(WsClientTransport).toBeTypeOf('function');
    expect([...RESERVED_WS_OPTIONS]).toEqual(['closeTimeout', 'handshakeTimeout']);
    // ws's own timer after both closing deadlines, and never past what a Node timer holds (2³¹−1 ms).
    expect(wsCloseTimeout({ connect: 1, write: 5000, read: 5000 })).toBe(11_000);
    expect(wsCloseTimeout({ connect: 1, write: 2 ** 31 - 1, read: 2 ** 31 - 1 })).toBe(2 ** 31 - 1);
  });
});
