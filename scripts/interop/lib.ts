/**
 * The outside check's parts, shared by run.ts and rst-capture.ts: the packed library installed in a fresh
 * folder (as a user gets it), echo servers of other stacks started as child processes on 127.0.0.1, and
 * the client runs. Every wait is bounded; every process is ended by the handle that started it.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { selfSignedCertificate } from '../../test/support/tls.js';

export const HERE = dirname(fileURLToPath(import.meta.url));
export const ROOT = resolve(HERE, '..', '..');
const SERVERS_DIR = join(HERE, 'servers');

/** Debian's Python, where the python3-* packages live (a pyenv `python3` on PATH does not see them). */
const PYTHON = process.env.INTEROP_PYTHON ?? '/usr/bin/python3';

export interface Work {
  dir: string;
  cert: string;
  key: string;
}

/** A work folder with a fresh self-signed certificate for 127.0.0.1 (cert.pem doubles as the CA). */
export function prepareWork(dir: string): Work {
  mkdirSync(dir, { recursive: true });
  const certificate = selfSignedCertificate();
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  writeFileSync(cert, certificate.cert);
  writeFileSync(key, certificate.key, { mode: 0o600 });
  return { dir, cert, key };
}

export interface Consumer {
  dir: string;
  /** `ws-lifecycle@<version>` and `ws@<version>` as installed there. */
  versions: { 'ws-lifecycle': string; ws: string };
}

const sh = (command: string, args: string[], cwd: string, timeout = 180_000, env = process.env) =>
  execFileSync(command, args, { cwd, env, encoding: 'utf8', timeout, stdio: ['ignore', 'pipe', 'pipe'] });

/**
 * `npm pack` in `from` (its prepack builds dist/), then `npm install <tarball>` into an empty folder with
 * its own package.json, and client.mjs beside it. The same steps as a user installing the package.
 */
export function prepareConsumer(work: Work, from = ROOT): Consumer {
  const packed = JSON.parse(sh('npm', ['pack', '--json', '--pack-destination', work.dir], from)) as {
    filename: string;
  }[];
  const tarball = packed[0]?.filename;
  if (!tarball) throw new Error('npm pack produced nothing');
  const dir = join(work.dir, 'consumer');
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'interop-consumer', private: true, type: 'module' }),
  );
  sh('npm', ['install', join(work.dir, tarball), '--no-audit', '--no-fund', '--prefer-offline'], dir);
  copyFileSync(join(HERE, 'client.mjs'), join(dir, 'client.mjs'));
  const version = (name: string) =>
    (
      JSON.parse(sh('node', ['-p', `JSON.stringify(require('${name}/package.json'))`], dir)) as {
        version: string;
      }
    ).version;
  return { dir, versions: { 'ws-lifecycle': version('ws-lifecycle'), ws: version('ws') } };
}

// --- child processes -----------------------------------------------------------------------------------

export interface Child {
  process: ChildProcess;
  /** stderr so far, for diagnostics. */
  stderr(): string;
  /** SIGTERM, then SIGKILL after `ms`; resolves once it exited. */
  stop(ms?: number): Promise<void>;
}

export function startChild(
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
) {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-8000);
  });
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null) resolve();
    child.once('exit', () => resolve());
    child.once('error', () => resolve());
  });
  return {
    process: child,
    stderr: () => stderr,
    async stop(ms = 3000) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), ms);
      await exited;
      clearTimeout(killer);
    },
  } satisfies Child;
}

