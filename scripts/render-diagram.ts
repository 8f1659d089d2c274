/**
 * Renders the generated diagrams with mermaid (node_modules/mermaid) in headless Chromium (Debian's
 * `chromium`, driven by playwright-core) and writes PNGs, so a person can look at what readers see.
 *
 *   npx tsx scripts/render-diagram.ts                  # docs/machine.png from the connection machine
 *   npx tsx scripts/render-diagram.ts --out /tmp/x.png # anywhere else
 *   npx tsx scripts/render-diagram.ts --machine supervisor --out /tmp/supervisor.png
 *   npx tsx scripts/render-diagram.ts --source my.mmd --out /tmp/x.png   # any Mermaid source
 *
 * The PNG carries the SHA-256 of the Mermaid source it was drawn from (a `tEXt` chunk, key
 * `ws-lifecycle:diagram-sha256`), so test/docs/png.test.ts can tell when docs/machine.png is stale
 * without starting a browser. Prints the natural size of the drawing: at page width (about 1000 px on
 * GitHub) a wider drawing is scaled down and its labels shrink with it.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { crc32 } from 'node:zlib';
import { diagramMachines, mermaidDiagram, mermaidId, planDiagram } from '../src/machine-diagram.js';
import { REPO_ROOT } from './generate-docs.js';

/** The `tEXt` keyword under which the PNG records the hash of its Mermaid source. */
export const PNG_HASH_KEY = 'ws-lifecycle:diagram-sha256';

/** Hex SHA-256 of a Mermaid source, as recorded in the PNG. */
export const sourceHash = (source: string) => createHash('sha256').update(source).digest('hex');

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// Without the background-networking flags Chromium keeps trying hosts this network refuses.
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
];
/** Every browser step has this deadline; the whole render has twice as much. */
const STEP_MS = 30_000;

/** A box in the drawing, in CSS px from its top left corner. */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Where mermaid put things: states by Mermaid id, and the transition labels. */
export interface Layout {
  /** Natural size of the drawing in CSS px (the SVG's own viewBox). */
  width: number;
  height: number;
  /** Every state, choice and composite, by its Mermaid id. */
  states: Record<string, Box>;
  /** Every non-empty transition label. */
  labels: Array<Box & { text: string }>;
}

/** What a render produced. */
export interface RenderResult extends Layout {
  /** The drawing at its natural size (8 px margin), one CSS px to a pixel. */
  png: Buffer;
}

/** Draws one Mermaid source in Chromium and returns the PNG of the drawing at its natural size. */
export async function renderMermaid(source: string): Promise<RenderResult> {
  return (await renderMermaidAll([source]))[0] as RenderResult;
}

/** Draws each source in turn in one Chromium (each on a fresh page), in order. */
export async function renderMermaidAll(sources: readonly string[]): Promise<RenderResult[]> {
  // Loaded here, so the PNG helpers below work without a browser (test/docs/png.test.ts).
  const { chromium } = await import('playwright-core');
  const profile = await mkdtemp(join(tmpdir(), 'ws-lifecycle-render-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    timeout: STEP_MS,
    viewport: { width: 2400, height: 2400 },
    deviceScaleFactor: 1,
    offline: true,
  });
  const overall = setTimeout(() => void context.close(), (1 + sources.length) * STEP_MS);
  try {
    const results: RenderResult[] = [];
    for (const source of sources) {
      const page = await context.newPage();
      page.setDefaultTimeout(STEP_MS);
      await page.setContent('<!doctype html><html><body style="margin:0;background:#fff"></body></html>');
      await page.addScriptTag({ path: join(REPO_ROOT, 'node_modules/mermaid/dist/mermaid.min.js') });
      // Plain JavaScript, so no compiler helper (tsx's `__name`) leaks into the page.
      const layout = (await page.evaluate(`(${IN_PAGE})(${JSON.stringify(source)})`)) as Layout;
      const png = await page.locator('#holder').screenshot({ type: 'png', timeout: STEP_MS });
      results.push({ png, ...layout });
      await page.close();
    }
    return results;
  } finally {
    clearTimeout(overall);
    await context.close();
    await rm(profile, { recursive: true, force: true });
  }
}

/**
 * Runs in the page: renders the source, shows the SVG at its natural size (mermaid's useMaxWidth
 * lets it shrink to its container) and reads where mermaid put each state and label. Mermaid names a
 * state's group `<render id>-state-<Mermaid id>-<n>`; a composite carries its id as `data-id`.
 */
const IN_PAGE = `async (text) => {
  mermaid.initialize({ startOnLoad: false, securityLevel: 'strict', theme: 'default' });
  const { svg } = await mermaid.render('diagram', text);
  const holder = document.createElement('div');
  holder.id = 'holder';
  holder.style.display = 'inline-block';
  holder.style.padding = '8px';
  holder.innerHTML = svg;
  document.body.append(holder);
  const element = holder.querySelector('svg');
  const box = element.viewBox.baseVal;
  element.style.maxWidth = 'none';
  element.setAttribute('width', String(box.width));
  element.setAttribute('height', String(box.height));
  const origin = element.getBoundingClientRect();
  const rect = (e) => {
    const r = e.getBoundingClientRect();
    return { x: r.x - origin.x, y: r.y - origin.y, width: r.width, height: r.height };
  };
  const states = {};
  for (const node of element.querySelectorAll('g.node')) {
    const match = /-state-(.+)-\\d+$/.exec(node.id);
    if (match) states[match[1]] = rect(node);
  }
  for (const cluster of element.querySelectorAll('g.statediagram-cluster')) {
    const id = cluster.getAttribute('data-id');
    if (id) states[id] = rect(cluster);
  }
  const labels = [...element.querySelectorAll('g.edgeLabel')]
    .map((label) => ({ ...rect(label), text: label.textContent || '' }))
    .filter((label) => label.width > 0 && label.text.trim() !== '');
  return { width: Math.round(box.width), height: Math.round(box.height), states, labels };
}`;

