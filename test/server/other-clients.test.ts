/**
 * Adopted connections and shutdown against clients of other stacks (./other-clients.ts): the
 * python-websockets client and a gorilla/websocket client, each in its own process on 127.0.0.1.
 * What each library reports on its side is the oracle.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { shutdown } from '../../src/server/index.js';
import { waitFor } from '../helpers.js';
import {
  buildGorillaClient,
  type ClientMode,
  findPython,
  goAvailable,
  killClient,
  pythonClientFile,
  type RunningClient,
  runClient,
} from './other-clients.js';
import { startServer, type TestServer } from './servers.js';

const TIMEOUTS = { write: 1000, read: 2000 };
const python = findPython();
const hasGo = goAvailable();
let gorilla: string | null = null;

beforeAll(async () => {
  if (hasGo) gorilla = await buildGorillaClient();
}, 150_000);

const servers: TestServer[] = [];
const clients: RunningClient[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) killClient(client);
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
afterAll(() => {
  if (!python) console.warn('python3 with websockets not found: apt-get install -y python3-websockets');
  if (!hasGo)
    console.warn('go or gorilla missing: apt-get install -y golang-go golang-github-gorilla-websocket-dev');
});

interface Stack {
  name: string;
  available: boolean;
  /** The reason its Close echo carries: python-websockets echoes ours; gorilla's default handler sends the code alone. */
  echoReason: string;
  start(url: string, mode: ClientMode): RunningClient;
}

const STACKS: Stack[] = [
  {
    name: 'python-websockets',
    available: python !== null,
    echoReason: 'server shutting down',
    start: (url, mode) => runClient(python as string, [pythonClientFile(), url, mode]),
  },
  {
    name: 'gorilla/websocket',
    available: hasGo,
    echoReason: '',
    start: (url, mode) => runClient(gorilla as string, [url, mode]),
  },
];

for (const stack of STACKS) {
  describe.skipIf(!stack.available)(`${stack.name} client`, () => {
    function start(url: string, mode: ClientMode): RunningClient {
      const client = stack.start(url, mode);
      clients.push(client);
      return client;
    }

    it('a shutdown: it sees 1001 "server shutting down", clean on its side; the report says clean', async () => {
      const s = await startServer({ adopt: { timeouts: TIMEOUTS, keepalive: false } });
      servers.push(s);
      const client = start(s.url, 'wait');
      await client.ready;
      const conn = await s.connection(0);
      const report = await shutdown(s.wss, { timeouts: TIMEOUTS });
      const seen = await client.outcome;
      expect(seen).toMatchObject({ code: 1001, reason: 'server shutting down', clean: true });
      expect(seen.echo).toMatch(/^hello from/);
      if (seen.serverClosedFirst !== undefined) expect(seen.serverClosedFirst).toBe(true); // RFC 6455 §7.1.1
      expect(report).toMatchObject({ total: 1, clean: 1, unclean: 0, terminated: 0, byCode: { 1001: 1 } });
      expect(await conn.closed).toEqual({
        code: 1001,
        reason: stack.echoReason,
        wasClean: true,
        initiator: 'local',
      });
    }, 30_000);

    it('it closes first: the adopted connection ends clean, initiator remote, with its code', async () => {
      const s = await startServer({ adopt: { timeouts: TIMEOUTS, keepalive: false } });
      servers.push(s);
      const client = start(s.url, 'close-first');
      const conn = await s.connection(0);
      const info = await conn.closed;
      expect(info).toEqual({
        code: 4000,
        reason: expect.stringMatching(/leaves$/),
        wasClean: true,
        initiator: 'remote',
      });
      const seen = await client.outcome;
      expect(seen.code).toBe(4000);
      expect(seen.clean).toBe(true);
    }, 30_000);

    it('keepalive: it answers our pings, so the connection stays open and its latency is measured', async () => {
      const s = await startServer({
        adopt: { timeouts: TIMEOUTS, keepalive: { interval: 50, timeout: 1000 } },
      });
      servers.push(s);
      const client = start(s.url, 'wait');
      await client.ready;
      const conn = await s.connection(0);
      await waitFor(() => conn.latency !== null, 3000, 'a pong');
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(conn.state).toBe('open');
      const report = await shutdown(s.wss, { timeouts: TIMEOUTS });
      expect(report.clean).toBe(1);
      expect(await client.outcome).toMatchObject({ code: 1001, clean: true });
    }, 30_000);
  });
}
