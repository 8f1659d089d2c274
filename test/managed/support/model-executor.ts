/**
 * Drives one generated supervisor path against a real server: the scripted server causes every attempt
 * outcome (its answer to each handshake, its Close while open), the caller's hook causes every onOpen
 * outcome, the API causes every `api.*` event, real timers every delay. Alongside, an oracle written
 * from the stimuli alone: how the managed connection must end.
 */
import type { InspectionEvent } from 'xstate';
import type { ManagedCloseReason } from '../../../machines/supervisor-types.js';
import { createManagedConnection } from '../../../src/managed/managed-connection.js';
import type { ManagedConnection } from '../../../src/managed/managed-core.js';
import { isSupervisorRecord } from '../../../src/managed/managed-trail.js';
import { verifyManagedTrail } from '../../../src/managed/verify-supervisor-trail.js';
import { edgeKey } from '../../machines/edges.js';
import { FINAL_CODE, MODEL_MAX_ATTEMPTS, type Path, RETRIED_CODE, subState } from './model-paths.js';
import { type Answer, startScriptedServer } from './scripted-server.js';

type HookPlan = 'resolve' | 'reject' | 'hang';

interface AttemptPlan {
  answer: Answer;
  hook: HookPlan;
}

export interface ModelOutcome {
  takenEdges: string[];
  pathEdges: string[];
  expectedReason: ManagedCloseReason;
  reason: ManagedCloseReason;
  closeEvents: number;
  errorEvents: number;
  /** TCP connections the server saw (an attempt aborted at once may never reach it), and attempts started. */
  connections: number;
  attempts: number;
  /** Connections the server saw after close() resolved (must be none). */
  lateConnections: number;
  trailOk: boolean;
  /** Each attempt's connection closed before the next one's first record (RFC 6455 §4.1). */
  oneAtATime: boolean;
}

const isDone = (type: string) => type === 'xstate.done.actor.attempt';

/** Reads the path once, attempt by attempt: what the server and the hook must do for it. */
function planOf(path: Path): { attempts: AttemptPlan[]; fastWaits: boolean[] } {
  const attempts: AttemptPlan[] = [];
  const fastWaits: boolean[] = [];
  let current: AttemptPlan | null = null;
  path.steps.forEach((step, i) => {
    if (i === 0) return;
    const from = subState(path.steps[i - 1]?.state.value);
    const to = subState(step.state.value);
    const type = step.event.type;
    if (from === 'connecting.handshake' && current && current.answer.kind === 'hang') {
      if (type === 'xstate.snapshot.attempt') current.answer = { kind: 'accept' };
      else if (isDone(type)) {
        const code = (step.event as { output: { code: number } }).output.code;
        current.answer = { kind: 'status', status: code === FINAL_CODE ? 403 : 503 };
      }
    }
    if (from === 'connecting.preparing' && current) {
      if (type === 'xstate.done.actor.onOpen') current.hook = 'resolve';
      if (type === 'xstate.error.actor.onOpen') current.hook = 'reject';
    }
    if (
      from === 'connecting.failing' &&
      current &&
      current.answer.kind === 'accept' &&
      type.startsWith('api.')
    ) {
      // Stay in failing until the call: the server never answers our 1011.
      current.answer = { kind: 'accept', stopReading: true };
    }
    if (to === 'waiting')
      fastWaits.push(path.steps[i + 1]?.event.type.startsWith('xstate.after.backoff') ?? false);
    if (
      to === 'connecting.handshake' &&
      step.state.context.attempt !== path.steps[i - 1]?.state.context.attempt
    ) {
      current = { answer: { kind: 'hang' }, hook: 'hang' };
      attempts.push(current);
    }
  });
  return { attempts, fastWaits };
}

function expectedReason(path: Path): ManagedCloseReason {
  const last = path.steps.at(-1);
  if (!last || path.steps.length < 2 || last.state.status !== 'done') return 'closed';
  if (last.event.type.startsWith('api.')) return 'closed';
  const from = subState(path.steps.at(-2)?.state.value);
  if (from === 'closing') return 'closed';
  const code = (last.event as { output?: { code: number } }).output?.code;
  return code === FINAL_CODE ? 'final-close' : 'gave-up';
}

