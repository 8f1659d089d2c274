/**
 * A dead link, for real: a WebSocket peer behind a link that can be made to drop every packet, both
 * ways, with no FIN and no RST — what a keepalive exists to find. A silent peer on loopback is not that:
 * its kernel still ACKs every segment (and every Ping).
 *
 * The host is a network namespace of our own joined to this one by a veth pair that carries a /30 of
 * its own (in 10.253.0.0/16, checked free first) and nothing else: no default route in the namespace,
 * no forwarding, no other address, so no packet can leave this machine. The peer
 * (`dead-link-peer.mjs`, a ws echo server plus a raw TCP echo server) runs inside it under
 * `ip netns exec`. `cut()` puts `tc qdisc … root blackhole` on both ends of the pair (this kernel has
 * no netem; blackhole is built in); `restore()` takes it off.
 *
 * Needs root and iproute2 (`ip`, `tc`): {@link deadLinkSupport} says why not, for `describe.skipIf`.
 *
 * Cleanup, on every path: `close()`; a process 'exit' hook for hosts never closed; the peer exits by
 * itself when its stdin closes (the test process died, even by SIGKILL); and every name carries a
 * prefix and the creating PID, so the next run removes what a dead process left
 * ({@link sweepDeadLinks}, run before the first host is created). Only processes this module started
 * are signalled, by PID.
 *
 * @module
 */

import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** Name prefix of everything this module creates, unless told otherwise. */
export const DEFAULT_DEAD_LINK_PREFIX = 'wsldl';

/** The private range the /30s are carved from; used for nothing else. */
const RANGE = { a: 10, b: 253 } as const;
const SUBNETS = 16_384; // /30s in a /16
const COMMAND_TIMEOUT_MS = 5000;
const PEER_SCRIPT = fileURLToPath(new URL('./dead-link-peer.mjs', import.meta.url));

/** Whether this process can build a dead link, and if not, why. */
export type DeadLinkSupport = { ok: true } | { ok: false; reason: string };

/** Options of {@link createDeadLinkHost}. */
export interface DeadLinkHostOptions {
  /**
   * Prefix of the namespace and interface names (`<prefix>-<pid>-<n>`, `<prefix>-<pid36>-<n36>h|p`):
   * 1–5 characters `[a-z0-9]`, starting with a letter (interface names have at most 15).
   * @default 'wsldl'
   */
  prefix?: string;
  /**
   * How long the peer may take to start listening, in ms.
   * @default 5000
   */
  readyTimeoutMs?: number;
}

/** A line the peer printed: what it saw on its sockets, or an acknowledgement. */
export interface DeadLinkPeerEvent {
  /**
   * `ready`; `tcp-open` / `ws-open` (with `id`, `remotePort`: the client's local port); `tcp-data`
   * (`bytes`, `text`); `tcp-end` (FIN seen); `tcp-error` (`code`, e.g. ECONNRESET); `tcp-close`;
   * `ws-message` (`bytes`); `ws-ping` / `ws-pong` (`bytes`); `ws-error`; `ws-close` (`code`); `ack` (`seq`, `error?`).
   */
  event: string;
  id?: number;
  remotePort?: number;
  bytes?: number;
  text?: string;
  code?: number | string;
  seq?: number;
  error?: string;
  /** In `ready`: the ports the peer listens on, and its PID. */
  wsPort?: number;
  tcpPort?: number;
  pid?: number;
  /** `Date.now()` in the peer. */
  time: number;
}

/** What the peer can be told to do, on the connection `id` it reported in `tcp-open` / `ws-open`. */
export type DeadLinkCommand =
  | { cmd: 'tcp-write'; id: number; data: string }
  | { cmd: 'tcp-end'; id: number }
  | { cmd: 'tcp-reset'; id: number }
  | { cmd: 'ws-send'; id: number; data: string }
  | { cmd: 'ws-ping'; id: number }
  | { cmd: 'ws-close'; id: number; code?: number; reason?: string }
  | { cmd: 'ws-terminate'; id: number };

