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
    { name: 'a removed record', edit: (l: string[]) => l.toSpliced(2, 1), says: /line 3, seq 2: / },
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
});
