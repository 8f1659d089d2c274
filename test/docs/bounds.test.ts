/**
 * The "Bounds" section of docs/lifecycle.md is drawn from machines/bounds.ts: the region between its
 * markers is generated again in memory and must equal the committed one (run
 * `npx tsx scripts/generate-bounds.ts` after changing a machine or a default).
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { BEGIN, BOUNDS_DOC, boundsMarkdown, END, withRegion } from '../../scripts/generate-bounds.js';

describe('docs/lifecycle.md: Bounds', () => {
  it('the generated region is up to date (npx tsx scripts/generate-bounds.ts)', async () => {
    const doc = await readFile(BOUNDS_DOC, 'utf8');
    const committed = doc.slice(doc.indexOf(BEGIN), doc.indexOf(END) + END.length);
    expect(
      committed,
      'docs/lifecycle.md bounds differ from the machines: run scripts/generate-bounds.ts',
    ).toBe(boundsMarkdown());
  }, 10_000);

  it('shows the defaults’ headline numbers, as the README and the deadline table give them', () => {
    const region = boundsMarkdown();
    // write + read; interval + timeout; the managed close is the attempt's.
    expect(region).toContain('`worstCaseCloseMs()` — from `close()` to `closed`: 10 000 ms');
    expect(region).toContain('nobody closing: 30 000 ms');
    expect(region).toContain('| `open.keepalive-off` | ∞ |');
    expect(region).toContain('a managed connection, from `close()` to `closed`: 10 000 ms');
  }, 10_000);

  it('replaces only the region, and refuses a document without exactly one', () => {
    const doc = `before\n${BEGIN}\nold\n${END}\nafter\n`;
    expect(withRegion(doc, `${BEGIN}\nnew\n${END}`)).toBe(`before\n${BEGIN}\nnew\n${END}\nafter\n`);
    expect(() => withRegion('no markers', 'x')).toThrow(/one <!-- bounds:begin -->/);
    expect(() => withRegion(`${END}\n${BEGIN}`, 'x')).toThrow();
    expect(() => withRegion(`${BEGIN}${BEGIN}${END}`, 'x')).toThrow();
  });
});