/** The first stdout line of `child` parsed as JSON; rejects after `ms` or if it exits first. */
export function readyLine<T>(child: Child, ms = 15_000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(
      () => reject(new Error(`not ready after ${ms} ms: ${child.stderr().trim()}`)),
      ms,
    );
    child.process.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const newline = out.indexOf('\n');
      if (newline === -1) return;
      clearTimeout(timer);
      try {
        resolve(JSON.parse(out.slice(0, newline)) as T);
      } catch (error) {
        reject(error);
      }
    });
    child.process.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited (${code}) before ready: ${child.stderr().trim()}`));
    });
  });
}

/** A port free on 127.0.0.1 right now (for nginx, which cannot report a port 0 choice). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Resolves once a TCP connection to 127.0.0.1:`port` succeeds; rejects after `ms`. */
export async function waitForPort(port: number, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listening on 127.0.0.1:${port} after ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

// --- the servers ---------------------------------------------------------------------------------------

export interface Ports {
  ws: number;
  wss: number;
}

export interface RunningServer {
  ports: Ports;
  stop(): Promise<void>;
}

export interface ServerDefinition {
  name: string;
  /** What runs, with versions (Debian package versions where it comes from Debian). */
  describe(): string;
  /** null if it can run here, else why not (with the package to install). */
  unavailable(): string | null;
  start(work: Work): Promise<RunningServer>;
}

function debVersion(pkg: string): string {
  try {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format syntax
    return sh('dpkg-query', ['-W', '-f=${Version}', pkg], ROOT, 5000).trim() || '?';
  } catch {
    return 'not installed';
  }
}

function pythonHas(module: string): boolean {
  try {
    sh(PYTHON, ['-c', `import ${module}`], ROOT, 10_000);
    return true;
  } catch {
    return false;
  }
}

async function startJsonServer(command: string, args: string[]): Promise<RunningServer> {
  const child = startChild(command, args);
  try {
    const ports = await readyLine<Ports>(child);
    return { ports, stop: () => child.stop() };
  } catch (error) {
    await child.stop();
    throw error;
  }
}

function pythonServer(name: string, file: string, module: string, pkg: string): ServerDefinition {
  return {
    name,
    describe: () => `${pkg} ${debVersion(pkg)}`,
    unavailable: () =>
      pythonHas(module) ? null : `${PYTHON} cannot import ${module} (apt-get install ${pkg})`,
    start: (work) =>
      startJsonServer(PYTHON, [join(SERVERS_DIR, file), '--cert', work.cert, '--key', work.key]),
  };
}

const GORILLA_SRC = '/usr/share/gocode/src/github.com/gorilla/websocket';

const gorilla: ServerDefinition = {
  name: 'gorilla',
  describe: () =>
    `golang-github-gorilla-websocket-dev ${debVersion('golang-github-gorilla-websocket-dev')}, golang-go ${debVersion('golang-go')}`,
  unavailable: () => {
    if (!existsSync('/usr/bin/go')) return 'no go (apt-get install golang-go)';
    if (!existsSync(GORILLA_SRC))
      return 'no gorilla sources (apt-get install golang-github-gorilla-websocket-dev)';
    return null;
  },
  async start(work) {
    const binary = join(work.dir, 'gorilla-echo');
    if (!existsSync(binary)) {
      // GOPATH mode on Debian's packaged sources: nothing is downloaded.
      sh('go', ['build', '-o', binary, join(SERVERS_DIR, 'gorilla', 'main.go')], ROOT, 300_000, {
        ...process.env,
        GO111MODULE: 'off',
        GOPATH: '/usr/share/gocode',
        GOCACHE: join(work.dir, 'gocache'),
        GOPROXY: 'off',
        GOFLAGS: '',
      });
    }
    return startJsonServer(binary, ['-cert', work.cert, '-key', work.key]);
  },
};
const nodeWs: ServerDefinition = {
  name: 'node ws',
  describe: () => `ws ${requireVersion('ws')} on Node ${process.version}`,
  unavailable: () => null,
  start: (work) =>
    startJsonServer(process.execPath, [
      join(SERVERS_DIR, 'node-ws.mjs'),
      '--cert',
      work.cert,
      '--key',
      work.key,
    ]),
};

function requireVersion(name: string): string {
  try {
    return (
      JSON.parse(sh('node', ['-p', `JSON.stringify(require('${name}/package.json'))`], ROOT, 10_000)) as {
        version: string;
      }
    ).version;
  } catch {
    return '?';
  }
}

/** nginx as a TLS-terminating reverse proxy (ws:// and wss://) in front of a plain node ws server. */
const nginx: ServerDefinition = {
  name: 'nginx → node ws',
  describe: () => `nginx ${debVersion('nginx')} proxying to ws ${requireVersion('ws')}`,
  unavailable: () => (existsSync('/usr/sbin/nginx') ? null : 'no nginx (apt-get install nginx)'),
  async start(work) {
    const backend = await startJsonServer(process.execPath, [
      join(SERVERS_DIR, 'node-ws.mjs'),
      '--plain-only',
    ]);
    const prefix = join(work.dir, 'nginx');
    mkdirSync(prefix, { recursive: true });
    const ports: Ports = { ws: await freePort(), wss: await freePort() };
    const location = `location / {
        proxy_pass http://127.0.0.1:${backend.ports.ws};
        proxy_http_version 1.1;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection "upgrade";
        proxy_set_header Host $host;
      }`;
    writeFileSync(
      join(prefix, 'nginx.conf'),
      `daemon off;