/** A running peer behind a link that {@link DeadLinkHost.cut} can kill. */
export interface DeadLinkHost {
  /** `ws://<peerAddress>:<port>`: the ws echo server in the namespace. */
  readonly peerUrl: string;
  /** The raw TCP echo server's port, on `peerAddress`. */
  readonly tcpPort: number;
  /** The namespace's end of the pair, e.g. `10.253.3.6`. */
  readonly peerAddress: string;
  /** This namespace's end of the pair. */
  readonly hostAddress: string;
  readonly nsName: string;
  readonly hostVeth: string;
  readonly peerVeth: string;
  /** PID of the peer process (node, exec'd by `ip netns exec`). */
  readonly peerPid: number;
  /** Everything the peer printed, in order. */
  readonly events: readonly DeadLinkPeerEvent[];
  /** Whether the link is cut. */
  readonly isCut: boolean;
  /** Drops every packet both ways from now on (blackhole qdisc on both ends); resolves once both are in place. Idempotent. */
  cut(): Promise<void>;
  /** Takes the blackholes off; TCP then retransmits what was lost. Idempotent. */
  restore(): Promise<void>;
  /** Resolves with the first event (already seen or to come) that matches; rejects after `timeoutMs` (default 2000). */
  waitForEvent(
    match: (e: DeadLinkPeerEvent) => boolean,
    timeoutMs?: number,
    what?: string,
  ): Promise<DeadLinkPeerEvent>;
  /** Tells the peer to act; resolves once it did (its ack), rejects on its error or after 2000 ms. Goes over a pipe, not the link. */
  command(command: DeadLinkCommand): Promise<void>;
  /** Ends the peer (by PID), deletes the namespace, the pair and its qdiscs. Idempotent; bounded. */
  close(): Promise<void>;
}

// ---- tools ----

let tools: { ip: string; tc: string } | null | undefined;

function findTool(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin', '/usr/bin', '/bin'];
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  return undefined;
}

function requireTools(): { ip: string; tc: string } {
  if (tools === undefined) {
    const ip = findTool('ip');
    const tc = findTool('tc');
    tools = ip && tc ? { ip, tc } : null;
  }
  if (!tools) throw new Error('dead link: `ip` and `tc` (iproute2) are required');
  return tools;
}

function errorText(err: unknown): string {
  const e = err as { stderr?: Buffer | string; message?: string };
  const stderr = e.stderr?.toString().trim();
  return stderr || e.message || String(err);
}

/** Runs a command with a bounded wait; rejects with its stderr. */
function run(file: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: COMMAND_TIMEOUT_MS }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${[file, ...args].join(' ')}: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
  });
}

function runSync(file: string, args: string[]): string {
  return execFileSync(file, args, {
    timeout: COMMAND_TIMEOUT_MS,
    stdio: ['ignore', 'pipe', 'pipe'],
  }).toString();
}

const ip = (...args: string[]) => run(requireTools().ip, args);
/** `tc` inside a namespace, or here when `ns` is null. */
const tc = (ns: string | null, ...args: string[]) =>
  ns === null ? run(requireTools().tc, args) : ip('netns', 'exec', ns, requireTools().tc, ...args);

function checkPrefix(prefix: string): string {
  if (!/^[a-z][a-z0-9]{0,4}$/.test(prefix)) {
    throw new Error(
      `dead link: prefix must be 1–5 characters [a-z0-9] starting with a letter, got ${prefix}`,
    );
  }
  return prefix;
}

// ---- support ----

const supportCache = new Map<string, DeadLinkSupport>();

/**
 * Whether this process can build a dead link: root, `ip` and `tc` present, and a throwaway namespace
 * takes a blackhole qdisc. Synchronous and cached, for `describe.skipIf(!deadLinkSupport().ok)`.
 */
