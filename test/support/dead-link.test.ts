/**
 * Probes that the dead link is one: once cut, nothing crosses it either way — no data, no FIN, no RST,
 * no Pong — and nothing tells either side; and that it is ours alone (no route out), restorable, and
 * cleaned up on every exit path.
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import {
  createDeadLinkHost,
  type DeadLinkHost,
  type DeadLinkPeerEvent,
  deadLinkSupport,
  sweepDeadLinks,
} from './dead-link.js';

const support = deadLinkSupport();
if (!support.ok) console.warn(`test/support/dead-link.test.ts skipped: ${support.reason}`);
const title = support.ok ? 'a dead link, for real' : `a dead link, for real (skipped: ${support.reason})`;

const T = { timeout: 5000 };
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const ipTool = () => execFileSync('sh', ['-c', 'command -v ip']).toString().trim();
const ip = (...args: string[]) => execFileSync(ipTool(), args, { timeout: 5000 }).toString();

/** A TCP client whose every event is recorded, in order, as `name[:detail]`. */
interface Probe {
  socket: Socket;
  events: string[];
}

async function probe(host: DeadLinkHost): Promise<{ client: Probe; id: number }> {
  const socket = connect(host.tcpPort, host.peerAddress);
  const events: string[] = [];
  socket.on('data', (d: Buffer) => events.push(`data:${d.toString()}`));
  socket.on('end', () => events.push('end'));
  socket.on('error', (err: NodeJS.ErrnoException) => events.push(`error:${err.code ?? err.message}`));
  socket.on('close', () => events.push('close'));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const open = await host.waitForEvent(
    (e) => e.event === 'tcp-open' && e.remotePort === socket.localPort,
    2000,
    'the peer to accept',
  );
  return { client: { socket, events }, id: open.id as number };
}

/** The peer's events since `mark` on connection `id` (of `kind`), acks left out. */
function peerSaw(host: DeadLinkHost, mark: number, id: number, kind: 'tcp' | 'ws'): string[] {
  return host.events
    .slice(mark)
    .filter((e: DeadLinkPeerEvent) => e.id === id && e.event.startsWith(`${kind}-`))
    .map((e) => e.event);
}

