/**
 * jsonlAudit: the v1 line format and its hash chain, appending, ordering, bounded buffering, and
 * failures reported once without ever reaching the connection.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditRecord } from '../../src/audit/audit.js';
import { canonicalJson } from '../../src/audit/audit-chain.js';
import { type AuditError, jsonlAudit } from '../../src/audit/jsonl-audit.js';
import { verifyTrail } from '../../src/audit/verify-trail.js';
import { bounded, runScenario } from './scenarios.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ws-lifecycle-jsonl-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const parseLines = (text: string) =>
  text
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);

/** A synthetic record of connection `id` (only the sink's behaviour is under test). */
const record = (seq: number, id = 'c1'): AuditRecord => ({
  seq,
  time: 1_700_000_000_000 + seq,
  elapsedMs: seq * 1.5,
  connectionId: id,
  from: seq === 0 ? null : 'open',
  to: seq === 0 ? 'idle' : 'open',
  event: seq === 0 ? 'xstate.init' : 'test',
});

/** A stream that keeps what is written to it. */
function collector() {
  const chunks: Buffer[] = [];
  const stream = new PassThrough();
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  return { stream, text: () => Buffer.concat(chunks).toString() };
}

/** A stream that accepts writes and never completes them: a stuck disk or pipe. */
const stuckStream = () => new Writable({ highWaterMark: 1 << 30, write() {} });

