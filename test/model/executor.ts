/**
 * Drives one generated path against a real socket: a fault peer on 127.0.0.1 causes every `ws.*`
 * event, the API causes every `api.*` event, real timers cause every deadline. Alongside, it keeps an
 * oracle written from the stimuli alone (never from the machine): who initiated, which Close codes went
 * on the wire, which error the run must end with.
 */
import type { InspectionEvent } from 'xstate';
import type { CloseInfo, ConnectionErrorCode, Initiator, StateName, Timeouts } from '../../machines/index.js';
import type { Connection } from '../../src/index.js';
import { type Peer, type PeerConnection, startPeer } from '../../src/testing/index.js';
import { waitFor } from '../helpers.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

import { edgeKey } from '../machines/edges.js';
import { edgesOf, type ModelPath } from './paths.js';

/** What the run must end with, from the stimuli alone. */
export interface Expected {
  initiator: Initiator;
  code: number;
  reason: string;
  wasClean: boolean;
  errorCode: ConnectionErrorCode | undefined;
  /** The Close frame the peer must have received from us, if it must have. */
  closeOnWire: { code: number; reason: string } | null;
  /** A deadline that ended the run, and when its state was entered (trail index of that record). */
  deadline: { ms: number; from: StateName } | null;
  /** Whether the client may have touched the network at all. */
  connected: boolean;
}

export interface Outcome {
  info: CloseInfo;
  expected: Expected;
  /** Top-level states the connection recorded, in order. */
  states: StateName[];
  /** Top-level states along the path (self-loops collapsed). */
  pathStates: StateName[];
  /** Edges the real run took (from XState inspection), and the path's edges. */
  takenEdges: string[];
  pathEdges: string[];
  errorEvents: number;
  closeEvents: number;
  peerConnections: number;
  /** Ms from entering the deadline's state to closed, from the trail. */
  deadlineElapsed: number | null;
  /** The Close the peer received, if any, and whether our side of TCP is gone. */
  wireClose: { code: number; reason: string } | null;
  clientGone: boolean;
}

const SHORT = 250;
const LONG = 3000;
/** A keepalive delay the path does not wait for: it never fires during a run. */
const NEVER = 60_000;
const STUFF_CHUNK = 4 * 1024 * 1024;
const STUFF_CHUNKS = 4;

const topLevel = (value: unknown): StateName =>
  (typeof value === 'string' ? value : Object.keys(value as object)[0]) as StateName;

const isDeadline = (type: string, delay: string) => type.startsWith(`xstate.after.${delay}.`);

/** Short deadlines only where the path waits for one; long ones elsewhere, so no deadline fires by accident. */
function timeoutsFor(types: string[]): Timeouts {
  return {
    connect: types.some((t) => isDeadline(t, 'connect')) ? SHORT : LONG,
    write: types.some((t) => isDeadline(t, 'write')) ? SHORT : LONG,
    read: types.some((t) => isDeadline(t, 'read')) ? SHORT : LONG,
  };
}

function keepaliveFor(types: string[], on: boolean) {
  if (!on) return false as const;
  return {
    interval: types.some((t) => isDeadline(t, 'interval')) ? SHORT : NEVER,
    timeout: types.some((t) => isDeadline(t, 'pong')) ? SHORT : NEVER,
  };
}

function peerModeFor(types: string[]) {
  // The peer answers our ping only where the path takes that answer (awaiting-pong --ws.activity-->).
  const autoPong = types.some((t, i) => isDeadline(t, 'interval') && types[i + 1] === 'ws.activity');
  if (types[0] !== 'api.open') return { mode: 'manual' as const, autoPong };
  const next = types[1] ?? '';
  if (next === 'ws.open') return { mode: 'manual' as const, autoPong };
  if (next === 'ws.handshake-failed') return { mode: 'http-error' as const, status: 403 };
  return { mode: 'no-upgrade' as const }; // stays connecting: a deadline or the caller ends it
}