export function deadLinkSupport(prefix = DEFAULT_DEAD_LINK_PREFIX): DeadLinkSupport {
  const cached = supportCache.get(prefix);
  if (cached) return cached;
  const result = probeSupport(checkPrefix(prefix));
  supportCache.set(prefix, result);
  return result;
}

function probeSupport(prefix: string): DeadLinkSupport {
  if (process.platform !== 'linux') return { ok: false, reason: `needs Linux, this is ${process.platform}` };
  if (process.getuid?.() !== 0) return { ok: false, reason: 'needs root (network namespaces, tc)' };
  try {
    requireTools();
  } catch {
    return { ok: false, reason: '`ip` and `tc` (iproute2) not found; apt-get install -y iproute2' };
  }
  const { ip: ipPath, tc: tcPath } = requireTools();
  const ns = `${prefix}-${process.pid}-probe`;
  try {
    runSync(ipPath, ['netns', 'add', ns]);
  } catch (err) {
    return { ok: false, reason: `ip netns add failed: ${errorText(err)}` };
  }
  try {
    runSync(ipPath, ['-n', ns, 'link', 'set', 'lo', 'up']);
    runSync(ipPath, ['netns', 'exec', ns, tcPath, 'qdisc', 'add', 'dev', 'lo', 'root', 'blackhole']);
    return { ok: true };
  } catch (err) {
    return { ok: false, reason: `tc qdisc … blackhole failed: ${errorText(err)}` };
  } finally {
    try {
      runSync(ipPath, ['netns', 'delete', ns]);
    } catch {}
  }
}

// ---- leftovers ----

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes what processes that no longer run left under `prefix`: their namespaces (after ending the
 * dead-link peers still inside, by PID) and their host-side veths. Never touches a live process's host.
 * Returns the names removed.
 */
export function sweepDeadLinks(prefix = DEFAULT_DEAD_LINK_PREFIX): string[] {
  checkPrefix(prefix);
  const { ip: ipPath } = requireTools();
  const removed: string[] = [];
  const nsPattern = new RegExp(`^${prefix}-(\\d+)-[a-z0-9]+$`);
  for (const line of runSync(ipPath, ['netns', 'list']).split('\n')) {
    const name = line.split(' ')[0] ?? '';
    const owner = Number(nsPattern.exec(name)?.[1]);
    if (!Number.isInteger(owner) || owner === process.pid || pidAlive(owner)) continue;
    for (const pid of nsPids(name)) killIfPeer(pid);
    try {
      runSync(ipPath, ['netns', 'delete', name]);
      removed.push(name);
    } catch {}
  }
  const linkPattern = new RegExp(`^${prefix}-([0-9a-z]+)-[0-9a-z]+[hp]$`);
  for (const line of runSync(ipPath, ['-o', 'link', 'show']).split('\n')) {
    // "12: wsldl-2hhsg-0h@if11: <BROADCAST,…"
    const name = (line.split(': ')[1] ?? '').split('@')[0] ?? '';
    const pid36 = linkPattern.exec(name)?.[1];
    if (pid36 === undefined) continue;
    const owner = Number.parseInt(pid36, 36);
    if (owner === process.pid || pidAlive(owner)) continue;
    try {
      runSync(ipPath, ['link', 'delete', name]);
      removed.push(name);
    } catch {}
  }
  return removed;
}

function nsPids(ns: string): number[] {
  try {
    return runSync(requireTools().ip, ['netns', 'pids', ns])
      .split('\n')
      .map(Number)
      .filter((pid) => Number.isInteger(pid) && pid > 0);
  } catch {
    return [];
  }
}

/** Ends a leftover process in one of our namespaces, only if it is our peer script. */
function killIfPeer(pid: number): void {
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (cmdline.includes('dead-link-peer.mjs')) process.kill(pid, 'SIGKILL');
  } catch {}
}

// ---- addresses ----

interface Cidr {
  net: number;
  bits: number;
}