async function until(predicate: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = performance.now() + ms;
  while (!predicate()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

export async function drive(path: Path, pathEdges: string[]): Promise<ModelOutcome> {
  const { attempts, fastWaits } = planOf(path);
  const types = path.steps.map((step) => step.event.type);
  // Each attempt names itself in its URL, so the server answers by attempt (one aborted before it
  // reached the server takes no handshake's answer).
  const server = await startScriptedServer((_n, url) => {
    const attempt = Number(new URL(url, 'ws://x').searchParams.get('attempt'));
    return attempts[attempt - 1]?.answer ?? { kind: 'accept' };
  });
  let waits = 0;
  const taken: string[] = [];
  let feed!: ManagedConnection;
  const inspect = (event: InspectionEvent) => {
    if (event.type !== '@xstate.microstep' || event.actorRef !== feed?.actor) return;
    for (const transition of event._transitions) {
      if (transition.eventType === 'xstate.init') continue;
      const key = edgeKey(transition);
      taken.push(key.startsWith(' ') ? `(any)${key}` : key);
    }
  };
  feed = createManagedConnection(() => `${server.url}/?attempt=${feed.attempt}`, {
    reconnect: {
      initialDelay: 60_000,
      maxDelay: 60_000,
      maxAttempts: MODEL_MAX_ATTEMPTS,
      minUptime: types.some((t) => t.startsWith('xstate.after.minUptime')) ? 100 : 60_000,
    },
    random: () => (fastWaits[waits++] ? 0 : 1),
    timeouts: {
      connect: types.some((t) => t.startsWith('xstate.after.prepare')) ? 300 : 3000,
      write: 300,
      read: 300,
    },
    keepalive: false,
    inspect,
    onOpen: (_conn, attempt) => {
      const hook = attempts[attempt - 1]?.hook ?? 'resolve';
      if (hook === 'resolve') return;
      if (hook === 'reject') return Promise.reject(new Error('model: onOpen fails'));
      return new Promise<void>(() => {});
    },
  });
  let closeEvents = 0;
  let errorEvents = 0;
  feed.on('close', () => closeEvents++);
  feed.on('error', () => errorEvents++);

  try {
    for (let i = 1; i < path.steps.length; i++) {
      await until(() => taken.length >= i - 1, 3000, `step ${i - 1} (${pathEdges[i - 2] ?? 'start'})`);
      const step = path.steps[i];
      if (!step) break;
      const from = subState(path.steps[i - 1]?.state.value);
      const type = step.event.type;
      if (type === 'api.open') void feed.open();
      else if (type === 'api.close') void feed.close(1000, 'model');
      else if (type === 'api.reconnect') feed.reconnect();
      else if (isDone(type) && (from.startsWith('open') || from === 'connecting.preparing')) {
        // The server ends the open connection: a retried code, or a final one.
        const code = (step.event as { output: { code: number } }).output.code;
        const socket = server.sockets.at(-1);
        await until(() => socket?.readyState === 1, 2000, 'the server socket');
        socket?.close(code === FINAL_CODE ? FINAL_CODE : RETRIED_CODE, 'model');
      }
    }
    await until(() => taken.length >= path.steps.length - 1, 3000, `the last step (${pathEdges.at(-1)})`);
    const info = await feed.close(1000, 'model');
    // A TCP connect started before close() may reach the server's accept a little later.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const connections = server.connections;
    await new Promise((resolve) => setTimeout(resolve, 150));
    const trail = feed.trail;
    let oneAtATime = true;
    for (let a = 2; a <= info.attempts; a++) {
      const closed = trail.findIndex(
        (r) => !isSupervisorRecord(r) && r.attempt === a - 1 && r.to === 'closed',
      );
      const next = trail.findIndex((r) => !isSupervisorRecord(r) && r.attempt === a);
      const previous = trail.some((r) => !isSupervisorRecord(r) && r.attempt === a - 1);
      // An attempt closed before its URL resolved never made a connection: nothing to wait for.
      if (previous && next !== -1 && (closed === -1 || closed > next)) oneAtATime = false;
    }
    return {
      takenEdges: taken.slice(0, path.steps.length - 1),
      pathEdges,
      expectedReason: expectedReason(path),
      reason: info.reason,
      closeEvents,
      errorEvents,
      connections,
      attempts: info.attempts,
      lateConnections: server.connections - connections,
      trailOk: verifyManagedTrail(trail, { complete: true }).ok,
      oneAtATime,
    };
  } finally {
    await feed.close();
    await server.close();
  }
}
