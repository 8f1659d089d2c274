/**
 * `ws-lifecycle connect`, spawned as a child process against real servers on 127.0.0.1: a `ws` echo
 * server and the fault peers of `ws-lifecycle/testing`.
 */
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it, type TestContext } from 'vitest';
import { WebSocketServer } from 'ws';
import {
  type Peer,
  type PeerMode,
  refusedUrl,
  type StartPeerOptions,
  startPeer,
} from '../../src/testing/index.js';
import { cli, ensureBuilt, killAll, transitions } from './helpers.js';

const HANDSHAKE = ['→ idle', 'idle → connecting', 'connecting → open'];
const CLEAN_CLOSE = ['open → closing-sent', 'closing-sent → draining', 'draining → closed'];

let echo: { url: string; close(): Promise<void> };
let dir: string;

/** A `ws` server that echoes every message; on path /binary it first sends 20 bytes 0x00…0x13. */
async function echoServer() {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await once(wss, 'listening');
  wss.on('connection', (ws, request) => {
    if (request.url === '/binary') ws.send(Buffer.from(Array.from({ length: 20 }, (_, i) => i)));
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  });
  const { port } = wss.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close(() => resolve());
      }),
  };
}

/** A fault peer closed when the test ends. */
async function peer(
  { onTestFinished }: TestContext,
  mode: PeerMode,
  options: StartPeerOptions = {},
): Promise<Peer> {
  const started = await startPeer({ ...options, mode });
  onTestFinished(() => started.close());
  return started;
}

beforeAll(async () => {
  await ensureBuilt();
  echo = await echoServer();
  dir = mkdtempSync(join(tmpdir(), 'ws-lifecycle-cli-'));
}, 120_000);

