/**
 * `ws-lifecycle verify`: exit 0 for a trail the library wrote, 1 with the first bad line and seq for
 * one that was cut, edited or reordered.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { jsonlAudit } from '../../src/audit/jsonl-audit.js';
import { createConnection } from '../../src/connection.js';
import { startPeer } from '../../src/testing/index.js';
import { interleavedLines } from '../audit/trails.js';
import { cli, ensureBuilt, killAll } from './helpers.js';

let dir: string;
let lines: string[];

/** A real trail: one clean connection to an echo peer, written by jsonlAudit. */
async function writeTrail(file: string): Promise<string[]> {
  const peer = await startPeer({ mode: 'echo' });
  const audit = jsonlAudit(file);
  try {
    const conn = createConnection(peer.url, { audit });
    await conn.open();
    await conn.close(1000, 'done');
  } finally {
    await audit.close();
    await peer.close();
  }
  return readFileSync(file, 'utf8').trimEnd().split('\n');
}

function trailFile(name: string, content: string[]): string {
  const file = join(dir, name);
  writeFileSync(file, `${content.join('\n')}\n`);
  return file;
}

beforeAll(async () => {
  await ensureBuilt();
  dir = mkdtempSync(join(tmpdir(), 'ws-lifecycle-verify-'));
  lines = await writeTrail(join(dir, 'valid.jsonl'));
}, 120_000);
afterAll(() => killAll());
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.concurrent('verify', () => {
  it('accepts a trail jsonlAudit wrote: exit 0 with the count', async ({ expect }) => {
    expect(lines).toHaveLength(6);
    const run = cli(['verify', join(dir, 'valid.jsonl'), '--complete']);
    expect((await run.exit).code).toBe(0);
    expect(run.stdout).toContain('valid: 6 records checked (1 connection)');
  });

  it.for([
    {
      name: 'a removed record',
      edit: (l: string[]) => l.toSpliced(2, 1),
      says: /line 3, seq 2: record seq 2 missing between line 2 and line 3: seq 3 follows seq 1\n/,
    },
    {
      name: 'two records swapped',
      edit: (l: string[]) => [l[0], l[2], l[1], ...l.slice(3)] as string[],
      says: /seq 1: /,
    },
    {
      name: 'an edited close code',
      edit: (l: string[]) =>
        l.map((line, i) => (i === 5 ? line.replace('"code":1000', '"code":1001') : line)),
      says: /line 6, seq 5: /,
    },
    {
      name: 'a line that is not JSON',
      edit: (l: string[]) => [l[0], 'oops', ...l.slice(1)] as string[],
      says: /line 2: /,
    },
  ])('rejects $name: exit 1 with the first bad line and seq', async ({ name, edit, says }, { expect }) => {
    const run = cli(['verify', trailFile(`${name.replace(/\W+/g, '-')}.jsonl`, edit(lines))]);
    expect((await run.exit).code).toBe(1);
    expect(run.stdout).toMatch(/^invalid: /);
    expect(run.stdout).toMatch(says);
  });

  it('--complete rejects a trail cut before closed; without it, the part verifies', async ({ expect }) => {
    const file = trailFile('cut.jsonl', lines.slice(0, 4));
    const strict = cli(['verify', file, '--complete']);
    expect((await strict.exit).code).toBe(1);
    const lenient = cli(['verify', file]);
    expect((await lenient.exit).code).toBe(0);
    expect(lenient.stdout).toContain('4 records checked');
  });

  it('names the lines around a record removed from a file of interleaved connections', async ({ expect }) => {
    // Connection a's seq 4 (line 8) removed: its seq 3 is at line 7, its seq 5 now at line 11.
    const { lines: both } = interleavedLines();
    const run = cli(['verify', trailFile('interleaved-cut.jsonl', both.toSpliced(7, 1))]);
    expect((await run.exit).code).toBe(1);
    expect(run.stdout).toContain(
      'invalid: line 11, seq 4, connection a: record seq 4 missing between line 7 and line 11: seq 5 follows seq 3\n',
    );
  });

  it('--require-chain rejects a trail whose hash fields were stripped and whose lines were edited', async ({
    expect,
  }) => {
    const forged = lines.map((line) => {
      const { hash: _hash, prev: _prev, ...rest } = JSON.parse(line) as Record<string, unknown>;
      return JSON.stringify(rest).replaceAll('"done"', '"forged"');
    });
    const file = trailFile('stripped.jsonl', forged);
    const lenient = cli(['verify', file, '--complete']);
    expect((await lenient.exit).code).toBe(0);
    const strict = cli(['verify', file, '--complete', '--require-chain']);
    expect((await strict.exit).code).toBe(1);
    expect(strict.stdout).toMatch(/^invalid: line 1, seq 0: no hash chain: seq 0 has no hash/);
    // The file jsonlAudit wrote passes it.
    const intact = cli(['verify', join(dir, 'valid.jsonl'), '--require-chain']);
    expect((await intact.exit).code).toBe(0);
  });

  it('--help documents --require-chain', async ({ expect }) => {
    const run = cli(['verify', '--help']);
    expect((await run.exit).code).toBe(0);
    expect(run.stdout).toContain('--require-chain');
  });
});