/** Whether a process runs (a zombie nobody reaped yet does not). */
function exists(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

describe.skipIf(!support.ok)(title, T, () => {
  let host: DeadLinkHost;
  const sockets: { destroy(): void }[] = [];

  beforeAll(async () => {
    host = await createDeadLinkHost();
  }, 10_000);

  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await host?.close();
    // Whatever a failed crash test left (its process is dead by now).
    sweepDeadLinks();
  }, 10_000);

  it('is ours alone: one /30 on the pair, no default route, nothing else in the namespace', () => {
    expect(host.peerAddress).toMatch(/^10\.253\.\d+\.\d+$/);
    expect(host.peerUrl).toBe(`ws://${host.peerAddress}:${new URL(host.peerUrl).port}`);
    const inside = ip('-n', host.nsName, '-4', 'route', 'show', 'table', 'all')
      .split('\n')
      .filter((l) => l.trim() !== '' && !l.includes(' table local '));
    expect(inside).toEqual([
      expect.stringMatching(new RegExp(`^10\\.253\\.\\d+\\.\\d+/30 dev ${host.peerVeth} `)),
    ]);
    const inside6 = ip('-n', host.nsName, '-6', 'route', 'show', 'table', 'all')
      .split('\n')
      .filter((l) => l.trim() !== '' && !l.includes(' dev lo ') && !l.startsWith('multicast '));
    expect(inside6).toEqual([]);
    const addresses = ip('-n', host.nsName, '-o', 'addr', 'show')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => l.split(/\s+/).slice(1, 4).join(' '));
    expect(addresses.filter((a) => !a.startsWith('lo '))).toEqual([
      `${host.peerVeth} inet ${host.peerAddress}/30`,
    ]);
    for (const a of addresses.filter((x) => x.startsWith('lo '))) {
      expect(['lo inet 127.0.0.1/8', 'lo inet6 ::1/128']).toContain(a);
    }
    // Here, the /30 goes to our veth and nowhere else.
    const routes = ip('-4', 'route', 'show', 'to', 'match', host.peerAddress)
      .split('\n')
      .filter((l) => l.includes('/30'));
    expect(routes).toEqual([expect.stringContaining(`dev ${host.hostVeth}`)]);
  });

  it('TCP: before the cut data round-trips; after it no data, FIN or RST crosses either way for 1.5 s', async () => {
    const a = await probe(host); // data both ways
    const b = await probe(host); // the peer sends FIN
    const c = await probe(host); // the peer sends RST
    const d = await probe(host); // the client sends FIN
    const e = await probe(host); // the client sends RST
    for (const p of [a, b, c, d, e]) sockets.push(p.client.socket);
    a.client.socket.write('before');
    await host.waitForEvent((ev) => ev.event === 'tcp-data' && ev.id === a.id, 2000, 'the data');
    for (let t = 0; t < 100 && a.client.events.length === 0; t++) await sleep(10);
    expect(a.client.events).toEqual(['data:before']);

    await host.cut();
    expect(host.isCut).toBe(true);
    const mark = host.events.length;
    a.client.socket.write('after the cut');
    await host.command({ cmd: 'tcp-write', id: a.id, data: 'from the peer' });
    await host.command({ cmd: 'tcp-end', id: b.id });
    await host.command({ cmd: 'tcp-reset', id: c.id });
    d.client.socket.end();
    e.client.socket.resetAndDestroy();
    await sleep(1500);

    // The client heard nothing: its sockets are open, with no 'data', 'end', 'error' or 'close'.
    expect(a.client.events).toEqual(['data:before']);
    for (const p of [b, c]) expect(p.client.events).toEqual([]);
    for (const p of [a, b, c]) expect(p.client.socket.destroyed).toBe(false);
    expect(d.client.events).toEqual([]); // half-closed here; the peer never answers
    // The peer heard nothing either: not the data, not the FIN, not the RST.
    expect(peerSaw(host, mark, a.id, 'tcp')).toEqual([]);
    expect(peerSaw(host, mark, b.id, 'tcp')).toEqual([]);
    expect(peerSaw(host, mark, c.id, 'tcp')).toEqual(['tcp-close']); // its own reset, locally
    expect(peerSaw(host, mark, d.id, 'tcp')).toEqual([]);
    expect(peerSaw(host, mark, e.id, 'tcp')).toEqual([]);
    await host.restore();
  });

  it('ws: after the cut ws.ping() gets no Pong within 1 s and no close; the peer sees no Ping', async () => {
    const ws = new WebSocket(host.peerUrl, { perMessageDeflate: false });
    sockets.push({ destroy: () => ws.terminate() });
    const events: string[] = [];
    ws.on('pong', () => events.push('pong'));
    ws.on('message', (data) => events.push(`message:${data.toString()}`));
    ws.on('close', (code) => events.push(`close:${code}`));
    ws.on('error', (err) => events.push(`error:${err.message}`));
    await new Promise<void>((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const localPort = (ws as unknown as { _socket: Socket })._socket.localPort;
    const open = await host.waitForEvent((e) => e.event === 'ws-open' && e.remotePort === localPort);
    const id = open.id as number;
    ws.ping();
    for (let t = 0; t < 100 && !events.includes('pong'); t++) await sleep(10);
    expect(events).toEqual(['pong']);

    await host.cut();
    const mark = host.events.length;
    ws.ping();
    ws.send('lost');
    await host.command({ cmd: 'ws-send', id, data: 'also lost' });
    await host.command({ cmd: 'ws-ping', id });
    await sleep(1000);
    expect(events).toEqual(['pong']);
    expect(ws.readyState).toBe(WebSocket.OPEN);
    expect(peerSaw(host, mark, id, 'ws')).toEqual([]);
    ws.terminate();
    await host.restore();
  });

  it('restore() lets TCP through again: what was sent during the cut arrives, the connection survived', async () => {
    const { client, id } = await probe(host);
    sockets.push(client.socket);
    await host.cut();
    const mark = host.events.length;
    client.socket.write('held back');
    await sleep(300);
    expect(peerSaw(host, mark, id, 'tcp')).toEqual([]);
    await host.restore();
    expect(host.isCut).toBe(false);
    // TCP retransmits on its own schedule (RTO ≥ 200 ms, doubling): well within 2 s after a 300 ms cut.
    await host.waitForEvent((e) => e.event === 'tcp-data' && e.id === id, 2500, 'the retransmitted data');
    for (let t = 0; t < 100 && client.events.length === 0; t++) await sleep(10);
    expect(client.events).toEqual(['data:held back']);
  });

  it('close() ends the peer and removes the namespace and the pair; it is idempotent', async () => {
    const other = await createDeadLinkHost();
    expect(other.nsName).not.toBe(host.nsName);
    expect(other.peerAddress).not.toBe(host.peerAddress);
    await other.cut();
    expect(ip('netns', 'list')).toContain(other.nsName);
    await Promise.all([other.close(), other.close()]);
    expect(ip('netns', 'list')).not.toContain(other.nsName);
    expect(ip('-o', 'link', 'show')).not.toContain(other.hostVeth);
    expect(exists(other.peerPid)).toBe(false);
    expect(ip('-4', '-o', 'addr', 'show')).not.toContain(other.hostAddress);
  });

  it.each([
    ['exits', 'the exit hook', false],
    ['is killed (SIGKILL)', 'the peer leaves by itself, the next sweep removes the rest', true],
  ])('a process that %s without close() leaves nothing behind: %s', async (_how, _path, killed) => {
    const dir = fileURLToPath(new URL('.', import.meta.url));
    const script = [
      `const { createDeadLinkHost } = await import(${JSON.stringify(`${dir}dead-link.ts`)});`,
      'const h = await createDeadLinkHost();',
      'console.log(JSON.stringify({ nsName: h.nsName, hostVeth: h.hostVeth, peerPid: h.peerPid }));',
      // Told on stdin when to exit; SIGKILLed while it waits.
      "process.stdin.once('data', () => process.exit(0));",
    ].join('\n');
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    sockets.push({ destroy: () => child.kill('SIGKILL') });
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) resolve(out.trim());
      });
      child.once('exit', (code) => reject(new Error(`child exited (${code}) before reporting: ${out}`)));
    });
    const made = JSON.parse(line) as { nsName: string; hostVeth: string; peerPid: number };
    expect(ip('netns', 'list')).toContain(made.nsName);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    if (killed) child.kill('SIGKILL');
    else child.stdin.write('exit now\n');
    await exited;
    if (killed) {
      // Its peer notices its stdin closed and exits; the namespace stays until the next sweep.
      for (let t = 0; t < 100 && exists(made.peerPid); t++) await sleep(10);
      expect(exists(made.peerPid)).toBe(false);
      expect(sweepDeadLinks()).toContain(made.nsName);
    }
    expect(exists(made.peerPid)).toBe(false);
    expect(ip('netns', 'list')).not.toContain(made.nsName);
    expect(ip('-o', 'link', 'show')).not.toContain(made.hostVeth);
  });
});