function parseCidr(text: string): Cidr | undefined {
  const [address, bitsText = '32'] = text.split('/');
  const parts = (address ?? '').split('.').map(Number);
  const bits = Number(bitsText);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return undefined;
  if (!Number.isInteger(bits) || bits < 0 || bits > 32) return undefined;
  const value = parts.reduce((acc, p) => acc * 256 + p, 0);
  return { net: value - (value % 2 ** (32 - bits)), bits };
}

function overlaps(a: Cidr, b: Cidr): boolean {
  const bits = Math.min(a.bits, b.bits);
  const size = 2 ** (32 - bits);
  return Math.floor(a.net / size) === Math.floor(b.net / size);
}

/** Every IPv4 prefix this namespace has an address or a route for, the default route excepted. */
async function prefixesInUse(): Promise<Cidr[]> {
  const [addrs, routes] = await Promise.all([
    ip('-4', '-o', 'addr', 'show'),
    ip('-4', 'route', 'show', 'table', 'all'),
  ]);
  const found: Cidr[] = [];
  for (const line of addrs.split('\n')) {
    const cidr = / inet (\S+)/.exec(line)?.[1];
    const parsed = cidr ? parseCidr(cidr) : undefined;
    if (parsed && parsed.bits > 0) found.push(parsed);
  }
  for (const line of routes.split('\n')) {
    const words = line.trim().split(/\s+/);
    // "local 10.0.0.1 dev …", "broadcast …", "10.0.0.0/24 dev …", "unreachable 10.1.0.0/16"
    const target = /^\d/.test(words[0] ?? '') ? words[0] : words[1];
    if (!target || target === 'default') continue;
    const parsed = parseCidr(target);
    if (parsed && parsed.bits > 0) found.push(parsed);
  }
  return found;
}

function subnet(index: number): { network: string; host: string; peer: string; cidr: Cidr } {
  const third = Math.floor(index / 64);
  const fourth = (index % 64) * 4;
  const base = `${RANGE.a}.${RANGE.b}.${third}`;
  const cidr = parseCidr(`${base}.${fourth}/30`) as Cidr;
  return {
    network: `${base}.${fourth}/30`,
    host: `${base}.${fourth + 1}`,
    peer: `${base}.${fourth + 2}`,
    cidr,
  };
}

// ---- hosts ----

interface LiveHost {
  nsName: string;
  hostVeth: string;
  child: ChildProcess | undefined;
}

const live = new Set<LiveHost>();
const swept = new Set<string>();
let counter = 0;
let exitHookInstalled = false;

/** Synchronous last resort for hosts nobody closed: the process is exiting. */
function cleanupOnExit(): void {
  for (const host of live) destroySync(host);
  live.clear();
}

function destroySync(host: LiveHost): void {
  const pid = host.child?.pid;
  if (pid !== undefined && host.child?.exitCode === null && host.child.signalCode === null) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {}
  }
  if (!tools) return;
  for (const args of [
    ['netns', 'delete', host.nsName],
    ['link', 'delete', host.hostVeth],
  ]) {
    try {
      runSync(tools.ip, args);
    } catch {}
  }
}

/**
 * Creates a namespace, a veth pair with a /30 of its own, and a peer inside; resolves once the peer
 * listens. Throws (with the reason) when {@link deadLinkSupport} says no. Close it with `close()`.
 *
 * @example
 * const host = await createDeadLinkHost();
 * const ws = new WebSocket(host.peerUrl);
 * // … open …
 * await host.cut(); // from now on nothing gets through, either way, and nothing says so
 * await host.close();
 */
