/**
 * `npm run docs`: writes docs/machine.md and docs/machine.json from the machine (src/machine-diagram.ts).
 * test/docs/diagram.test.ts regenerates both in memory and fails when the committed files differ.
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
