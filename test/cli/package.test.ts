/**
 * Packaging of the CLI and the fault peers: the `ws-lifecycle` bin is the built main with a shebang,
 * and `ws-lifecycle/testing` resolves by package name (types first) to the built fault peers.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { ensureBuilt, killAll, ROOT, run } from './helpers.js';

beforeAll(() => ensureBuilt(), 120_000);
afterAll(() => killAll());

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  bin: Record<string, string>;
  exports: Record<string, Record<string, string>>;
};

describe.concurrent('package', () => {
  it('bin ws-lifecycle is the built CLI, with a node shebang', ({ expect }) => {
    expect(pkg.bin).toEqual({ 'ws-lifecycle': 'dist/src/cli/main.js' });
    expect(readFileSync(join(ROOT, pkg.bin['ws-lifecycle'] as string), 'utf8').split('\n')[0]).toBe(
      '#!/usr/bin/env node',
    );
  });

  it('exports ./testing with types first, both built', ({ expect }) => {
    const entry = pkg.exports['./testing'] as Record<string, string>;
    expect(Object.keys(entry)).toEqual(['types', 'default']);
    for (const file of Object.values(entry)) expect(existsSync(join(ROOT, file))).toBe(true);
  });

  it('import("ws-lifecycle/testing") gives startPeer and refusedUrl; a peer runs on 127.0.0.1', async ({
    expect,
  }) => {
    const script = [
      "const { startPeer, refusedUrl } = await import('ws-lifecycle/testing');",
      "const peer = await startPeer({ mode: 'silent' });",
      'console.log(typeof refusedUrl, peer.url.startsWith("ws://127.0.0.1:"));',
      'await peer.close();',
    ].join('\n');
    const child = run(process.execPath, ['--input-type=module', '-e', script]);
    expect(await child.exit).toEqual({ code: 0, signal: null });
    expect(child.stdout).toBe('function true\n');
  });
});
