/**
 * Drives one generated path from `api.adopt` against real sockets: a ws server adopts the connection of
 * a raw client (./raw-client.ts) on 127.0.0.1, the raw client causes every `ws.*` event, the API causes
 * every `api.*` event, real timers cause every deadline. Alongside, an oracle written from the stimuli
 * alone (never from the machine): who initiated, which Close the client really received, which error
 * the run must end with.
 */
import type { InspectionEvent } from 'xstate';
import type { CloseInfo, ConnectionErrorCode, Initiator, StateName, Timeouts } from '../../machines/index.js';
import type { Connection } from '../../src/connection.js';
import type { KeepaliveOptions } from '../../src/keepalive.js';
import { waitFor } from '../helpers.js';
import { edgeKey } from '../machines/edges.js';
import { edgesOf, type ModelPath } from '../model/paths.js';
import { connectRaw, type RawClient } from './raw-client.js';
import { startServer } from './servers.js';

export interface Expected {
  initiator: Initiator;
  code: number;
  reason: string;
  wasClean: boolean;
  errorCode: ConnectionErrorCode | undefined;
  /** The Close frame the client must have received from us, if it must have. */
  closeOnWire: { code: number; reason: string } | null;
  deadline: { ms: number; from: StateName } | null;
}

export interface Outcome {
  info: CloseInfo;
  expected: Expected;
  states: StateName[];
  pathStates: StateName[];
  takenEdges: string[];
  pathEdges: string[];
  errorEvents: number;
  closeEvents: number;
  deadlineElapsed: number | null;
  wireClose: { code: number; reason: string } | null;
  /** Every frame the client got was unmasked (RFC 6455 §5.1). */
  unmasked: boolean;
  /** The server's side of TCP is gone. */
  serverGone: boolean;
}

const SHORT = 250;
const LONG = 3000;
const STUFF_CHUNK = 4 * 1024 * 1024;
const STUFF_CHUNKS = 4;

const topLevel = (value: unknown): StateName =>
  (typeof value === 'string' ? value : Object.keys(value as object)[0]) as StateName;

const isDeadline = (type: string, delay: string) => type.startsWith(`xstate.after.${delay}.`);

function timeoutsFor(types: string[]): Pick<Timeouts, 'write' | 'read'> {
  return {
    write: types.some((t) => isDeadline(t, 'write')) ? SHORT : LONG,
    read: types.some((t) => isDeadline(t, 'read')) ? SHORT : LONG,
  };
}

function keepaliveFor(types: string[], on: boolean): KeepaliveOptions | false {
  if (!on) return false;
  return {
    interval: types.some((t) => isDeadline(t, 'interval')) ? SHORT : LONG,
    timeout: types.some((t) => isDeadline(t, 'pong')) ? SHORT : LONG,
  };
}

