/**
 * docs/managed.md stays true to the code: its diagram is the one drawn from the supervisor machine,
 * and its policy table names exactly the Close codes the default policy treats each way.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { retriedByDefault, supervisorMachine } from '../../machines/supervisor-machine.js';
import { mermaidDiagram } from '../../src/machine-diagram.js';

const doc = readFileSync(new URL('../../docs/managed.md', import.meta.url), 'utf8');

describe('docs/managed.md', () => {
  it('carries the diagram drawn from the supervisor machine', () => {
    const block =
      /<!-- supervisor-diagram:begin -->\n```mermaid\n([\s\S]*?)```\n<!-- supervisor-diagram:end -->/.exec(
        doc,
      );
    expect(block, 'the diagram block').not.toBeNull();
    expect(`${(block?.[1] ?? '').trimEnd()}\n`).toBe(`${mermaidDiagram(supervisorMachine).trimEnd()}\n`);
  });

  it("lists the peer's Close codes as the default policy treats them", () => {
    const row = /\| the peer's Close code \| ([^|]+) \| ([^|]+) \|/.exec(doc);
    expect(row).not.toBeNull();
    const codes = (text: string) => [...text.matchAll(/\b(\d{4})\b(?!–)/g)].map((m) => Number(m[1]));
    const clean = (code: number) => ({ code, reason: '', wasClean: true, initiator: 'remote' as const });
    for (const code of codes(row?.[1] ?? '')) expect(retriedByDefault(clean(code)), `${code}`).toBe(true);
    for (const code of codes(row?.[2] ?? '')) expect(retriedByDefault(clean(code)), `${code}`).toBe(false);
    for (const code of [4000, 4500, 4999]) expect(retriedByDefault(clean(code))).toBe(false);
  });
});
