/**
 * The supervisor run purely: a SimulatedClock, the pure connection machine as each attempt's child
 * (driven by hand with its own `ws.*` events, as its socket would), and an `onOpen` hook the test
 * settles. Every transition the supervisor takes is recorded by its graph name.
 */
import { type AnyActorRef, createActor, fromPromise, type InspectionEvent, SimulatedClock } from 'xstate';
import { ConnectionError } from '../../../machines/connection-error.js';
import { supervisorMachine } from '../../../machines/supervisor-machine.js';
import type {
  SupervisorInput,
  SupervisorOutput,
  SupervisorRetryEmitted,
  SupervisorStateEmitted,
} from '../../../machines/supervisor-types.js';
import { edgeKey } from '../../machines/edges.js';

export interface Hook {
  attempt: number;
  resolve(): void;
  reject(error: unknown): void;
}

export interface PureSupervisor {
  actor: ReturnType<typeof createActor<typeof supervisorMachine>>;
  clock: SimulatedClock;
  states: SupervisorStateEmitted[];
  retries: SupervisorRetryEmitted[];
  /** Edges taken, by graph name (root transitions as `(any) --…`). */
  taken: string[];
  /** Commands the supervisor sent its attempt children (`api.open`, `api.close` …), in order. */
  commands: Array<{ type: string; code?: number; reason?: string }>;
  /** onOpen calls not yet settled, oldest first. */
  hooks: Hook[];
  /** Attempt children spawned so far. */
  spawned: number;
  child(): AnyActorRef;
  value(): unknown;
  /** The child's socket opens (RFC 6455 §4.1: a valid 101). */
  opened(): void;
  /** The child's handshake fails, e.g. an HTTP status. */
  refused(status?: number): void;
  /** TCP is lost while open (1006). */
  dropped(): void;
  /** The peer closes with `code` and the handshake completes (RFC 6455 §7.1.3, §7.1.4). */
  peerCloses(code: number, reason?: string): void;
  /** Our Close (sent by the supervisor's command) is written and echoed with `code`, TCP ends. */
  closeCompletes(code?: number): void;
  /** Lets promises (the onOpen actor) settle. */
  settle(): Promise<void>;
  output(): SupervisorOutput | undefined;
}

export function pureSupervisor(input: SupervisorInput = {}): PureSupervisor {
  const clock = new SimulatedClock();
  const hooks: Hook[] = [];
  const taken: string[] = [];
  const commands: PureSupervisor['commands'] = [];
  let spawned = 0;
  const machine = supervisorMachine.provide({
    actors: {
      onOpen: fromPromise<void, { attempt: number }>(
        ({ input: hookInput }) =>
          new Promise<void>((resolve, reject) => hooks.push({ attempt: hookInput.attempt, resolve, reject })),
      ),
    },
  });
  let actor!: PureSupervisor['actor'];
  const inspect = (event: InspectionEvent) => {
    const id = (event.actorRef as { id?: string }).id;
    if (event.type === '@xstate.actor' && id === 'attempt') spawned++;
    if (event.type === '@xstate.event' && event.sourceRef === actor && id === 'attempt') {
      const { type, code, reason } = event.event as { type: string; code?: number; reason?: string };
      if (type === 'xstate.init') return;
      commands.push(code === undefined ? { type } : { type, code, reason: reason as string });
    }
    if (event.type !== '@xstate.microstep' || event.actorRef !== actor) return;
    for (const transition of event._transitions) {
      if (transition.eventType === 'xstate.init') continue;
      const key = edgeKey(transition);
      taken.push(key.startsWith(' ') ? `(any)${key}` : key);
    }
  };
  actor = createActor(machine, { clock, input, inspect });
  const states: SupervisorStateEmitted[] = [];
  const retries: SupervisorRetryEmitted[] = [];
  actor.on('supervisor.state', (event) => states.push(event));
  actor.on('supervisor.retry', (event) => retries.push(event));
  actor.start();
  const child = () => {
    const ref = actor.getSnapshot().children.attempt as AnyActorRef | undefined;
    if (!ref) throw new Error(`no attempt child in ${JSON.stringify(actor.getSnapshot().value)}`);
    return ref;
  };
  return {
    actor,
    clock,
    states,
    retries,
    taken,
    commands,
    hooks,
    get spawned() {
      return spawned;
    },
    child,
    value: () => actor.getSnapshot().value,
    opened: () => child().send({ type: 'ws.open', protocol: '' }),
    refused: (status = 503) =>
      child().send({
        type: 'ws.handshake-failed',
        error: new ConnectionError('ERR_CONNECT_FAILED', `HTTP ${status}`, { status }),
      }),
    dropped: () => child().send({ type: 'ws.closed', code: 1006, reason: '' }),
    peerCloses: (code, reason = '') => {
      const c = child();
      c.send({ type: 'ws.close-received', code, reason });
      c.send({ type: 'ws.flushed' });
      c.send({ type: 'ws.closed', code, reason });
    },
    closeCompletes: (code = 1000) => {
      const c = child();
      const snapshot = c.getSnapshot() as { value: unknown; status: string };
      if (snapshot.status !== 'active') return;
      c.send({ type: 'ws.flushed' });
      c.send({ type: 'ws.close-received', code, reason: '' });
      c.send({ type: 'ws.closed', code, reason: '' });
    },
    settle: async () => {
      for (let i = 0; i < 5; i++) await Promise.resolve();
    },
    output: () => actor.getSnapshot().output,
  };
}
