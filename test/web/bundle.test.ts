/**
 * `ws-lifecycle/web` for browsers: bundled by esbuild for the browser platform it imports no `node:`
 * module, no Node builtin and not `ws` (each would be left as an import, and listed here); the Node
 * entry, bundled the same way, shows what such a failure looks like. And its size, checked with
 * size-limit (.size-limit.json: ≤ 25 KB min + gzip, xstate included).
 */
import { spawn } from 'node:child_process';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bundle, nodeBinary, nodeImports, ROOT, tempDir } from './harness.js';

/** Node's modules, every way they can be named, and ws: kept as imports so the metafile lists them. */
const NODE_ONLY = ['node:*', 'ws', ...builtinModules, ...builtinModules.map((m) => `${m}/*`)];

const tmp = tempDir('ws-lifecycle-bundle-');
afterAll(() => tmp.remove());

describe('the browser bundle of ws-lifecycle/web', () => {
  it('imports nothing of Node and not ws, and carries xstate and the machine', async () => {
    const meta = await bundle('src/web.ts', join(tmp.dir, 'web.js'), { fromRoot: true, external: NODE_ONLY });
    expect(nodeImports(meta)).toEqual([]);
    const inputs = Object.keys(meta.inputs);
    expect(inputs.some((file) => file.includes('node_modules/xstate/'))).toBe(true);
    expect(inputs).toContain('machines/connection-machine.ts');
    expect(inputs).toContain('src/transports/web-socket.ts');
    for (const nodeOnly of ['src/transports/ws-client.ts', 'src/connection.ts', 'src/options.ts']) {
      expect(inputs).not.toContain(nodeOnly);
    }
  });

  it('would fail for the Node entry: the same check lists its node: and ws imports', async () => {
    const meta = await bundle('src/index.ts', join(tmp.dir, 'index.js'), {
      fromRoot: true,
      external: NODE_ONLY,
    });
    const found = nodeImports(meta).join('\n');
    expect(found).toMatch(/src\/transports\/ws-client\.ts imports ws/);
    expect(found).toMatch(/imports node:/);
  });
});

describe('the size budget (size-limit, Node ≥ 22)', async () => {
  // size-limit 14 runs on Node ^22.19 || ^24.5 only.
  const node = await nodeBinary(24);
  const skip = 'skip' in node ? node.skip : null;
  it.skipIf(skip !== null)(
    `ws-lifecycle/web is at most 25 KB min + gzip, xstate included${skip ? ` (skipped: ${skip})` : ''}`,
    async () => {
      if (!('path' in node)) return;
      const out = await new Promise<string>((resolve, reject) => {
        const child = spawn(node.path, [join(ROOT, 'node_modules/size-limit/bin.js'), '--json'], {
          cwd: ROOT,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (chunk) => {
          stdout += chunk;
        });
        child.stderr.on('data', (chunk) => {
          stderr += chunk;
        });
        const timer = setTimeout(() => child.pid !== undefined && process.kill(child.pid, 'SIGKILL'), 60_000);
        child.on('close', (code) => {
          clearTimeout(timer);
          if (code === 0) resolve(stdout);
          else reject(new Error(`size-limit exited ${code}\n${stdout}\n${stderr}`));
        });
      });
      const [entry] = JSON.parse(out.slice(out.indexOf('['))) as Array<{
        name: string;
        passed: boolean;
        size: number;
        sizeLimit: number;
      }>;
      expect(entry?.name).toMatch(/ws-lifecycle\/web/);
      expect(entry?.sizeLimit).toBe(25_000);
      expect(entry?.size).toBeLessThanOrEqual(25_000);
      expect(entry?.passed).toBe(true);
    },
    70_000,
  );
});