master_process off;
error_log ${join(prefix, 'error.log')} warn;
pid ${join(prefix, 'nginx.pid')};
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${join(prefix, 'body')};
  proxy_temp_path ${join(prefix, 'proxy')};
  fastcgi_temp_path ${join(prefix, 'fastcgi')};
  uwsgi_temp_path ${join(prefix, 'uwsgi')};
  scgi_temp_path ${join(prefix, 'scgi')};
  server { listen 127.0.0.1:${ports.ws}; ${location} }
  server {
    listen 127.0.0.1:${ports.wss} ssl;
    ssl_certificate ${work.cert};
    ssl_certificate_key ${work.key};
    ${location}
  }
}
`,
    );
    const child = startChild('/usr/sbin/nginx', [
      '-p',
      prefix,
      '-c',
      join(prefix, 'nginx.conf'),
      '-e',
      join(prefix, 'error.log'),
    ]);
    try {
      await waitForPort(ports.ws);
      await waitForPort(ports.wss);
    } catch (error) {
      await child.stop();
      await backend.stop();
      throw new Error(`nginx did not start: ${(error as Error).message} ${child.stderr()}`);
    }
    return {
      ports,
      async stop() {
        await child.stop();
        await backend.stop();
      },
    };
  },
};

export const SERVERS: ServerDefinition[] = [
  nodeWs,
  pythonServer('python-websockets', 'websockets-echo.py', 'websockets', 'python3-websockets'),
  pythonServer('aiohttp', 'aiohttp-echo.py', 'aiohttp', 'python3-aiohttp'),
  pythonServer('tornado', 'tornado-echo.py', 'tornado', 'python3-tornado'),
  pythonServer('autobahn', 'autobahn-echo.py', 'autobahn.asyncio.websocket', 'python3-autobahn'),
  gorilla,
  nginx,
];

// --- the client ------------------------------------------------------------------------------------------

export type ClientName = 'ws-lifecycle' | 'ws';

export interface ClientOutcome {
  n: number;
  wasClean?: boolean;
  close?: string;
  error?: string | null;
  states?: string;
  extensions?: string;
  messages?: number;
  failed?: string;
}

export interface ClientReport {
  client: ClientName;
  runs: number;
  clean: number;
  outcomes: ClientOutcome[];
}

/** Runs client.mjs in the consumer folder: `runs` × (open, send 'x', close 1000 'bye'). */
export function runClient(consumer: Consumer, work: Work, client: ClientName, url: string, runs: number) {
  const out = sh(
    process.execPath,
    ['client.mjs', '--client', client, '--url', url, '--ca', work.cert, '--runs', String(runs)],
    consumer.dir,
    runs * 3000 + 20_000,
  );
  return JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as ClientReport;
}
