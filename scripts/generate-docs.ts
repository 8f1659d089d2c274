/**
 * `npm run docs`: writes every machine's page from the machine itself (src/machine-diagram.ts):
 * docs/machine.md and docs/machine.json for the connection, docs/supervisor.md for the supervisor.
 * test/docs/diagram.test.ts regenerates them in memory and fails when the committed files differ. The
 * PNG beside docs/machine.md needs a browser: `npx tsx scripts/render-diagram.ts` (test/docs/png.test.ts
 * fails when it is stale).
 */
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { generatedDocs } from '../src/machine-diagram.js';

/** The repository root (this file is in scripts/). */
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

async function main(): Promise<void> {
  for (const [path, content] of Object.entries(generatedDocs())) {
    await writeFile(join(REPO_ROOT, path), content);
    console.log(`wrote ${path}`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
