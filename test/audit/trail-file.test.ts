/**
 * verifyTrailFile on files that hold several connections, interleaved: a removed line is reported
 * where its gap is (between the lines of its connection's neighbours), and `requireChain` refuses a
 * file whose hash chain was stripped.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyTrailFile } from '../../src/audit/trail-file.js';
import { interleavedLines } from './trails.js';

let dir: string;
let variant = 0;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ws-lifecycle-trail-file-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function verifyLines(content: string[], options: Parameters<typeof verifyTrailFile>[1] = {}) {
  const path = join(dir, `variant-${variant++}.jsonl`);
  await writeFile(path, `${content.join('\n')}\n`);
  return verifyTrailFile(path, options);
}

const { lines, owners } = interleavedLines();

describe('a removed line in a file of interleaved connections', () => {
  it('the untouched file verifies', async () => {
    expect(await verifyLines(lines, { complete: true, requireChain: true })).toEqual({
      ok: true,
      checked: 12,
      connections: 2,
    });
  });

  it.for(lines.map((_, k) => k))(
    'line %i removed: the error names the lines around the gap',
    async (k, { expect }) => {
      const removed = owners[k] as { id: string; seq: number };
      // 1-based line, in the edited file, of the record at original index i (i ≠ k).
      const lineOf = (i: number) => (i < k ? i + 1 : i);
      const indexOf = (seq: number) => owners.findIndex((o) => o.id === removed.id && o.seq === seq);
      const after = removed.seq > 0 ? lineOf(indexOf(removed.seq - 1)) : null;
      const next = indexOf(removed.seq + 1);
      const before = next === -1 ? null : lineOf(next);

      const result = await verifyLines(lines.toSpliced(k, 1), { complete: true });
      expect(result.ok).toBe(false);
      expect(result.error).toMatchObject({
        connectionId: removed.id,
        seq: removed.seq,
        gap: { after, before },
        line: before ?? after,
      });
      const where =
        after !== null && before !== null
          ? `record seq ${removed.seq} missing between line ${after} and line ${before}`
          : before === null
            ? `records from seq ${removed.seq} missing after line ${after}: the trail ends at seq ${removed.seq - 1}`
            : `record seq 0 missing before line ${before}`;
      expect(result.error?.reason).toContain(where);
    },
  );

  it('the cut-off end of one connection is placed after its own last line, not on a neighbour', async () => {
    // a5 (the file's last line) removed: a's trail ends at a4, line 8; line 9 is b's.
    const result = await verifyLines(lines.slice(0, -1), { complete: true });
    expect(result.error).toMatchObject({
      connectionId: 'a',
      seq: 5,
      line: 8,
      gap: { after: 8, before: null },
    });
  });

  it('two records of one connection removed: named as a range', async () => {
    // a3 and a4 (lines 7, 8) removed: a2 is at line 5, a5 now at line 10.
    const result = await verifyLines(lines.toSpliced(6, 2));
    expect(result.error).toMatchObject({
      connectionId: 'a',
      seq: 3,
      line: 10,
      gap: { after: 5, before: 10 },
    });
    expect(result.error?.reason).toBe(
      'records seq 3…4 missing between line 5 and line 10: seq 5 follows seq 2',
    );
  });

  it('a record moved further down is out of order, not missing', async () => {
    // a1 (line 2) and a2 (line 5) swapped: a's trail has seq 2 where 1 was expected, at line 2.
    const moved = [lines[0], lines[4], lines[2], lines[3], lines[1], ...lines.slice(5)] as string[];
    const result = await verifyLines(moved);
    expect(result.error).toMatchObject({ connectionId: 'a', seq: 1, line: 2 });
    expect(result.error).not.toHaveProperty('gap');
    expect(result.error?.reason).toBe('seq 2 where 1 was expected: seq 1 is out of order, at line 5');
  });

  it('the failure reported is the one that starts first in the file: a gap starts after its line', async () => {
    // b2 (line 6) removed, so b's gap lies between lines 4 and 8; a3 (line 7, now 6) edited.
    const edited = lines.toSpliced(5, 1).with(5, (lines[6] as string).replace('"done"', '"gone"'));
    const result = await verifyLines(edited);
    expect(result.error).toMatchObject({ connectionId: 'b', seq: 2, line: 8, gap: { after: 4, before: 8 } });
    // Without the gap, a's edit is the first failure.
    expect((await verifyLines(lines.with(6, edited[5] as string))).error).toMatchObject({
      connectionId: 'a',
      seq: 3,
      line: 7,
    });
  });
});

describe('requireChain on a file', () => {
  const strip = (line: string) => {
    const { hash: _hash, prev: _prev, ...rest } = JSON.parse(line) as Record<string, unknown>;
    return JSON.stringify(rest);
  };

  it('a stripped chain whose lines were then edited passes without it, and fails with it', async () => {
    // Every hash removed, then a's close reason rewritten consistently in both records that carry it.
    const forged = lines
      .map(strip)
      .map((line) => (line.includes('"connectionId":"a"') ? line.replaceAll('"done"', '"forged"') : line));
    expect(await verifyLines(forged, { complete: true })).toMatchObject({ ok: true, checked: 12 });

    const result = await verifyLines(forged, { complete: true, requireChain: true });
    expect(result).toMatchObject({ ok: false, checked: 0 });
    expect(result.error).toMatchObject({ line: 1, seq: 0, connectionId: 'a' });
    expect(result.error?.reason).toMatch(/^no hash chain: seq 0 has no hash/);
  });

  it('a chain stripped from one connection only fails that connection, at its first line', async () => {
    const partly = lines.map((line) => (line.includes('"connectionId":"b"') ? strip(line) : line));
    const result = await verifyLines(partly, { requireChain: true });
    expect(result).toMatchObject({ ok: false, checked: 6, connections: 2 });
    expect(result.error).toMatchObject({ line: 3, seq: 0, connectionId: 'b' });
  });

  it('a hash removed from a single line is caught with or without it', async () => {
    const one = lines.with(4, strip(lines[4] as string));
    for (const requireChain of [false, true]) {
      expect((await verifyLines(one, { requireChain })).error).toMatchObject({ line: 5, seq: 2 });
    }
  });
});