/** The widest drawing that GitHub shows at its natural size (its Markdown column is about 1000 px). */
export const PAGE_WIDTH = 1000;

const overlap = (a: Box, b: Box) =>
  a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
const centerX = (box: Box) => box.x + box.width / 2;

/**
 * What makes a drawing hard to read, as sentences (none: readable): labels on top of each other or on
 * a state, a main line that bends (its states' centres more than `tolerance` px apart), a drawing wider
 * than the page.
 */
export function layoutProblems(layout: Layout, spine: readonly string[], tolerance = 4): string[] {
  const problems: string[] = [];
  const { labels, states } = layout;
  for (let i = 0; i < labels.length; i++) {
    for (let j = i + 1; j < labels.length; j++) {
      const [a, b] = [labels[i] as Layout['labels'][number], labels[j] as Layout['labels'][number]];
      if (overlap(a, b)) problems.push(`labels "${a.text}" and "${b.text}" overlap`);
    }
    const label = labels[i] as Layout['labels'][number];
    for (const [id, box] of Object.entries(states)) {
      // A composite contains its own labels; only a state's box may not be covered.
      const composite = Object.values(states).some((other) => other !== box && contains(box, other));
      if (!composite && overlap(label, box)) problems.push(`label "${label.text}" covers state ${id}`);
    }
  }
  const line = spine.map((id) => ({ id, box: states[id] }));
  for (const { id, box } of line) if (!box) problems.push(`main-line state ${id} is not drawn`);
  const xs = line.flatMap(({ box }) => (box ? [centerX(box)] : []));
  if (xs.length > 1 && Math.max(...xs) - Math.min(...xs) > tolerance) {
    const where = line.map(({ id, box }) => `${id} ${box ? Math.round(centerX(box)) : '?'}`).join(', ');
    problems.push(`the main line bends: centres at ${where}`);
  }
  for (let i = 0; i + 1 < line.length; i++) {
    const [a, b] = [line[i]?.box, line[i + 1]?.box];
    if (a && b && !(a.y + a.height <= b.y)) problems.push(`${line[i + 1]?.id} is not below ${line[i]?.id}`);
  }
  if (layout.width > PAGE_WIDTH)
    problems.push(`${layout.width} px wide: shrunk at page width (${PAGE_WIDTH} px)`);
  return problems;
}

const contains = (outer: Box, inner: Box) =>
  inner.x >= outer.x &&
  inner.y >= outer.y &&
  inner.x + inner.width <= outer.x + outer.width &&
  inner.y + inner.height <= outer.y + outer.height;

/** The PNG with a `tEXt` chunk (keyword, text) inserted before `IEND`. */
export function withTextChunk(png: Buffer, keyword: string, text: string): Buffer {
  const data = Buffer.concat([Buffer.from(keyword, 'latin1'), Buffer.from([0]), Buffer.from(text, 'latin1')]);
  const type = Buffer.from('tEXt', 'latin1');
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([type, data])));
  const iend = png.length - 12; // IEND is always the last chunk, with no data: 12 bytes.
  if (png.subarray(iend + 4, iend + 8).toString('latin1') !== 'IEND')
    throw new Error('not a PNG ending in IEND');
  return Buffer.concat([png.subarray(0, iend), length, type, data, crc, png.subarray(iend)]);
}

/** Every `tEXt` chunk of a PNG, keyword → text. */
export function pngTextChunks(png: Buffer): Record<string, string> {
  const texts: Record<string, string> = {};
  for (let at = 8; at + 12 <= png.length; ) {
    const length = png.readUInt32BE(at);
    const type = png.subarray(at + 4, at + 8).toString('latin1');
    if (type === 'tEXt') {
      const data = png.subarray(at + 8, at + 8 + length);
      const zero = data.indexOf(0);
      texts[data.subarray(0, zero).toString('latin1')] = data.subarray(zero + 1).toString('latin1');
    }
    at += 12 + length;
  }
  return texts;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      machine: { type: 'string', default: 'connection' },
      source: { type: 'string' },
      out: { type: 'string' },
    },
    strict: true,
  });
  let source: string;
  let spine: string[] = [];
  let out = values.out;
  if (values.source) source = await readFile(values.source, 'utf8');
  else {
    const entry = diagramMachines().find((m) => m.name === values.machine);
    if (!entry) throw new Error(`no machine named ${JSON.stringify(values.machine)}`);
    source = mermaidDiagram(entry.machine);
    spine = planDiagram(entry.machine).spine.map(mermaidId);
    out ??= entry.image ? join(REPO_ROOT, 'docs', entry.image) : undefined;
  }
  if (!out) throw new Error('--out is needed: this machine has no committed image');
  const result = await renderMermaid(source);
  const stamped = withTextChunk(result.png, PNG_HASH_KEY, sourceHash(source));
  await writeFile(out, stamped);
  console.log(
    `wrote ${out}: drawing ${result.width} × ${result.height} px, ${Math.round(stamped.length / 1024)} KB`,
  );
  for (const problem of layoutProblems(result, spine)) console.log(`  hard to read: ${problem}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