export async function drive({ path, keepalive: keepaliveOn }: ModelPath, index: number): Promise<Outcome> {
  const { createConnection, connectionMachine } = await import('../../src/index.js');
  const types = path.steps.slice(1).map((step) => step.event.type);
  const pathStates = path.steps.map((step) => topLevel(step.state.value));
  const subStates = path.steps.map((step) => JSON.stringify(step.state.value));
  const timeouts = timeoutsFor(types);
  const keepalive = keepaliveFor(types, keepaliveOn);
  const peer: Peer = await startPeer(peerModeFor(types));
  const taken: string[] = [];
  const inspect = (event: InspectionEvent) => {
    if (event.type !== '@xstate.microstep') return;
    for (const transition of event._transitions)
      if (transition.eventType !== 'xstate.init') taken.push(edgeKey(transition));
  };
  const conn: Connection = createConnection(peer.url, { timeouts, keepalive, inspect });
  let errorEvents = 0;
  let closeEvents = 0;
  conn.on('error', () => errorEvents++);
  conn.on('close', () => closeEvents++);

  const expected: Expected = {
    initiator: 'local',
    code: 1006,
    reason: '',
    wasClean: false,
    errorCode: undefined,
    closeOnWire: null,
    deadline: null,
    connected: types[0] === 'api.open',
  };
  let initiator: Initiator | null = null;
  const initiate = (who: Initiator) => {
    initiator ??= who;
  };
  let peerClose: { code: number; reason: string } | null = null;
  let ourClose: { code: number; reason: string } | null = null;
  let stuck = false;
  let pc: PeerConnection | undefined;

  /** The peer stops reading and we queue more than loopback buffers hold: our Close will wait behind it. */
  const stuff = () => {
    if (!pc) throw new Error('no peer connection to stuff');
    pc.stopReading();
    for (let i = 0; i < STUFF_CHUNKS; i++) conn.send(new Uint8Array(STUFF_CHUNK));
    stuck = true;
  };

  try {
    for (let i = 1; i < path.steps.length; i++) {
      const type = types[i - 1] as string;
      const from = pathStates[i - 1] as StateName;
      const staysStuck = types[i] !== 'ws.flushed';
      if (type === 'api.open') {
        void conn.open();
      } else if (type === 'ws.open') {
        pc = await peer.nextConnection();
      } else if (type === 'ws.handshake-failed') {
        initiate('remote');
        expected.errorCode = 'ERR_CONNECT_FAILED';
      } else if (isDeadline(type, 'connect')) {
        initiate('local');
        expected.errorCode = 'ERR_CONNECT_TIMEOUT';
        expected.deadline = { ms: timeouts.connect, from };
      } else if (type === 'api.close') {
        initiate('local');
        if (from === 'open') {
          if (staysStuck) stuff();
          ourClose = { code: 4000 + index, reason: `path ${index}` };
          void conn.close(ourClose.code, ourClose.reason);
        } else {
          void conn.close();
        }
      } else if (type === 'ws.close-received') {
        if (!pc) throw new Error('peer Close before the upgrade');
        if (from === 'open') {
          initiate('remote');
          if (staysStuck) stuff();
        }
        peerClose = { code: 4100 + index, reason: `peer ${index}` };
        ourClose ??= peerClose; // RFC 6455 §5.5.1: the echo carries the peer's code
        pc.sendClose(peerClose.code, peerClose.reason);
      } else if (type === 'ws.flushed') {
        if (stuck) pc?.resumeReading();
        stuck = false;
        expected.closeOnWire = ourClose;
      } else if (type === 'ws.closed') {
        if (from === 'open') initiate('remote');
        if (from === 'draining') pc?.end();
        else pc?.reset();
        if (!peerClose) expected.errorCode = 'ERR_SOCKET';
      } else if (type === 'ws.protocol-error') {
        if (from === 'open') {
          initiate('local');
          expected.closeOnWire = { code: 1002, reason: '' }; // §7.1.7: ws fails the connection with 1002
        }
        pc?.sendInvalidFrame();
        expected.errorCode = 'ERR_PROTOCOL';
      } else if (isDeadline(type, 'write')) {
        expected.errorCode = 'ERR_WRITE_DEADLINE';
        expected.deadline = { ms: timeouts.write, from };
      } else if (isDeadline(type, 'read')) {
        if (!peerClose) expected.errorCode = 'ERR_READ_DEADLINE';
        expected.deadline = { ms: timeouts.read, from };
      } else if (type === 'api.ping') {
        conn.ping().catch(() => {});
      } else if (type === 'ws.activity') {
        // In quiet, any frame: a message from the peer (after the sampling window, so it is reported).
        // In awaiting-pong, the peer's own answer to our ping.
        if (subStates[i - 1]?.includes('quiet')) {
          await sleep(60);
          pc?.sendText(`activity ${i}`);
        }
      } else if (isDeadline(type, 'interval')) {
        // Our ping goes out by itself.
      } else if (isDeadline(type, 'pong')) {
        initiate('local');
        expected.errorCode = 'ERR_KEEPALIVE_TIMEOUT';
        // Measured from entering open when nothing arrived since: interval + timeout (§ keepalive).
        const sinceOpen = types.slice(types.indexOf('ws.open') + 1, i);
        if (keepalive && sinceOpen.length === 1 && isDeadline(sinceOpen[0] as string, 'interval')) {
          expected.deadline = { ms: keepalive.interval + keepalive.timeout, from: 'open' };
        }
      } else if (type === 'api.terminate') {
        initiate('local');
        void conn.terminate();
      } else {
        throw new Error(`no stimulus for ${type}`);
      }
      // Each step is one transition of the real machine; wait for it (bounded) before the next stimulus.
      await waitFor(() => taken.length >= i, LONG + SHORT, `step ${i} (${type}) of path ${index}`);
    }
    const info = await conn.closed;
    expected.initiator = initiator ?? 'local';
    expected.code = peerClose?.code ?? 1006;
    expected.reason = peerClose?.reason ?? '';
    let clientGone = !expected.connected;
    if (pc) {
      const seen = pc;
      if (stuck) seen.resumeReading(); // a paused socket never sees our FIN
      await waitFor(() => seen.clientEnded || seen.tcpClosed, 1000, 'our side of TCP to end').catch(() => {});
      clientGone = seen.clientEnded || seen.tcpClosed;
    } else if (expected.connected) {
      const first = peer.connections[0];
      if (first)
        await waitFor(() => first.clientEnded || first.tcpClosed, 1000, 'our side of TCP to end').catch(
          () => {},
        );
      clientGone = first ? first.clientEnded || first.tcpClosed : true;
    }
    expected.wasClean = peerClose !== null && pc?.closeFrame != null;
    const trail = conn.trail;
    let deadlineElapsed: number | null = null;
    if (expected.deadline) {
      const from = expected.deadline.from;
      const entered = trail.findLast((r) => r.to === from);
      const closed = trail.at(-1);
      if (entered && closed) deadlineElapsed = closed.elapsedMs - entered.elapsedMs;
    }
    return {
      info,
      expected,
      states: trail.map((r) => r.to),
      pathStates: pathStates.filter((s, i) => i === 0 || s !== pathStates[i - 1]),
      takenEdges: taken,
      pathEdges: edgesOf(connectionMachine, path),
      errorEvents,
      closeEvents,
      peerConnections: peer.connections.length,
      deadlineElapsed,
      wireClose: pc?.closeFrame ?? null,
      clientGone,
    };
  } finally {
    await conn.terminate();
    await peer.close();
  }
}
