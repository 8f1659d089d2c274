/**
 * `ws-lifecycle serve`, spawned as a child process on 127.0.0.1, with real clients: a ws client, our own
 * createConnection, and a raw client that never answers. Ctrl-C is a real SIGINT to the child.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createConnection } from '../../src/index.js';
import { connectRaw, type RawClient } from '../server/raw-client.js';
import { cli, ensureBuilt, killAll, type Run } from './helpers.js';

beforeAll(() => ensureBuilt(), 120_000);
afterEach(() => killAll());
afterAll(() => killAll());

const raws: RawClient[] = [];
afterEach(() => {
  for (const raw of raws.splice(0)) raw.destroy();
});

/** Starts `serve --port 0 …` and reads the port it printed. */
async function startServe(args: string[] = []): Promise<{ run: Run; url: string }> {
  const run = cli(['serve', '--port', '0', ...args], { timeoutMs: 20_000 });
  await run.waitFor('stderr', /listening on ws:\/\/127\.0\.0\.1:\d+/);
  const port = /listening on ws:\/\/127\.0\.0\.1:(\d+)/.exec(run.stderr)?.[1];
  return { run, url: `ws://127.0.0.1:${port}` };
}

function wsClient(
  url: string,
): Promise<{ ws: WebSocket; seen: Promise<{ code: number; reason: string; wasClean: boolean }> }> {
  const ws = new WebSocket(url);
  const seen = new Promise<{ code: number; reason: string; wasClean: boolean }>((resolve) =>
    ws.addEventListener('close', (e) => resolve({ code: e.code, reason: e.reason, wasClean: e.wasClean })),
  );
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ ws, seen }));
    ws.once('error', reject);
  });
}

describe('serve', () => {
  it('--echo: adopts, echoes, prints each lifecycle; Ctrl-C shuts down with 1001, exit 0', async () => {
    const { run, url } = await startServe(['--echo']);
    const first = await wsClient(url);
    const echoed = new Promise<string>((resolve) =>
      first.ws.once('message', (data) => resolve(String(data))),
    );
    first.ws.send('hello');
    expect(await echoed).toBe('hello');
    const ours = createConnection(url, { keepalive: false });
    await ours.open();
    await run.waitFor('stderr', '[2] +');
    await run.waitFor('stdout', '[1] hello');
    run.child.kill('SIGINT');
    expect(await first.seen).toEqual({ code: 1001, reason: 'server shutting down', wasClean: true });
    expect(await ours.closed).toEqual({
      code: 1001,
      reason: 'server shutting down',
      wasClean: true,
      initiator: 'remote',
    });
    expect((await run.exit).code).toBe(0);
    expect(run.stderr).toMatch(/^\[1\] \+\d+ms idle → open \(api\.adopt\)$/m);
    expect(run.stderr).toMatch(/^\[1\] connection from 127\.0\.0\.1:\d+$/m);
    expect(run.stderr).toMatch(
      /^\[2\] \+\d+ms open → closing-sent \(api\.close 1001 "server shutting down"\)$/m,
    );
    expect(run.stderr).toMatch(/^\[1\] closed: code 1001 "server shutting down", clean, started by us$/m);
    expect(run.stderr).toContain('shutting down: closing 2 connections with 1001');
    expect(run.stderr).toMatch(
      /shutdown: 2 connections: 2 clean, 0 unclean, 0 terminated in \d+ ms \(1001×2\)/,
    );
  }, 30_000);

  it('lines typed go to every open connection', async () => {
    const { run, url } = await startServe();
    const a = await wsClient(url);
    const b = await wsClient(url);
    await run.waitFor('stderr', '[2] +');
    await run.waitFor('stderr', /\[2\] \+\d+ms idle → open/);
    const got = Promise.all(
      [a, b].map(
        (c) => new Promise<string>((resolve) => c.ws.once('message', (data) => resolve(String(data)))),
      ),
    );
    run.write('to everyone\n');
    expect(await got).toEqual(['to everyone', 'to everyone']);
    run.child.kill('SIGTERM');
    expect((await run.exit).code).toBe(0);
  }, 30_000);

  it('a client that never answers is cut at the read deadline: the report says terminated, exit 4', async () => {
    const { run, url } = await startServe([
      '--read-timeout',
      '300',
      '--write-timeout',
      '300',
      '--no-keepalive',
    ]);
    const silent = await connectRaw(url, { mode: 'silent' });
    raws.push(silent);
    await run.waitFor('stderr', /\[1\] \+\d+ms idle → open/);
    const t0 = performance.now();
    run.child.kill('SIGINT');
    const { code } = await run.exit;
    expect(code).toBe(4);
    expect(performance.now() - t0).toBeLessThan(300 + 300 + 100 + 1000); // + process exit
    expect(run.stderr).toMatch(/\[1\] \+\d+ms draining → closed \(read deadline 1006 ERR_READ_DEADLINE\)/);
    expect(run.stderr).toMatch(
      /shutdown: 1 connection: 0 clean, 0 unclean, 1 terminated in \d+ ms \(1006×1\)/,
    );
  }, 30_000);

  it('a second Ctrl-C terminates at once: exit 130', async () => {
    const { run, url } = await startServe(['--read-timeout', '10000', '--no-keepalive']);
    const silent = await connectRaw(url, { mode: 'silent' });
    raws.push(silent);
    await run.waitFor('stderr', /\[1\] \+\d+ms idle → open/);
    run.child.kill('SIGINT');
    await run.waitFor('stderr', 'Ctrl-C again to terminate');
    run.child.kill('SIGINT');
    expect((await run.exit).code).toBe(130);
    expect(run.stderr).toContain('terminating every connection');
    expect(run.stderr).toMatch(/draining → closed \(api\.terminate 1006\)/);
  }, 30_000);

  it('--help, and usage errors exit 2', async () => {
    const help = cli(['serve', '--help']);
    expect((await help.exit).code).toBe(0);
    expect(help.stdout).toContain('Usage: ws-lifecycle serve --port <n>');
    for (const [args, says] of [
      [[], 'missing --port <n>'],
      [['--port', '70000'], '--port must be a whole number from 0 to 65535'],
      [['--port', 'x'], '--port must be a whole number'],
      [['--port', '0', '--read-timeout', '0'], '--read-timeout must be a whole number'],
      [['--port', '0', 'extra'], 'unexpected argument "extra"'],
    ] as const) {
      const run = cli(['serve', ...args]);
      expect((await run.exit).code).toBe(2);
      expect(run.stderr).toContain(says);
    }
  }, 30_000);

  it('a port already taken: a clear message, exit 1', async () => {
    const { run, url } = await startServe();
    const port = new URL(url).port;
    const second = cli(['serve', '--port', port]);
    expect((await second.exit).code).toBe(1);
    expect(second.stderr).toContain(`cannot listen on 127.0.0.1:${port}`);
    run.child.kill('SIGINT');
    expect((await run.exit).code).toBe(0);
  }, 30_000);
});