afterAll(async () => {
  killAll();
  await echo?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe.concurrent('connect: data', () => {
  it('sends each stdin line as a message, prints the echoes, and closes cleanly at end of input', async (context) => {
    const { expect } = context;
    const run = cli(['connect', echo.url], { input: 'hello\nworld\n' });
    expect(await run.exit).toEqual({ code: 0, signal: null });
    expect(run.stdout).toBe('hello\nworld\n');
    expect(transitions(run.stderr)).toEqual([...HANDSHAKE, ...CLEAN_CLOSE]);
    expect(run.stderr).toMatch(/^\+\d+ms open → closing-sent \(api\.close 1000\)$/m);
    expect(run.stderr).toMatch(/closed: code 1000, clean, started by us/);
    // Not a terminal: no colour codes.
    expect(run.stderr).not.toContain('\u001b[');
  });

  it('prints a binary message as a short hex summary with its length', async (context) => {
    const { expect } = context;
    const run = cli(['connect', `${echo.url}/binary`]);
    await run.waitFor('stdout', '<binary');
    run.end();
    expect((await run.exit).code).toBe(0);
    expect(run.stdout).toBe('<binary 20 bytes: 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f …>\n');
  });

  it('sends the subprotocol and headers, and never prints URL credentials or header values', async (context) => {
    const { expect } = context;
    const p = await peer(context, 'echo');
    const url = `${p.url.replace('ws://', 'ws://alice:pa55word@')}/room?token=SECRET1`;
    const run = cli(['connect', url, '--protocol', 'chat', '-H', 'Authorization: Bearer SECRET2', '--json'], {
      input: 'hi\n',
    });
    expect((await run.exit).code).toBe(0);
    const request = p.connections[0]?.request;
    expect(request?.headers.authorization).toBe('Bearer SECRET2');
    expect(request?.headers['sec-websocket-protocol']).toBe('chat');
    const printed = run.stdout + run.stderr;
    for (const secret of ['SECRET1', 'SECRET2', 'pa55word', 'alice']) expect(printed).not.toContain(secret);
    const open = printed.split('\n').find((line) => line.includes('"to":"open"'));
    expect(JSON.parse(open ?? '{}').detail).toEqual({ protocol: 'chat' });
  });

  it('--close-code and --close-reason go into our Close frame', async (context) => {
    const { expect } = context;
    const p = await peer(context, 'echo');
    const run = cli(['connect', p.url, '--close-code', '4000', '--close-reason', 'bye now'], { input: '' });
    expect((await run.exit).code).toBe(0);
    expect(p.connections[0]?.closeFrame).toEqual({ code: 4000, reason: 'bye now' });
    expect(run.stderr).toContain('open → closing-sent (api.close 4000 "bye now")');
  });
});

describe.concurrent('connect: Ctrl-C', () => {
  it('once: closes gracefully (closing-sent → draining → closed), exit 0', async (context) => {
    const { expect } = context;
    const run = cli(['connect', echo.url]);
    await run.waitFor('stderr', 'connecting → open');
    run.write('ping\n');
    await run.waitFor('stdout', 'ping\n');
    run.child.kill('SIGINT');
    expect(await run.exit).toEqual({ code: 0, signal: null });
    expect(transitions(run.stderr)).toEqual([...HANDSHAKE, ...CLEAN_CLOSE]);
    expect(run.stderr).toContain('Ctrl-C again to terminate');
  });

  it('twice: terminates at once without waiting for the read deadline, exit 130', async (context) => {
    const { expect } = context;
    const p = await peer(context, 'silent');
    const run = cli(['connect', p.url, '--read-timeout', '20000']);
    await run.waitFor('stderr', 'connecting → open');
    run.child.kill('SIGINT');
    await run.waitFor('stderr', 'closing-sent → draining');
    const t0 = Date.now();
    run.child.kill('SIGINT');
    expect(await run.exit).toEqual({ code: 130, signal: null });
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(transitions(run.stderr)).toEqual([
      ...HANDSHAKE,
      'open → closing-sent',
      'closing-sent → draining',
      'draining → closed',
    ]);
    expect(run.stderr).toMatch(/draining → closed \(api\.terminate 1006\)/);
  });

  it('during the connect: aborts it, exit 130', async (context) => {
    const { expect } = context;
    const p = await peer(context, 'no-upgrade');
    const run = cli(['connect', p.url]);
    await run.waitFor('stderr', 'idle → connecting');
    run.child.kill('SIGINT');
    expect((await run.exit).code).toBe(130);
    expect(run.stderr).toContain('connecting → closed (api.close');
  });
});

describe.concurrent('connect: exit status per outcome', () => {
  const cases: Array<{
    name: string;
    mode?: PeerMode;
    options?: StartPeerOptions;
    flags?: string[];
    input?: string;
    code: number;
    shows: string;
  }> = [
    {
      name: 'refused → 3',
      code: 3,
      shows: 'connecting → closed (ws.handshake-failed 1006 ERR_CONNECT_FAILED)',
    },
    {
      name: 'HTTP error → 3',
      mode: 'http-error',
      options: { status: 403 },
      code: 3,
      shows: 'ERR_CONNECT_FAILED HTTP 403',
    },
    {
      name: 'connect deadline → 3',
      mode: 'no-upgrade',
      flags: ['--connect-timeout', '300'],
      code: 3,
      shows: '(connect deadline 1006 ERR_CONNECT_TIMEOUT)',
    },
    {
      name: 'read deadline → 4',
      mode: 'silent',
      flags: ['--read-timeout', '300'],
      input: '',
      code: 4,
      shows: 'draining → closed (read deadline 1006 ERR_READ_DEADLINE)',
    },
    {
      name: 'protocol error → 5',
      mode: 'invalid-frame',
      code: 5,
      shows: 'open → closed (ws.protocol-error 1006 ERR_PROTOCOL)',
    },
    {
      name: 'connection lost → 6',
      mode: 'reset',
      options: { afterMs: 50 },
      code: 6,
      shows: 'open → closed (ws.closed 1006 ERR_SOCKET)',
    },
    {
      name: 'peer closes first, clean → 0',
      mode: 'close-first',
      code: 0,
      shows: 'open → closing-sent (ws.close-received 1001 "going away")',
    },
  ];

  it.for(cases)('$name', async ({ mode, options, flags = [], input, code, shows }, context) => {
    const { expect } = context;
    const url = mode ? (await peer(context, mode, options)).url : await refusedUrl();
    const run = cli(['connect', url, ...flags], input === undefined ? {} : { input });
    expect((await run.exit).code).toBe(code);
    expect(run.stderr).toContain(shows);
    expect(run.stderr).toContain(`exit status ${code}`);
  });
});

describe.concurrent('connect: keepalive', () => {
  it('--keepalive <interval>:<timeout> with -P: our pings after the interval, their pongs with the round trip', async (context) => {
    const { expect } = context;
    const p = await peer(context, 'echo');
    const run = cli(['connect', p.url, '--keepalive', '200:1000', '-P']);
    await run.waitFor('stderr', 'connecting → open');
    await run.waitFor('stderr', /< pong \([\d.]+ ms\)\n[\s\S]*> ping\n/);
    run.end();
    expect((await run.exit).code).toBe(0);
    expect(run.stderr).toContain('(keepalive 200:1000 ms)');
    const ours = run.stderr.match(/^\+\d+ms > ping$/gm) ?? [];
    expect(ours.length).toBeGreaterThanOrEqual(2);
    // Every ping shown went out, and each pong shown answered one.
    const pc = p.connections[0];
    expect(pc?.frameCounts.ping).toBe(ours.length);
    const pongs = run.stderr.match(/^\+\d+ms < pong \([\d.]+ ms\)$/gm) ?? [];
    expect(pongs.length).toBeGreaterThanOrEqual(ours.length - 1);
    expect(pongs.length).toBeLessThanOrEqual(ours.length);
    expect(transitions(run.stderr)).toEqual([...HANDSHAKE, ...CLEAN_CLOSE]);
  });

  it("-P shows the peer's ping and the pong ws answers it with", async (context) => {
    const { expect } = context;
    const p = await peer(context, 'manual');
    const run = cli(['connect', p.url, '-P', '--read-timeout', '300']);
    const pc = await p.nextConnection();
    await pc.whenUpgraded();
    pc.sendPing(new Uint8Array([1, 2, 3]));
    await run.waitFor('stderr', '> pong (answered by ws)');
    await pc.whenFrames('pong', 1);
    expect(Array.from(pc.pongs[0] ?? [])).toEqual([1, 2, 3]);
    expect(run.stderr).toMatch(/^\+\d+ms < ping \(3 bytes\)\n\+\d+ms > pong \(answered by ws\)$/m);
    // No ping of ours in so short a time with the default keepalive.
    expect(run.stderr).not.toContain('> ping');
    run.end();
    await run.exit;
  });

  it('fails a peer that answers nothing at the pong deadline: ERR_KEEPALIVE_TIMEOUT, not a clean exit', async (context) => {
    const { expect } = context;
    const p = await peer(context, 'no-pong');
    const run = cli(['connect', p.url, '--keepalive', '150:200']);
    const { code } = await run.exit;
    expect(run.stderr).toContain('open → closed (pong deadline 1006 ERR_KEEPALIVE_TIMEOUT)');
    expect(transitions(run.stderr)).toEqual([...HANDSHAKE, 'open → closed']);
    // Exit 6, connection lost (docs/cli.md): the peer went silent.
    expect(code).toBe(6);
    expect(run.stderr).toContain('exit status 6');
    // Without -P no ping is shown, though one went out.
    expect(run.stderr).not.toContain('> ping');
    expect(p.connections[0]?.frameCounts.ping).toBe(1);
  });

  it('--no-keepalive turns it off (the default is 20000:10000 ms)', async (context) => {
    const { expect } = context;
    const p = await peer(context, 'echo');
    const off = cli(['connect', p.url, '--no-keepalive', '-P']);
    const byDefault = cli(['connect', p.url], { input: '' });
    await off.waitFor('stderr', 'connecting → open');
    await new Promise((resolve) => setTimeout(resolve, 300));
    off.end();
    expect((await off.exit).code).toBe(0);
    expect((await byDefault.exit).code).toBe(0);
    expect(off.stderr).toContain('(keepalive off)');
    expect(off.stderr).not.toContain('> ping');
    expect(byDefault.stderr).toContain('(keepalive 20000:10000 ms)');
    for (const pc of p.connections) expect(pc.frameCounts.ping).toBe(0);
  });

  it('-P with --json: one object per ping and pong, the connecting line names the keepalive', async (context) => {
    const { expect } = context;
    const p = await peer(context, 'echo');
    const run = cli(['connect', p.url, '--keepalive', '150:1000', '-P', '--json']);
    await run.waitFor('stdout', '"type":"pong"');
    run.end();
    expect((await run.exit).code).toBe(0);
    expect(run.stderr).toBe('');
    const lines = run.stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines[0]).toMatchObject({ type: 'connecting', keepalive: { interval: 150, timeout: 1000 } });
    const ping = lines.find((l) => l.type === 'ping');
    const pong = lines.find((l) => l.type === 'pong');
    expect(ping).toMatchObject({ direction: 'out', elapsedMs: expect.any(Number) });
    expect(pong).toMatchObject({ direction: 'in', rttMs: expect.any(Number) });
    expect(pong.rttMs).toBeGreaterThan(0);
    expect(lines.indexOf(ping)).toBeLessThan(lines.indexOf(pong));
  });

  it.for([
    ['100', 'must be <interval>:<timeout>'],
    ['100:', 'must be <interval>:<timeout>'],
    ['100:abc', 'must be <interval>:<timeout>'],
    ['0:100', '--keepalive interval must be a whole number of milliseconds'],
    ['100:2147483648', '--keepalive timeout must be a whole number of milliseconds'],
    ['-5:100', 'must be <interval>:<timeout>'],
  ])(
    '--keepalive %s is a usage error before anything connects (exit 2)',
    async ([value, message], context) => {
      const { expect } = context;
      const p = await peer(context, 'echo');
      const run = cli(['connect', p.url, `--keepalive=${value}`]);
      expect((await run.exit).code).toBe(2);
      expect(run.stderr).toContain(message);
      expect(run.stderr).not.toContain('connecting');
      expect(p.connections).toHaveLength(0);
    },
  );

  it('--keepalive with --no-keepalive is a usage error (exit 2)', async (context) => {
    const { expect } = context;
    const run = cli(['connect', echo.url, '--keepalive', '100:100', '--no-keepalive']);
    expect((await run.exit).code).toBe(2);
    expect(run.stderr).toContain('--keepalive and --no-keepalive exclude each other');
  });
});

describe.concurrent('connect --json', () => {
  it('prints every line as one JSON object, in order, on stdout', async (context) => {
    const { expect } = context;
    const run = cli(['connect', `${echo.url}/binary`, '--json'], { input: 'a\n' });
    expect((await run.exit).code).toBe(0);
    expect(run.stderr).toBe('');
    const lines = run.stdout
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line));
    const types = lines.map((line) => line.type);
    expect(types[0]).toBe('connecting');
    expect(types.at(-1)).toBe('close');
    expect(lines.filter((l) => l.type === 'state').map((l) => l.to)).toEqual([
      'idle',
      'connecting',
      'open',
      'closing-sent',
      'draining',
      'closed',
    ]);
    expect(lines).toContainEqual({ type: 'text', data: 'a' });
    expect(lines).toContainEqual({
      type: 'binary',
      length: 20,
      base64: Buffer.from(Array.from({ length: 20 }, (_, i) => i)).toString('base64'),
    });
    expect(lines.at(-1)).toEqual({
      type: 'close',
      code: 1000,
      reason: '',
      wasClean: true,
      initiator: 'local',
      exitCode: 0,
    });
  });

  it('reports a failure with its error code and exit status', async (context) => {
    const { expect } = context;
    const run = cli(['connect', await refusedUrl(), '--json']);
    expect((await run.exit).code).toBe(3);
    const last = JSON.parse(run.stdout.trimEnd().split('\n').at(-1) ?? '{}');
    expect(last).toMatchObject({
      type: 'close',
      code: 1006,
      wasClean: false,
      initiator: 'remote',
      exitCode: 3,
    });
    expect(last.error.code).toBe('ERR_CONNECT_FAILED');
  });
});

describe.concurrent('connect --audit', () => {
  it('appends a hash-chained JSONL trail that verify accepts', async (context) => {
    const { expect } = context;
    const file = join(dir, 'trail.jsonl');
    const run = cli(['connect', echo.url, '--audit', file], { input: 'x\n' });
    expect((await run.exit).code).toBe(0);
    const records = readFileSync(file, 'utf8')
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(records.map((r) => r.to)).toEqual([
      'idle',
      'connecting',
      'open',
      'closing-sent',
      'draining',
      'closed',
    ]);
    expect(records.map((r) => r.seq)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(records[1].prev).toBe(records[0].hash);
    const check = cli(['verify', file]);
    expect((await check.exit).code).toBe(0);
    expect(check.stdout).toContain('6 records checked');
  });

  it('refuses a file it cannot write, before connecting (exit 2)', async (context) => {
    const { expect } = context;
    const run = cli(['connect', echo.url, '--audit', join(dir, 'no/such/dir/trail.jsonl')]);
    expect((await run.exit).code).toBe(2);
    expect(run.stderr).toContain('--audit: cannot append');
    expect(run.stderr).not.toContain('connecting →');
  });
});