export async function driveAdopted({ path, keepalive }: ModelPath, index: number): Promise<Outcome> {
  const { connectionMachine } = await import('../../machines/index.js');
  const types = path.steps.slice(1).map((step) => step.event.type);
  const pathStates = path.steps.map((step) => topLevel(step.state.value));
  const timeouts = timeoutsFor(types);
  const taken: string[] = [];
  const inspect = (event: InspectionEvent) => {
    if (event.type !== '@xstate.microstep') return;
    for (const transition of event._transitions)
      if (transition.eventType !== 'xstate.init') taken.push(edgeKey(transition));
  };
  const server = await startServer({
    adopt: { timeouts, keepalive: keepaliveFor(types, keepalive), inspect },
    echo: false,
  });
  const expected: Expected = {
    initiator: 'local',
    code: 1006,
    reason: '',
    wasClean: false,
    errorCode: undefined,
    closeOnWire: null,
    deadline: null,
  };
  let initiator: Initiator | null = null;
  const initiate = (who: Initiator) => {
    initiator ??= who;
  };
  let peerClose: { code: number; reason: string } | null = null;
  let ourClose: { code: number; reason: string } | null = null;
  let stuck = false;
  let client: RawClient | undefined;
  let conn: Connection | undefined;
  let errorEvents = 0;
  let closeEvents = 0;
  let closedAt = 0;

  /** The client stops reading and we queue more than loopback buffers hold: our Close waits behind it. */
  const stuff = () => {
    if (!client || !conn) throw new Error('nothing to stuff');
    client.stopReading();
    for (let i = 0; i < STUFF_CHUNKS; i++) conn.send(new Uint8Array(STUFF_CHUNK));
    stuck = true;
  };

  try {
    for (let i = 1; i < path.steps.length; i++) {
      const type = types[i - 1] as string;
      const from = pathStates[i - 1] as StateName;
      const staysStuck = types[i] !== 'ws.flushed';
      let repeat: (() => void) | null = null;
      if (type === 'api.adopt') {
        client = await connectRaw(server.url, { mode: 'manual' });
        conn = await server.connection(0);
        conn.on('error', () => errorEvents++);
        conn.on('close', () => {
          closeEvents++;
          closedAt = performance.now();
        });
      } else if (!conn || !client) {
        throw new Error(`${type} before api.adopt`);
      } else if (type === 'api.ping') {
        conn.ping().catch(() => {}); // the manual client never pongs; the ping ends with the connection
      } else if (type === 'ws.activity') {
        const c = client;
        repeat = () => c.send('alive'); // activity is sampled: resend until the machine sees it
        repeat();
      } else if (isDeadline(type, 'interval')) {
        // The keepalive ping goes out by itself; the client does not answer it.
      } else if (isDeadline(type, 'pong')) {
        initiate('local');
        expected.errorCode = 'ERR_KEEPALIVE_TIMEOUT';
        expected.deadline = { ms: SHORT, from: 'open' }; // timed from the ping the client received
      } else if (type === 'api.close') {
        initiate('local');
        if (staysStuck) stuff();
        ourClose = { code: 4000 + index, reason: `path ${index}` };
        void conn.close(ourClose.code, ourClose.reason);
      } else if (type === 'ws.close-received') {
        if (from === 'open') {
          initiate('remote');
          if (staysStuck) stuff();
        }
        peerClose = { code: 4100 + index, reason: `client ${index}` };
        ourClose ??= peerClose; // RFC 6455 §5.5.1: the echo carries the client's code
        client.sendClose(peerClose.code, peerClose.reason);
      } else if (type === 'ws.flushed') {
        if (stuck) client.resumeReading();
        stuck = false;
        expected.closeOnWire = ourClose;
      } else if (type === 'ws.closed') {
        if (from === 'open') initiate('remote');
        if (from === 'closing-sent') client.reset();
        else client.end(); // the client's FIN (RFC 6455 §7.1.1: after the server's, in draining)
        if (!peerClose) expected.errorCode = 'ERR_SOCKET';
      } else if (type === 'ws.protocol-error') {
        if (from === 'open') {
          initiate('local');
          expected.closeOnWire = { code: 1002, reason: '' }; // §7.1.7: ws fails the connection with 1002
        }
        client.sendInvalidFrame();
        expected.errorCode = 'ERR_PROTOCOL';
      } else if (isDeadline(type, 'write')) {
        expected.errorCode = 'ERR_WRITE_DEADLINE';
        expected.deadline = { ms: timeouts.write, from };
      } else if (isDeadline(type, 'read')) {
        if (!peerClose) expected.errorCode = 'ERR_READ_DEADLINE';
        expected.deadline = { ms: timeouts.read, from };
      } else if (type === 'api.terminate') {
        initiate('local');
        void conn.terminate();
      } else {
        throw new Error(`no stimulus for ${type}`);
      }
      // Each step is one transition of the real machine; wait for it (bounded) before the next stimulus.
      const resend = repeat ? setInterval(repeat, 60) : null;
      try {
        await waitFor(() => taken.length >= i, LONG + SHORT, `step ${i} (${type}) of path ${index}`);
      } finally {
        if (resend) clearInterval(resend);
      }
    }
    if (!conn || !client) throw new Error('the path never adopted');
    const info = await conn.closed;
    const seen = client;
    if (stuck) seen.resumeReading(); // a paused socket never sees what came after
    await waitFor(() => seen.serverEnded || seen.tcpClosed, 1000, "the server's side of TCP to end").catch(
      () => {},
    );
    expected.initiator = initiator ?? 'local';
    expected.code = peerClose?.code ?? 1006;
    expected.reason = peerClose?.reason ?? '';
    expected.wasClean = peerClose !== null && seen.closeFrame !== null;
    const trail = conn.trail;
    let deadlineElapsed: number | null = null;
    if (expected.deadline?.from === 'open') {
      // The pong deadline runs from our ping (a sub-state of open, not in the trail): from its arrival.
      const ping = seen.pingTimes.at(-1);
      if (ping !== undefined) deadlineElapsed = closedAt - ping;
    } else if (expected.deadline) {
      const { from } = expected.deadline;
      const entered = trail.findLast((r) => r.to === from);
      const closed = trail.at(-1);
      if (entered && closed) deadlineElapsed = closed.elapsedMs - entered.elapsedMs;
    }
    const serverGone = await noConnectionsLeft(server.http);
    return {
      info,
      expected,
      states: trail.map((r) => r.to),
      pathStates: pathStates.filter((s, i) => i === 0 || s !== pathStates[i - 1]),
      takenEdges: taken,
      pathEdges: edgesOf(connectionMachine, path),
      errorEvents,
      closeEvents,
      deadlineElapsed,
      wireClose: seen.closeFrame,
      unmasked: seen.allUnmasked,
      serverGone,
    };
  } finally {
    client?.destroy();
    await server.close();
  }
}

/** The HTTP server holds no connection any more (the upgraded socket is gone), within 1 s. */
async function noConnectionsLeft(http: import('node:http').Server | null): Promise<boolean> {
  if (!http) return true;
  const count = () => new Promise<number>((resolve) => http.getConnections((_e, n) => resolve(n)));
  const deadline = Date.now() + 1000;
  while (Date.now() < deadline) {
    if ((await count()) === 0) return true;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return false;
}
