/**
 * What docs/audit.md tells a user to import from 'ws-lifecycle' is exported, and does what the doc
 * says: `canonicalJson` and `hashRecord` recompute the hashes of the doc's example lines (the recipe
 * for checking a chain with another tool), and `redactHeaders` hides credential headers.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import * as api from '../../src/index.js';
import { canonicalJson, hashRecord, redactHeaders, verifyTrail } from '../../src/index.js';

const doc = await readFile(new URL('../../docs/audit.md', import.meta.url), 'utf8');

/** The body of the first fenced block of `language` after `heading`. */
function block(heading: string, language: string): string {
  const section = doc.slice(doc.indexOf(heading));
  const match = section.match(new RegExp(`\`\`\`${language}\\n([\\s\\S]*?)\`\`\``));
  if (!match?.[1]) throw new Error(`no ${language} block after ${heading}`);
  return match[1];
}

const exampleLines = block('## The record (schema v1)', 'json')
  .trimEnd()
  .split('\n')
  .map((line) => JSON.parse(line) as Record<string, unknown>);

describe('the audit helpers docs/audit.md names', () => {
  it('are exported by the package entry point', () => {
    for (const name of ['canonicalJson', 'hashRecord', 'redactHeaders', 'createAuditChain', 'verifyTrail']) {
      expect(typeof (api as Record<string, unknown>)[name], name).toBe('function');
    }
    expect(doc).toMatch(/`canonicalJson` and `hashRecord` are exported/);
  });

  it('recompute the hashes of the example lines, over exactly the text the doc shows', () => {
    expect(exampleLines).toHaveLength(2);
    const [first, second] = exampleLines as [Record<string, unknown>, Record<string, unknown>];
    expect(hashRecord(first)).toBe(first.hash);
    expect(hashRecord(second)).toBe(second.hash);
    expect(second.prev).toBe(first.hash);

    const { hash: _hash, ...hashed } = second;
    const shown = block('For the second line above, the hashed text is', '').trim();
    expect(canonicalJson(hashed)).toBe(shown);
    // Fields other tools add are not hashed.
    expect(hashRecord({ level: 30, pid: 1, hostname: 'h', ...second })).toBe(second.hash);
    expect(verifyTrail(exampleLines, { requireChain: true })).toEqual({ ok: true, checked: 2 });
  });

  it('hide credential headers with redactHeaders', () => {
    const headers = { Authorization: 'Bearer S', 'X-Api-Key': 'K', Accept: 'text/plain' };
    expect(redactHeaders(headers, { headers: ['x-api-key'] })).toEqual({
      Authorization: '***',
      'X-Api-Key': '***',
      Accept: 'text/plain',
    });
  });
});
