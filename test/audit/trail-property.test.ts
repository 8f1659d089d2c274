/**
 * Property: every trail the library produces verifies, whatever the peer does. Random fault scenarios
 * run against real local peers; each connection's trail is checked in memory (`conn.trail`), through a
 * hash-chained JSONL file and through pino, all connections in one file.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../src/audit/audit.js';
import { jsonlAudit } from '../../src/audit/jsonl-audit.js';
import { readTrailFile, verifyTrailFile } from '../../src/audit/trail-file.js';
import { verifyTrail } from '../../src/audit/verify-trail.js';
import { scenario } from './arbitraries.js';
import { runScenario } from './scenarios.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ws-lifecycle-property-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('verifyTrail accepts every trail the library produces', () => {
  it('random fault scenarios against real peers → trails → all verify', async () => {
    const jsonlPath = join(dir, 'trail.jsonl');
    const pinoPath = join(dir, 'pino.jsonl');
    const sink = jsonlAudit(jsonlPath);
    const logger = pino(pino.destination({ dest: pinoPath, sync: true }));
    const ids = new Set<string>();
    const kinds = new Set<string>();

    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const audit = (record: AuditRecord) => {
          sink(record);
          logger.info(record);
        };
        const run = await runScenario(s, { audit });
        ids.add(run.conn.id);
        kinds.add(s.kind);
        const result = verifyTrail(run.trail, { complete: true });
        expect(result, JSON.stringify(run.trail)).toEqual({ ok: true, checked: run.trail.length });
        expect(run.trail.at(-1)?.to).toBe('closed');
      }),
      { numRuns: 40 },
    );
    await sink.close();
    logger.flush();

    expect(sink.error).toBeNull();
    const jsonl = await verifyTrailFile(jsonlPath, { complete: true });
    expect(jsonl.error).toBeUndefined();
    expect(jsonl).toMatchObject({ ok: true, connections: ids.size });
    expect(jsonl.checked).toBe(sink.written);
    const records = await readTrailFile(jsonlPath);
    expect(records.every((record) => typeof record.hash === 'string')).toBe(true);

    const viaPino = await verifyTrailFile(pinoPath, { complete: true });
    expect(viaPino.error).toBeUndefined();
    expect(viaPino).toMatchObject({ ok: true, connections: ids.size, checked: jsonl.checked });
    // The runs covered a good part of the fault space, not one corner of it.
    expect(kinds.size).toBeGreaterThanOrEqual(8);
  }, 20_000);
});