/** Waits until `onError` has had its chance to run (it is called from a microtask). */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('the v1 record', () => {
  it('carries v, connectionId, seq, ISO time, elapsedMs, from, to, event, detail, prev and hash', async () => {
    const path = join(dir, 'schema.jsonl');
    const audit = jsonlAudit(path);
    const { trail } = await runScenario(
      { kind: 'echo', messages: 0, end: 'close', code: 4000, reason: 'done' },
      { audit },
    );
    await audit.close();
    const lines = parseLines(await readFile(path, 'utf8'));
    expect(lines).toHaveLength(trail.length);
    lines.forEach((line, i) => {
      const r = trail[i] as AuditRecord;
      const expected: Record<string, unknown> = {
        v: 1,
        connectionId: r.connectionId,
        seq: r.seq,
        time: new Date(r.time).toISOString(),
        elapsedMs: r.elapsedMs,
        from: r.from,
        to: r.to,
        event: r.event,
        prev: i === 0 ? null : lines[i - 1]?.hash,
        hash: expect.stringMatching(/^[0-9a-f]{64}$/),
      };
      if (r.detail) expected.detail = r.detail;
      expect(line).toEqual(expected);
    });
    expect(lines.at(-1)).toMatchObject({ to: 'closed', detail: { code: 4000, reason: 'done' } });
  }, 5000);

  it('hashes exactly what docs/audit.md says: sha256 hex of the sorted-key JSON of every field but hash', async () => {
    const { stream, text } = collector();
    const audit = jsonlAudit(stream);
    audit({ ...record(0), detail: { reason: 'é "q"', code: 1000 } });
    audit(record(1));
    await audit.close();
    for (const line of parseLines(text())) {
      const { hash, ...hashed } = line;
      const keys = Object.keys(hashed).sort();
      // Independent of canonicalJson for this flat shape: sorted keys, JSON.stringify values.
      const text = `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(hashed[k])}`).join(',')}}`;
      expect(text).toBe(canonicalJson(hashed));
      expect(hash).toBe(createHash('sha256').update(text).digest('hex'));
    }
  }, 5000);

  it('canonical JSON sorts keys at every depth, omits undefined, and writes values as JSON.stringify', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, 'x', null], c: undefined }, é: true, Z: 0.5 })).toBe(
      '{"Z":0.5,"a":{"d":[1,"x",null]},"b":1,"é":true}',
    );
    expect(canonicalJson('line\n"quote"\u2028')).toBe(JSON.stringify('line\n"quote"\u2028'));
    expect(() => canonicalJson(Number.NaN)).toThrow(TypeError);
  });

  it('leaves out prev and hash with hash: false', async () => {
    const { stream, text } = collector();
    const audit = jsonlAudit(stream, { hash: false });
    audit(record(0));
    await audit.close();
    const [line] = parseLines(text());
    expect(line).not.toHaveProperty('hash');
    expect(line).not.toHaveProperty('prev');
    expect(verifyTrail([line])).toEqual({ ok: true, checked: 1 });
  }, 5000);
});

describe('writing', () => {
  it('appends to an existing file and never truncates it', async () => {
    const path = join(dir, 'append.jsonl');
    await writeFile(path, '{"kept":true}\n');
    for (const id of ['first', 'second']) {
      const audit = jsonlAudit(path);
      audit(record(0, id));
      await audit.close();
    }
    const lines = parseLines(await readFile(path, 'utf8'));
    expect(lines.map((line) => line.kept ?? line.connectionId)).toEqual([true, 'first', 'second']);
  }, 5000);

  it('keeps the order of records, and chains each connection on its own', async () => {
    const { stream, text } = collector();
    const audit = jsonlAudit(stream);
    for (let seq = 0; seq < 500; seq++) {
      audit(record(seq, 'a'));
      if (seq < 100) audit(record(seq, 'b'));
    }
    await bounded(audit.flush(), 1000, 'flush');
    const lines = parseLines(text());
    expect(audit.written).toBe(600);
    const a = lines.filter((line) => line.connectionId === 'a');
    expect(a.map((line) => line.seq)).toEqual([...Array(500).keys()]);
    expect(a[1]?.prev).toBe(a[0]?.hash);
    const b = lines.filter((line) => line.connectionId === 'b');
    expect(b[0]?.prev).toBeNull();
    expect(b[1]?.prev).toBe(b[0]?.hash);
  }, 5000);

  it('leaves a stream passed in open on close()', async () => {
    const stream = new PassThrough();
    const audit = jsonlAudit(stream);
    audit(record(0));
    const closing = audit.close();
    expect(audit.close()).toBe(closing);
    await closing;
    expect(stream.writableEnded).toBe(false);
  }, 5000);
});

describe('failures: reported once, never thrown into the connection', () => {
  it('a file that cannot be opened: ERR_AUDIT_WRITE once; the connection closes normally', async () => {
    const errors: AuditError[] = [];
    const audit = jsonlAudit(join(dir, 'no-such-dir', 'trail.jsonl'), { onError: (e) => errors.push(e) });
    const run = await runScenario(
      { kind: 'echo', messages: 1, end: 'close', code: 1000, reason: '' },
      { audit },
    );
    await audit.close();
    expect(run.info).toMatchObject({ code: 1000, wasClean: true });
    expect(run.info.error).toBeUndefined();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ name: 'AuditError', code: 'ERR_AUDIT_WRITE' });
    expect(((errors[0] as AuditError).cause as NodeJS.ErrnoException).code).toBe('ENOENT');
    expect(audit.error).toBe(errors[0]);
    expect(audit.written).toBe(0);
    expect(audit.dropped).toBe(run.trail.length);
  }, 5000);

  it('a stream failing mid-way: reported once, later records dropped', async () => {
    let writes = 0;
    const failing = new Writable({
      write(_chunk, _encoding, callback) {
        writes++;
        callback(writes === 3 ? new Error('disk full') : null);
      },
    });
    const errors: AuditError[] = [];
    const audit = jsonlAudit(failing, { onError: (e) => errors.push(e) });
    for (let seq = 0; seq < 3; seq++) audit(record(seq));
    await audit.flush();
    for (let seq = 3; seq < 10; seq++) audit(record(seq));
    await settle();
    expect(errors.map((e) => [e.code, e.message])).toEqual([
      ['ERR_AUDIT_WRITE', 'audit trail write failed: disk full'],
    ]);
    expect(audit.written).toBe(2);
    expect(audit.dropped).toBe(8);
  }, 5000);

  it('a stuck target: at most maxBufferedBytes wait, then ERR_AUDIT_OVERFLOW once', async () => {
    const errors: AuditError[] = [];
    const audit = jsonlAudit(stuckStream(), { maxBufferedBytes: 2000, onError: (e) => errors.push(e) });
    for (let seq = 0; seq < 50; seq++) expect(() => audit(record(seq))).not.toThrow();
    await settle();
    expect(errors.map((e) => e.code)).toEqual(['ERR_AUDIT_OVERFLOW']);
    // Each line is ~270 bytes: 7 fit in 2000, the 8th overflows and the rest are dropped.
    expect(audit.dropped).toBeGreaterThan(40);
    expect(audit.dropped).toBeLessThan(50);
  }, 5000);

  it('close() on a stuck target gives up after closeTimeoutMs with ERR_AUDIT_CLOSE_TIMEOUT', async () => {
    const errors: AuditError[] = [];
    const audit = jsonlAudit(stuckStream(), { closeTimeoutMs: 50, onError: (e) => errors.push(e) });
    audit(record(0));
    const started = performance.now();
    await bounded(audit.close(), 1000, 'close');
    expect(performance.now() - started).toBeLessThan(500);
    await settle();
    expect(errors.map((e) => e.code)).toEqual(['ERR_AUDIT_CLOSE_TIMEOUT']);
  }, 5000);

  it('a record after close(): ERR_AUDIT_CLOSED once, dropped', async () => {
    const errors: AuditError[] = [];
    const audit = jsonlAudit(new PassThrough(), { onError: (e) => errors.push(e) });
    await audit.close();
    audit(record(0));
    audit(record(1));
    await settle();
    expect(errors.map((e) => e.code)).toEqual(['ERR_AUDIT_CLOSED']);
    expect(audit.dropped).toBe(2);
  }, 5000);

  it('without onError, one process warning: the AuditError itself, with the code docs/audit.md names', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    let audit: ReturnType<typeof jsonlAudit> | undefined;
    try {
      audit = jsonlAudit(join(dir, 'missing', 'x.jsonl'));
      audit(record(0));
      audit(record(1));
      await audit.close();
      await settle();
    } finally {
      process.off('warning', onWarning);
    }
    // What Node prints is `[<warning.code>] <warning.name>: <message>`.
    expect(warnings.map((w) => [w.name, (w as Error & { code?: string }).code])).toEqual([
      ['AuditError', 'ERR_AUDIT_WRITE'],
    ]);
    expect(warnings[0]).toBe(audit?.error);
    // The doc shows the same name and code, and how to silence them (it once named another code).
    const doc = await readFile(new URL('../../docs/audit.md', import.meta.url), 'utf8');
    expect(doc).toContain('[ERR_AUDIT_WRITE] AuditError: audit trail write failed');
    expect(doc).toContain('--disable-warning=AuditError');
    expect(doc).not.toMatch(/WS_LIFECYCLE_AUDIT/);
  }, 5000);

  it('refuses nonsense limits at creation', () => {
    expect(() => jsonlAudit(new PassThrough(), { maxBufferedBytes: 0 })).toThrow(/maxBufferedBytes/);
    expect(() => jsonlAudit(new PassThrough(), { closeTimeoutMs: 1.5 })).toThrow(/closeTimeoutMs/);
  });
});
