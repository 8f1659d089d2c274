/**
 * The diagrams rendered as readers see them: mermaid (node_modules/mermaid) in headless Chromium
 * (Debian's `chromium`, driven by playwright-core), measured in the page. Readable means no label on
 * another label or on a state, and a drawing no wider than the page. The connection's main line is
 * also straight: its states are centred on one vertical line. The browser part is skipped where
 * /usr/bin/chromium (or CHROMIUM_PATH) is missing; `apt-get install -y chromium` gives it.
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type Layout, layoutProblems, renderMermaidAll } from '../../scripts/render-diagram.js';
import { diagramMachines, mermaidDiagram, mermaidId, planDiagram } from '../../src/machine-diagram.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

describe.skipIf(!existsSync(CHROMIUM))('the diagrams rendered in Chromium', () => {
  it('are readable: labels apart, at most page width; the connection main line straight', async () => {
    const entries = diagramMachines();
    const layouts = await renderMermaidAll(entries.map((m) => mermaidDiagram(m.machine)));
    for (const [i, entry] of entries.entries()) {
      const layout = layouts[i] as Layout;
      const spine = planDiagram(entry.machine).spine.map(mermaidId);
      for (const id of spine) expect(Object.keys(layout.states), entry.name).toContain(id);
      expect(layout.labels.length, entry.name).toBeGreaterThan(0);
      const problems = layoutProblems(layout, spine);
      // The supervisor's main line loops back (waiting → connecting); only the connection's is straight.
      const bends = problems.filter((p) => p.startsWith('the main line bends'));
      expect(problems, entry.name).toEqual(entry.name === 'connection' ? [] : bends);
    }
  }, 120_000);
});

describe('layoutProblems', () => {
  const box = (x: number, y: number, width = 100, height = 40) => ({ x, y, width, height });
  const base: Layout = {
    width: 400,
    height: 400,
    states: { a: box(100, 0), b: box(100, 100), c: box(100, 200) },
    labels: [{ ...box(130, 60, 40, 20), text: 'go' }],
  };

  it('finds nothing wrong with a straight, uncluttered drawing', () => {
    expect(layoutProblems(base, ['a', 'b', 'c'])).toEqual([]);
  }, 5000);

  it('finds labels on labels and on states, a bend, a step up, a missing state and too much width', () => {
    const bad: Layout = {
      width: 1200,
      height: 400,
      states: { a: box(100, 0), b: box(300, 100), c: box(100, 50) },
      labels: [
        { ...box(130, 60, 40, 20), text: 'one' },
        { ...box(150, 70, 40, 20), text: 'two' },
        { ...box(310, 110, 40, 20), text: 'three' },
      ],
    };
    const problems = layoutProblems(bad, ['a', 'b', 'c', 'd']);
    expect(problems).toContain('labels "one" and "two" overlap');
    expect(problems).toContain('label "three" covers state b');
    expect(problems.some((p) => p.startsWith('the main line bends'))).toBe(true);
    expect(problems).toContain('c is not below b');
    expect(problems).toContain('main-line state d is not drawn');
    expect(problems).toContain('1200 px wide: shrunk at page width (1000 px)');
  }, 5000);

  it('lets a composite hold its own labels', () => {
    const composite: Layout = {
      ...base,
      states: { ...base.states, c: box(50, 200, 300, 150), inner: box(100, 300) },
      labels: [{ ...box(130, 250, 40, 20), text: 'inside' }],
    };
    expect(layoutProblems(composite, ['a', 'b'])).toEqual([]);
  }, 5000);
});
