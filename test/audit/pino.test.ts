/**
 * Records work as-is with pino (`audit: (r) => logger.info(r)`), to a file and to a stream, and the
 * lines pino writes verify; with `createAuditChain()` in between they are hash-chained too.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuditChain } from '../../src/audit/audit-chain.js';
import { verifyTrailFile } from '../../src/audit/trail-file.js';
import { verifyTrail } from '../../src/audit/verify-trail.js';
import { runScenario } from './scenarios.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ws-lifecycle-pino-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('pino', () => {
  it('writing records to a file: every line a pino line, the file verifies', async () => {
    const path = join(dir, 'app.log');
    const logger = pino(pino.destination({ dest: path, sync: true }));
    const run = await runScenario(
      { kind: 'close-first', code: 1001, reason: 'restart' },
      { audit: (record) => logger.info(record) },
    );
    logger.flush();
    const lines = (await readFile(path, 'utf8')).trimEnd().split('\n');
    expect(lines).toHaveLength(run.trail.length);
    for (const [i, line] of lines.entries()) {
      // pino writes its own time first; the record's comes after it and wins in JSON.parse.
      expect(JSON.parse(line)).toEqual({
        level: 30,
        pid: process.pid,
        hostname: expect.any(String),
        ...run.trail[i],
      });
    }
    expect(await verifyTrailFile(path, { complete: true })).toEqual({ ok: true, checked: 6, connections: 1 });
  }, 5000);

  it('writing hash-chained records to a stream: they verify, and an edited line fails at its seq', async () => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        lines.push(...chunk.toString().trimEnd().split('\n'));
        callback();
      },
    });
    const logger = pino({ timestamp: false, base: undefined }, stream);
    const chain = createAuditChain();
    await runScenario(
      { kind: 'echo', messages: 1, end: 'close', code: 1000, reason: '' },
      { audit: (record) => logger.info(chain(record)) },
    );
    const records = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(records[0]).toMatchObject({ level: 30, v: 1, seq: 0, prev: null, hash: expect.any(String) });
    expect(verifyTrail(records, { complete: true })).toEqual({ ok: true, checked: 6 });

    const path = join(dir, 'edited.log');
    const edited = lines.with(2, lines[2]?.replace('"event":"ws.open"', '"event":"api.open"') as string);
    expect(edited[2]).not.toBe(lines[2]);
    await writeFile(path, `${edited.join('\n')}\n`);
    expect((await verifyTrailFile(path)).error).toMatchObject({
      seq: 2,
      line: 3,
      reason: expect.stringMatching(/altered/),
    });
  }, 5000);
});