export async function createDeadLinkHost(options: DeadLinkHostOptions = {}): Promise<DeadLinkHost> {
  const prefix = checkPrefix(options.prefix ?? DEFAULT_DEAD_LINK_PREFIX);
  const readyTimeoutMs = options.readyTimeoutMs ?? 5000;
  const support = deadLinkSupport(prefix);
  if (!support.ok) throw new Error(`dead link unavailable: ${support.reason}`);
  if (!swept.has(prefix)) {
    swept.add(prefix);
    sweepDeadLinks(prefix);
  }
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', cleanupOnExit);
  }
  const n = counter++;
  if (n >= 36 * 36) throw new Error('dead link: too many hosts in one process');
  const nsName = `${prefix}-${process.pid}-${n}`;
  const tag = `${prefix}-${process.pid.toString(36)}-${n.toString(36)}`;
  const hostVeth = `${tag}h`;
  const peerVeth = `${tag}p`;
  const entry: LiveHost = { nsName, hostVeth, child: undefined };
  live.add(entry);
  try {
    return await build(entry, peerVeth, n, readyTimeoutMs);
  } catch (err) {
    destroySync(entry);
    live.delete(entry);
    throw err;
  }
}

async function build(
  entry: LiveHost,
  peerVeth: string,
  n: number,
  readyTimeoutMs: number,
): Promise<DeadLinkHost> {
  const { nsName, hostVeth } = entry;
  await ip('netns', 'add', nsName);
  await ip('link', 'add', hostVeth, 'type', 'veth', 'peer', 'name', peerVeth, 'netns', nsName);
  // No IPv6 link-local addresses either: the pair carries our /30 and nothing else.
  await ip('link', 'set', 'dev', hostVeth, 'addrgenmode', 'none');
  await ip('-n', nsName, 'link', 'set', 'dev', peerVeth, 'addrgenmode', 'none');
  await ip('-n', nsName, 'link', 'set', 'lo', 'up');
  const { host: hostAddress, peer: peerAddress } = await assignSubnet(hostVeth, peerVeth, nsName, n);
  await ip('link', 'set', 'dev', hostVeth, 'up');
  await ip('-n', nsName, 'link', 'set', 'dev', peerVeth, 'up');

  const wsPath = createRequire(import.meta.url).resolve('ws');
  const child = spawn(
    requireTools().ip,
    ['netns', 'exec', nsName, process.execPath, PEER_SCRIPT, wsPath, peerAddress],
    {
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  entry.child = child;
  // A host nobody closed must not keep the process alive: the 'exit' hook removes it.
  child.unref();
  for (const stream of [child.stdin, child.stdout, child.stderr])
    (stream as { unref?: () => void } | null)?.unref?.();
  const events: DeadLinkPeerEvent[] = [];
  const listeners = new Set<() => void>();
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  child.stdin?.on('error', () => {});
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
    try {
      events.push(JSON.parse(line) as DeadLinkPeerEvent);
    } catch {
      return;
    }
    for (const listener of [...listeners]) listener();
  });
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      resolve();
      for (const listener of [...listeners]) listener();
    });
    child.once('error', () => {
      exited = true;
      resolve();
      for (const listener of [...listeners]) listener();
    });
  });

  const waitForEvent = (
    match: (e: DeadLinkPeerEvent) => boolean,
    timeoutMs = 2000,
    what = 'a peer event',
  ): Promise<DeadLinkPeerEvent> =>
    new Promise((resolve, reject) => {
      const check = () => {
        const found = events.find(match);
        if (found) {
          done();
          resolve(found);
        } else if (exited) {
          done();
          reject(
            new Error(
              `dead link: the peer exited while waiting for ${what}${stderr ? `: ${stderr.trim()}` : ''}`,
            ),
          );
        }
      };
      const done = () => {
        clearTimeout(timer);
        listeners.delete(check);
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`dead link: timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      listeners.add(check);
      check();
    });

  const ready = await waitForEvent((e) => e.event === 'ready', readyTimeoutMs, 'the peer to listen');
  const { wsPort, tcpPort } = ready;
  const peerPid = child.pid;
  if (wsPort === undefined || tcpPort === undefined || peerPid === undefined) {
    throw new Error(`dead link: the peer's ready line lacks its ports: ${JSON.stringify(ready)}`);
  }

  let cut = false;
  let seq = 0;
  let closing: Promise<void> | undefined;

  return {
    peerUrl: `ws://${peerAddress}:${wsPort}`,
    tcpPort,
    peerAddress,
    hostAddress,
    nsName,
    hostVeth,
    peerVeth,
    peerPid,
    events,
    get isCut() {
      return cut;
    },
    async cut() {
      // `replace` is idempotent; both ends, so neither direction gets through.
      await tc(null, 'qdisc', 'replace', 'dev', hostVeth, 'root', 'blackhole');
      await tc(nsName, 'qdisc', 'replace', 'dev', peerVeth, 'root', 'blackhole');
      const [here, there] = await Promise.all([
        tc(null, 'qdisc', 'show', 'dev', hostVeth),
        tc(nsName, 'qdisc', 'show', 'dev', peerVeth),
      ]);
      if (!here.includes('blackhole') || !there.includes('blackhole')) {
        throw new Error(`dead link: blackhole not in place (${here.trim()} / ${there.trim()})`);
      }
      cut = true;
    },
    async restore() {
      for (const [ns, dev] of [
        [null, hostVeth],
        [nsName, peerVeth],
      ] as const) {
        const shown = await tc(ns, 'qdisc', 'show', 'dev', dev);
        if (shown.includes('blackhole')) await tc(ns, 'qdisc', 'del', 'dev', dev, 'root');
      }
      cut = false;
    },
    waitForEvent,
    async command(command) {
      const id = ++seq;
      if (!child.stdin?.writable) throw new Error('dead link: the peer is gone');
      child.stdin.write(`${JSON.stringify({ ...command, seq: id })}\n`);
      const ack = await waitForEvent(
        (e) => e.event === 'ack' && e.seq === id,
        2000,
        `the ack of ${command.cmd}`,
      );
      if (ack.error) throw new Error(`dead link: ${command.cmd} failed in the peer: ${ack.error}`);
    },
    close() {
      closing ??= (async () => {
        if (!exited) {
          child.kill('SIGTERM');
          const bounded = (ms: number) =>
            Promise.race([exit, new Promise<void>((resolve) => setTimeout(resolve, ms).unref())]);
          await bounded(1000);
          if (!exited) {
            child.kill('SIGKILL');
            await bounded(1000);
          }
        }
        child.stdin?.destroy();
        await ip('netns', 'delete', nsName).catch(() => {});
        // Deleting the namespace deletes the pair with it; this is for the case it could not.
        await ip('link', 'delete', hostVeth).catch(() => {});
        live.delete(entry);
      })();
      return closing;
    },
  };
}

/** Picks a /30 nothing here uses, puts it on the pair, and checks no one else took it meanwhile. */
async function assignSubnet(
  hostVeth: string,
  peerVeth: string,
  nsName: string,
  n: number,
): Promise<{ host: string; peer: string }> {
  const start = (process.pid * 61 + n * 7) % SUBNETS;
  for (let attempt = 0; attempt < 64; attempt++) {
    const candidate = subnet((start + attempt * 97) % SUBNETS);
    const used = await prefixesInUse();
    if (used.some((p) => overlaps(p, candidate.cidr))) continue;
    await ip('addr', 'add', `${candidate.host}/30`, 'dev', hostVeth);
    // Another process may have picked the same /30 at the same moment: then neither keeps it.
    const holders = (await ip('-4', '-o', 'addr', 'show', 'to', candidate.network))
      .split('\n')
      .filter((line) => line.trim() !== '');
    if (holders.length !== 1) {
      await ip('addr', 'del', `${candidate.host}/30`, 'dev', hostVeth).catch(() => {});
      continue;
    }
    await ip('-n', nsName, 'addr', 'add', `${candidate.peer}/30`, 'dev', peerVeth);
    return candidate;
  }
  throw new Error(`dead link: no free /30 in ${RANGE.a}.${RANGE.b}.0.0/16`);
}
