/**
 * The demo's scenarios: one per kind of peer, each a sentence of explanation, what we do, and the
 * outcome it must end with. The peers are the fault peers of `ws-lifecycle/testing`, on 127.0.0.1.
 */
import type { ConnectionErrorCode } from '../../machines/connection-error.js';
import type { Connection } from '../connection.js';
import type { PeerMode, StartPeerOptions } from '../testing/peer.js';

/** Deadlines for the demo: short, so a misbehaving peer costs a second, not the defaults' 5 s + 5 s. */
export const DEMO_TIMEOUTS = { connect: 1000, write: 1000, read: 1500 } as const;

export type ScenarioName = Exclude<PeerMode, 'manual'> | 'refused';

export interface Scenario {
  name: ScenarioName;
  title: string;
  /** What happens, in a sentence or two, shown before it runs. */
  explain: string;
  peer?: StartPeerOptions;
  /** Runs once the connection is open (or failed to open). */
  drive(conn: Connection, say: (line: string) => void): Promise<void>;
  /** The error code the connection must end with (none for a clean close). */
  expect?: ConnectionErrorCode;
}

const MiB = 1024 * 1024;

/** Resolves once `n` messages arrived or `ms` passed, whichever is first. */
function messages(conn: Connection, n: number, ms = 1000): Promise<void> {
  if (n === 0) return Promise.resolve();
  return new Promise((resolve) => {
    let seen = 0;
    const timer = setTimeout(done, ms);
    const off = conn.on('message', () => {
      if (++seen >= n) done();
    });
    function done() {
      clearTimeout(timer);
      off();
      resolve();
    }
  });
}

async function sendAndClose(conn: Connection, say: (line: string) => void, texts: string[], echoes: number) {
  if (conn.state !== 'open') return;
  const arrived = messages(conn, echoes);
  for (const text of texts) {
    say(`→ send ${JSON.stringify(text)}`);
    conn.send(text);
  }
  await arrived;
  say('→ close(1000, "demo done")');
  await conn.close(1000, 'demo done');
}

const waitForEnd = async (conn: Connection) => {
  await conn.closed;
};

export const SCENARIOS: readonly Scenario[] = [
  {
    name: 'echo',
    title: 'A well-behaved server',
    explain:
      'We send two messages, the server echoes them, and we close with 1000: our Close goes out, the ' +
      "server's Close comes back, the server ends TCP. Clean, and started by us.",
    drive: (conn, say) => sendAndClose(conn, say, ['hello', 'ws-lifecycle'], 2),
  },
  {
    name: 'silent',
    title: 'A server that never answers our Close',
    explain:
      `After our Close is written we wait for the server's at most the read deadline (${DEMO_TIMEOUTS.read} ms ` +
      'here, 5 s by default), then destroy the socket. Plain ws would wait 30 s; many clients wait forever.',
    drive: (conn, say) => sendAndClose(conn, say, ['anyone there?'], 0),
    expect: 'ERR_READ_DEADLINE',
  },
  {
    name: 'no-upgrade',
    title: 'A server that never answers the upgrade',
    explain:
      `TCP connects, but no HTTP answer ever comes. The connect deadline (${DEMO_TIMEOUTS.connect} ms here) ` +
      'aborts the handshake; plain ws has no such deadline and would hang.',
    drive: waitForEnd,
    expect: 'ERR_CONNECT_TIMEOUT',
  },
  {
    name: 'http-error',
    title: 'A server that refuses the upgrade with HTTP 403',
    explain: 'The opening handshake fails at once; the HTTP status is kept in the error and the trail.',
    peer: { status: 403 },
    drive: waitForEnd,
    expect: 'ERR_CONNECT_FAILED',
  },
  {
    name: 'refused',
    title: 'Nobody listening',
    explain: 'The port refuses the TCP connection (ECONNREFUSED): connecting fails at once.',
    drive: waitForEnd,
    expect: 'ERR_CONNECT_FAILED',
  },
  {
    name: 'stop-reading',
    title: 'A server that stops reading',
    explain:
      'We send 16 MiB, then close. The server reads nothing, so our Close frame is stuck behind the data; ' +
      `the write deadline (${DEMO_TIMEOUTS.write} ms here) destroys the socket instead of waiting.`,
    drive: async (conn, say) => {
      if (conn.state !== 'open') return;
      say('→ send 16 × 1 MiB');
      const chunk = new Uint8Array(MiB);
      for (let i = 0; i < 16; i++) conn.send(chunk);
      say('→ close(1000, "demo done")');
      await conn.close(1000, 'demo done');
    },
    expect: 'ERR_WRITE_DEADLINE',
  },
  {
    name: 'close-first',
    title: 'The server closes first',
    explain:
      'The server sends Close 1001 "going away"; we answer with our Close and wait for it to end TCP ' +
      '(RFC 6455 §7.1.1). Clean, and started by the peer.',
    drive: waitForEnd,
  },
  {
    name: 'reset',
    title: 'The server resets TCP while open',
    explain: 'No Close frame ever arrives: code 1006, reported once as a lost connection.',
    peer: { afterMs: 100 },
    drive: waitForEnd,
    expect: 'ERR_SOCKET',
  },
  {
    name: 'invalid-frame',
    title: 'The server breaks the protocol',
    explain:
      'It sends a frame with a reserved opcode. We fail the connection (RFC 6455 §7.1.7): Close 1002, ' +
      'then the socket goes at once.',
    drive: waitForEnd,
    expect: 'ERR_PROTOCOL',
  },
  {
    name: 'data-after-close',
    title: 'The server sends data after our Close',
    explain:
      'RFC 6455 lets it finish sending before its own Close. Those three messages are delivered while ' +
      'we drain, not dropped.',
    drive: async (conn, say) => {
      if (conn.state !== 'open') return;
      say('→ close(1000, "demo done")');
      await conn.close(1000, 'demo done');
    },
  },
];

/** What `npm start` and a bare `demo` run. */
export const DEFAULT_SCENARIOS: readonly ScenarioName[] = ['echo', 'silent'];
