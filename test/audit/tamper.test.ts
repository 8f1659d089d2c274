/**
 * Tamper evidence: a real connection's JSONL trail verifies; the same file with one line removed,
 * swapped, duplicated or edited fails, naming the first seq that cannot be trusted.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STATE_NAMES } from '../../machines/types.js';
import { hashRecord } from '../../src/audit/audit-chain.js';
import { jsonlAudit } from '../../src/audit/jsonl-audit.js';
import { verifyTrailFile } from '../../src/audit/trail-file.js';
import { runScenario } from './scenarios.js';

let dir: string;
/** The lines of one clean connection's trail file: idle … closed, 6 records. */
let lines: string[];
let variant = 0;

async function verifyLines(content: string[], complete = false) {
  const path = join(dir, `variant-${variant++}.jsonl`);
  await writeFile(path, `${content.join('\n')}\n`);
  return verifyTrailFile(path, { complete });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ws-lifecycle-tamper-'));
  const path = join(dir, 'original.jsonl');
  const audit = jsonlAudit(path);
  await runScenario({ kind: 'echo', messages: 2, end: 'close', code: 4000, reason: 'bye' }, { audit });
  await audit.close();
  lines = (await readFile(path, 'utf8')).trimEnd().split('\n');
}, 5000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

type Edit = (record: Record<string, unknown>) => void;

/** Each changes one field to a different value. */
const EDITS: Record<string, Edit> = {
  'detail.code': (r) => {
    const detail = (r.detail ?? {}) as { code?: number };
    detail.code = (detail.code ?? 1000) + 1;
    r.detail = detail;
  },
  to: (r) => {
    r.to = STATE_NAMES.find((state) => state !== r.to);
  },
  from: (r) => {
    r.from = STATE_NAMES.find((state) => state !== r.from);
  },
  event: (r) => {
    r.event = r.event === 'api.terminate' ? 'api.open' : 'api.terminate';
  },
  time: (r) => {
    r.time = new Date(Date.parse(r.time as string) + 1).toISOString();
  },
  elapsedMs: (r) => {
    r.elapsedMs = (r.elapsedMs as number) + 0.5;
  },
  seq: (r) => {
    r.seq = (r.seq as number) + 7;
  },
  hash: (r) => {
    const hash = r.hash as string;
    r.hash = `${hash[0] === 'a' ? 'b' : 'a'}${hash.slice(1)}`;
  },
};

describe('a JSONL trail file', () => {
  it('verifies as written: 6 hash-chained records of one connection, ending closed', async () => {
    expect(lines).toHaveLength(6);
    expect(await verifyLines(lines, true)).toEqual({ ok: true, checked: 6, connections: 1 });
  }, 5000);

  it('with one line removed fails at that seq, naming the lines around the gap (the last one only when the trail must be complete)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 5 }), async (k) => {
        const result = await verifyLines(lines.toSpliced(k, 1), true);
        expect(result.ok).toBe(false);
        // The record that followed the removed one now stands at line k + 1; the one before it at k.
        const gap = { after: k === 0 ? null : k, before: k === 5 ? null : k + 1 };
        expect(result.error).toMatchObject({ seq: k, line: gap.before ?? gap.after, gap });
        if (gap.after !== null && gap.before !== null) {
          expect(result.error?.reason).toMatch(`record seq ${k} missing between line ${k} and line ${k + 1}`);
        }
      }),
      { numRuns: 12 },
    );
    // A cut-off file is a valid prefix: only `complete` tells it from a connection still running.
    expect((await verifyLines(lines.slice(0, 5))).ok).toBe(true);
    expect((await verifyLines(lines.slice(0, 5), true)).error).toMatchObject({
      seq: 5,
      reason: expect.stringMatching(/closed record is missing/),
    });
  }, 5000);

  it('with two adjacent lines swapped fails at the first of them', async () => {
    for (let k = 0; k < lines.length - 1; k++) {
      const swapped = [...lines];
      [swapped[k], swapped[k + 1]] = [swapped[k + 1] as string, swapped[k] as string];
      const result = await verifyLines(swapped);
      expect(result.error, `swap ${k}, ${k + 1}`).toMatchObject({ seq: k, line: k + 1 });
    }
  }, 5000);

  it('with a line repeated fails at the repeat', async () => {
    for (let k = 0; k < lines.length - 1; k++) {
      const repeated = lines.toSpliced(k + 1, 0, lines[k] as string);
      expect((await verifyLines(repeated)).error, `repeat ${k}`).toMatchObject({
        seq: k + 1,
        reason: expect.stringMatching(/repeated|follows the closed record/),
      });
    }
  }, 5000);

  it('with any field of one line edited fails at that seq', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 5 }),
        fc.constantFrom(...Object.keys(EDITS)),
        async (k, field) => {
          const record = JSON.parse(lines[k] as string) as Record<string, unknown>;
          (EDITS[field] as Edit)(record);
          const result = await verifyLines(lines.with(k, JSON.stringify(record)));
          expect(result.ok).toBe(false);
          expect(result.error).toMatchObject({ seq: k, line: k + 1 });
        },
      ),
      { numRuns: 40 },
    );
  }, 10_000);

  it('with an edit whose hash was recomputed fails at the next record, whose prev no longer matches', async () => {
    const record = JSON.parse(lines[2] as string) as Record<string, unknown>;
    record.elapsedMs = (record.elapsedMs as number) + 0.25;
    record.hash = hashRecord(record);
    const result = await verifyLines(lines.with(2, JSON.stringify(record)));
    expect(result.error).toMatchObject({ seq: 3, reason: expect.stringMatching(/prev does not match/) });
  }, 5000);

  it('with a line that is not JSON fails at that line', async () => {
    const result = await verifyLines(lines.with(3, '{"seq": 3,'));
    expect(result).toMatchObject({ ok: false, error: { line: 4, connectionId: null, seq: null } });
  }, 5000);
});

describe('a JSONL file holding several connections', () => {
  it('verifies each chain on its own and reports the first failure with its connection id and seq', async () => {
    const path = join(dir, 'two.jsonl');
    const audit = jsonlAudit(path);
    const [a, b] = await Promise.all([
      runScenario({ kind: 'echo', messages: 1, end: 'close', code: 1000, reason: '' }, { audit }),
      runScenario({ kind: 'close-first', code: 1001, reason: 'away' }, { audit }),
    ]);
    await audit.close();
    const both = (await readFile(path, 'utf8')).trimEnd().split('\n');
    expect(await verifyLines(both, true)).toEqual({ ok: true, checked: 12, connections: 2 });

    // Remove b's seq 3: its chain breaks at seq 3, at the line where b's seq 4 now stands.
    const target = both.findIndex((line) => line.includes(b?.conn.id as string) && line.includes('"seq":3,'));
    const nextOfB = both.findIndex((line, i) => i > target && line.includes(b?.conn.id as string));
    const result = await verifyLines(both.toSpliced(target, 1));
    expect(result.error).toMatchObject({ connectionId: b?.conn.id, seq: 3, line: nextOfB });
    expect(result.checked).toBe((a?.trail.length ?? 0) + 3);
  }, 5000);
});
