/**
 * The package as a user gets it: `npm pack`, installed into an empty folder, type-checked in a fresh
 * strict TypeScript project and run there. Proves the tarball carries compiled JS and `.d.ts`, that the
 * public types are precise (no `any`: @ts-expect-error lines must fail), and that `ws-lifecycle/machine`
 * loads without `ws`.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, ROOT } from '../cli/helpers.js';

let dir: string;
let files: string[] = [];

const sh = (command: string, args: string[], cwd: string, timeout = 90_000) =>
  execFileSync(command, args, { cwd, encoding: 'utf8', timeout, stdio: ['ignore', 'pipe', 'pipe'] });

beforeAll(async () => {
  await ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'ws-lifecycle-pack-'));
  const packed = JSON.parse(
    sh('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], ROOT),
  ) as {
    filename: string;
    files: { path: string }[];
  }[];
  const tarball = packed[0];
  if (!tarball) throw new Error('npm pack produced nothing');
  files = tarball.files.map((f) => f.path);
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
  );
  sh('npm', ['install', join(dir, tarball.filename), '--prefer-offline', '--no-audit', '--no-fund'], dir);
}, 120_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('npm pack', () => {
  it('carries the compiled library and its declarations, and no sources or tests', () => {
    for (const entry of [
      'dist/src/index.js',
      'dist/src/index.d.ts',
      'dist/machines/index.js',
      'dist/machines/index.d.ts',
    ]) {
      expect(files).toContain(entry);
    }
    expect(files).toContain('dist/src/testing/index.d.ts');
    expect(
      files.filter((f) => f.startsWith('test/') || f.startsWith('src/') || f.startsWith('machines/')),
    ).toEqual([]);
    expect(files.filter((f) => f.startsWith('dist/scripts') || f.startsWith('dist/test'))).toEqual([]);
  });

  it('installs only xstate, ws and their types as runtime dependencies', () => {
    const installed = readdirSync(join(dir, 'node_modules')).filter((n) => !n.startsWith('.'));
    expect(installed.sort()).toEqual(expect.arrayContaining(['@types', 'ws', 'ws-lifecycle', 'xstate']));
    expect(
      installed.filter((n) => !['@types', 'ws', 'ws-lifecycle', 'xstate', 'undici-types'].includes(n)),
    ).toEqual([]);
  });

  it('type-checks in a fresh strict TypeScript project, with precise types', () => {
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          noEmit: true,
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          target: 'ES2022',
          types: ['node'],
          skipLibCheck: false,
        },
        include: ['consumer.ts'],
      }),
    );
    writeFileSync(
      join(dir, 'consumer.ts'),
      `import { type CloseInfo, ConnectionError, connectionMachine, createConnection, jsonlAudit, verifyTrail } from 'ws-lifecycle';
import { connectionMachine as pure, validateCloseStatus } from 'ws-lifecycle/machine';
import { startPeer } from 'ws-lifecycle/testing';

export async function main(): Promise<CloseInfo> {
  const peer = await startPeer({ mode: 'echo' });
  const conn = createConnection(peer.url, { timeouts: { connect: 1000 }, audit: jsonlAudit(process.stdout) });
  const off = conn.on('message', (data) => {
    const text: string | Uint8Array = data;
    void text;
  });
  conn.on('error', (error) => {
    const code: ConnectionError['code'] = error.code;
    void code;
  });
  await conn.open();
  conn.send('hi');
  // @ts-expect-error numbers are not data
  conn.send(42);
  // @ts-expect-error no such event
  conn.on('nope', () => {});
  // @ts-expect-error no such timeout
  createConnection(peer.url, { timeouts: { idle: 1 } });
  const info = await conn.close(1000, 'bye');
  // @ts-expect-error initiator is 'local' | 'remote'
  const wrong: 'other' = info.initiator;
  void wrong;
  off();
  const result: { ok: boolean; checked: number } = verifyTrail(conn.trail);
  void result;
  validateCloseStatus(1000, '');
  void (pure === connectionMachine);
  await peer.close();
  return info;
}
`,
    );
    expect(() => sh(join(ROOT, 'node_modules/.bin/tsc'), ['-p', dir], dir)).not.toThrow();
  });

  it('runs: a connection through the installed package closes cleanly', () => {
    writeFileSync(
      join(dir, 'run.mjs'),
      `import { createConnection } from 'ws-lifecycle';
import { startPeer } from 'ws-lifecycle/testing';
const peer = await startPeer({ mode: 'echo' });
const conn = createConnection(peer.url);
const got = new Promise((resolve) => conn.on('message', resolve));
await conn.open();
conn.send('ping');
const echoed = await got;
const info = await conn.close(4000, 'done');
await peer.close();
console.log(JSON.stringify({ echoed, info, states: conn.trail.map((r) => r.to) }));
`,
    );
    const out = JSON.parse(sh('node', ['run.mjs'], dir, 20_000));
    expect(out).toEqual({
      echoed: 'ping',
      info: { code: 4000, reason: 'done', wasClean: true, initiator: 'local' },
      states: ['idle', 'connecting', 'open', 'closing-sent', 'draining', 'closed'],
    });
  });

  it('ws-lifecycle/machine loads without ws', () => {
    rmSync(join(dir, 'node_modules/ws'), { recursive: true, force: true });
    const out = sh(
      'node',
      [
        '--input-type=module',
        '-e',
        "const m = await import('ws-lifecycle/machine'); console.log(Object.keys(m.connectionMachine.root.states).join(','));",
      ],
      dir,
      20_000,
    );
    expect(out.trim()).toBe('idle,connecting,open,closing-sent,draining,closed');
    expect(() =>
      sh('node', ['--input-type=module', '-e', "await import('ws-lifecycle')"], dir, 20_000),
    ).toThrow(/ws/);
  });
});
