/**
 * docs/machine.png is the diagram of docs/machine.md, rendered by scripts/render-diagram.ts: it records
 * the SHA-256 of the Mermaid source it was drawn from, so it goes stale (and this fails) when the
 * machine changes, without starting a browser. Small enough to commit, and referenced by the page.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../scripts/generate-docs.js';
import { PNG_HASH_KEY, pngTextChunks, sourceHash, withTextChunk } from '../../scripts/render-diagram.js';
import { diagramMachines, mermaidDiagram } from '../../src/machine-diagram.js';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

describe.each(
  diagramMachines()
    .filter((m) => m.image)
    .map((m) => [m.image as string, m] as const),
)('docs/%s', (image, entry) => {
  it('is the render of the current diagram (npx tsx scripts/render-diagram.ts)', async () => {
    const png = await readFile(join(REPO_ROOT, 'docs', image));
    expect(png.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
    expect(pngTextChunks(png)[PNG_HASH_KEY], `${image} is stale: run npx tsx scripts/render-diagram.ts`).toBe(
      sourceHash(mermaidDiagram(entry.machine)),
    );
  }, 5000);

  it('is under 200 KB, at most page width (about 1000 px), and linked from its page', async () => {
    const png = await readFile(join(REPO_ROOT, 'docs', image));
    expect(png.length).toBeLessThan(200 * 1024);
    // IHDR, the first chunk: width and height at bytes 16 and 20.
    expect(png.readUInt32BE(16)).toBeLessThanOrEqual(1000);
    const page = await readFile(join(REPO_ROOT, entry.page), 'utf8');
    expect(page).toContain(`](${image})`);
  }, 5000);
});

describe('the PNG stamp', () => {
  it('round-trips through a tEXt chunk and leaves a valid chunk layout', async () => {
    const png = await readFile(join(REPO_ROOT, 'docs/machine.png'));
    const stamped = withTextChunk(png, 'test:key', 'value');
    expect(pngTextChunks(stamped)['test:key']).toBe('value');
    // The stamp goes before IEND, which stays last.
    expect(stamped.subarray(stamped.length - 8, stamped.length - 4).toString('latin1')).toBe('IEND');
    expect(stamped.length - png.length).toBe(12 + 'test:key'.length + 1 + 'value'.length);
  }, 5000);
});
