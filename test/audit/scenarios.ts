/**
 * Fault scenarios against real local peers (127.0.0.1, port 0): each runs one connection to its end
 * and returns it, so tests can check the trail it left. Deadlines are short so that every scenario
 * ends within a few hundred ms.
 */
import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';
import type { CloseInfo } from '../../machines/types.js';
import type { AuditRecord } from '../../src/audit/audit.js';
import { type Connection, createConnection } from '../../src/connection.js';
import type { ConnectionOptions } from '../../src/options.js';
import { refusedUrl, startPeer } from '../../src/testing/index.js';

/** Short deadlines: every scenario ends within a few hundred ms. */
export const FAST_TIMEOUTS = { connect: 150, write: 80, read: 80 } as const;

/** Everything a scenario can vary. */
export type Scenario =
  | { kind: 'idle'; verb: 'close' | 'terminate' }
  | { kind: 'abort-connecting'; verb: 'close' | 'terminate' }
  | { kind: 'refused' }
  | { kind: 'dns-failure' }
  | { kind: 'http-error'; status: number }
  | { kind: 'no-upgrade' }
  | {
      kind: 'echo';
      messages: number;
      end: 'close' | 'terminate' | 'close-then-terminate';
      code: number;
      reason: string;
    }
  | { kind: 'close-first'; code: number; reason: string }
  | { kind: 'server-close'; code: number; reason: string }
  | { kind: 'reset'; afterMs: number }
  | { kind: 'invalid-frame' }
  | { kind: 'silent' }
  | { kind: 'stop-reading' }
  | { kind: 'data-after-close'; late: number }
  /** After our Close the peer answers it, then misbehaves as `peer` says. */
  | { kind: 'after-close'; peer: 'keep-tcp' | 'invalid-frame' | 'reset'; code: number };

export interface ScenarioRun {
  conn: Connection;
  info: CloseInfo;
  trail: readonly AuditRecord[];
}

/** A bound on every wait, so a hung scenario fails instead of stalling the suite. */
export function bounded<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not settled within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Runs `scenario` to its end with `options` added to the connection's (audit, inspect, redact…). */
export async function runScenario(scenario: Scenario, options: ConnectionOptions = {}): Promise<ScenarioRun> {
  const cleanup: Array<() => Promise<void>> = [];
  const connect = (url: string, extra: ConnectionOptions = {}) =>
    createConnection(url, { timeouts: FAST_TIMEOUTS, ...options, ...extra });
  try {
    const conn = await drive(scenario, connect, cleanup);
    const info = await bounded(conn.closed, 2000, `scenario ${scenario.kind}`);
    return { conn, info, trail: conn.trail };
  } finally {
    for (const step of cleanup.reverse()) await step();
  }
}

type Connect = (url: string, extra?: ConnectionOptions) => Connection;

