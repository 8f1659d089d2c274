import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
/** Inside the repository (gitignored) so compiled files resolve `ws` and `xstate` and stay ESM. */
export const BUILD_DIR = `${root}bench/results/build`;

/**
 * Compiles the client and server (and what they import: bench/, src/, machines/) once per run, so each
 * of the many client processes starts in ~0.1 s with plain `node` instead of ~0.4 s through tsx.
 * Emits even when some file has a type error (the bench measures; `npm run typecheck` judges).
 */
export function build(timeoutMs = 60_000): { client: string; server: string } {
  rmSync(BUILD_DIR, { recursive: true, force: true });
  mkdirSync(BUILD_DIR, { recursive: true });
  const config = {
    extends: '../../../tsconfig.json',
    compilerOptions: {
      noEmit: false,
      declaration: false,
      sourceMap: false,
      rewriteRelativeImportExtensions: true,
      rootDir: '../../..',
      outDir: '.',
    },
    include: [],
    files: ['../../client.ts', '../../server.ts'],
  };
  writeFileSync(`${BUILD_DIR}/tsconfig.json`, JSON.stringify(config, null, 2));
  const tsc = spawnSync(`${root}node_modules/.bin/tsc`, ['-p', `${BUILD_DIR}/tsconfig.json`], {
    encoding: 'utf8',
    timeout: timeoutMs,
    killSignal: 'SIGKILL',
  });
  const client = `${BUILD_DIR}/bench/client.js`;
  const server = `${BUILD_DIR}/bench/server.js`;
  if (!existsSync(client) || !existsSync(server)) {
    const why = tsc.error?.message ?? `${tsc.stdout}${tsc.stderr}`.trim().split('\n').slice(0, 10).join('\n');
    throw new Error(`compiling bench/ failed:\n${why}`);
  }
  return { client, server };
}