async function drive(
  scenario: Scenario,
  connect: Connect,
  cleanup: Array<() => Promise<void>>,
): Promise<Connection> {
  const peerFor = async (options: Parameters<typeof startPeer>[0]) => {
    const peer = await startPeer(options);
    cleanup.push(() => peer.close());
    return peer;
  };
  switch (scenario.kind) {
    case 'idle': {
      const conn = connect('ws://127.0.0.1:9/');
      void conn[scenario.verb]();
      return conn;
    }
    case 'abort-connecting': {
      const peer = await peerFor({ mode: 'no-upgrade' });
      const conn = connect(peer.url);
      void conn.open();
      void conn[scenario.verb]();
      return conn;
    }
    case 'refused': {
      const conn = connect(await refusedUrl());
      void conn.open();
      return conn;
    }
    case 'dns-failure': {
      const lookup = (_host: string, _options: unknown, callback: (error: Error) => void) => {
        callback(Object.assign(new Error('getaddrinfo ENOTFOUND audit.invalid'), { code: 'ENOTFOUND' }));
      };
      // ws passes `lookup` on to http.request; @types/ws does not list it. No real DNS query is made.
      const conn = connect('ws://audit.invalid/', { ws: { lookup } as unknown as ConnectionOptions['ws'] });
      void conn.open();
      return conn;
    }
    case 'http-error': {
      const peer = await peerFor({ mode: 'http-error', status: scenario.status });
      const conn = connect(peer.url);
      void conn.open();
      return conn;
    }
    case 'no-upgrade': {
      const peer = await peerFor({ mode: 'no-upgrade' });
      const conn = connect(peer.url);
      void conn.open();
      return conn;
    }
    case 'echo': {
      const conn = connect(
        await wsServer(cleanup, (socket) => socket.on('message', (data) => socket.send(data))),
      );
      await bounded(conn.open(), 1000, 'open');
      for (let i = 0; i < scenario.messages; i++) conn.send(`message ${i}`);
      if (scenario.end === 'terminate') void conn.terminate();
      else void conn.close(scenario.code, scenario.reason);
      if (scenario.end === 'close-then-terminate') void conn.terminate();
      return conn;
    }
    case 'close-first': {
      const peer = await peerFor({
        mode: 'close-first',
        closeCode: scenario.code,
        closeReason: scenario.reason,
      });
      const conn = connect(peer.url);
      void conn.open();
      return conn;
    }
    case 'server-close': {
      const conn = connect(await wsServer(cleanup, (socket) => socket.close(scenario.code, scenario.reason)));
      void conn.open();
      return conn;
    }
    case 'reset': {
      const peer = await peerFor({ mode: 'reset', afterMs: scenario.afterMs });
      const conn = connect(peer.url);
      void conn.open();
      return conn;
    }
    case 'invalid-frame': {
      const peer = await peerFor({ mode: 'invalid-frame' });
      const conn = connect(peer.url);
      void conn.open();
      return conn;
    }
    case 'silent': {
      const peer = await peerFor({ mode: 'silent' });
      const conn = connect(peer.url);
      await bounded(conn.open(), 1000, 'open');
      void conn.close();
      return conn;
    }
    case 'stop-reading': {
      const peer = await peerFor({ mode: 'stop-reading' });
      const conn = connect(peer.url);
      await bounded(conn.open(), 1000, 'open');
      // More than the loopback socket buffers hold, so our Close stays stuck behind it.
      conn.send(new Uint8Array(16 * 1024 * 1024));
      void conn.close();
      return conn;
    }
    case 'data-after-close': {
      const peer = await peerFor({ mode: 'data-after-close', lateMessages: scenario.late });
      const conn = connect(peer.url);
      await bounded(conn.open(), 1000, 'open');
      void conn.close();
      return conn;
    }
    case 'after-close': {
      const peer = await peerFor({ mode: 'manual' });
      const conn = connect(peer.url);
      await bounded(conn.open(), 1000, 'open');
      const server = await peer.nextConnection();
      void conn.close();
      await server.whenCloseFrame();
      if (scenario.peer === 'keep-tcp')
        server.sendClose(scenario.code, 'answered'); // never ends TCP
      else if (scenario.peer === 'invalid-frame') server.sendInvalidFrame();
      else server.reset();
      return conn;
    }
  }
}

/** A `ws` WebSocketServer on 127.0.0.1, port 0, that hands each connection to `onConnection`; returns its URL. */
async function wsServer(
  cleanup: Array<() => Promise<void>>,
  onConnection: (socket: WebSocket) => void,
): Promise<string> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  server.on('connection', onConnection);
  await bounded(
    new Promise<void>((resolve) => server.once('listening', resolve)),
    1000,
    'WebSocketServer listening',
  );
  cleanup.push(async () => {
    for (const client of server.clients) client.terminate();
    await bounded(
      new Promise<void>((resolve) => server.close(() => resolve())),
      1000,
      'WebSocketServer close',
    );
  });
  return `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
