import type { MeasureId } from './config.js';
import type { KindName } from './kinds/index.js';
import { type Spread, spread } from './stats.js';

/** One figure of the table: where it sits in a client's result, how to print it, what it is divided by. */
export interface Metric {
  measure: MeasureId;
  key: string;
  label: string;
  unit: string;
  /** Converts the raw figure to the printed unit. */
  scale: number;
  digits: number;
  /** The kind each round's figure is divided by. */
  base: KindName;
}

export const METRICS: readonly Metric[] = [
  {
    measure: 'M1',
    key: 'msgsPerSec',
    label: 'M1 echo throughput',
    unit: 'msgs/s',
    scale: 1,
    digits: 0,
    base: 'ws',
  },
  {
    measure: 'M1',
    key: 'cpuUsPerMsg',
    label: 'M1 CPU per message',
    unit: 'µs/msg',
    scale: 1,
    digits: 2,
    base: 'ws',
  },
  {
    measure: 'M2',
    key: 'cyclesPerSec',
    label: 'M2 lifecycle rate',
    unit: 'cycles/s',
    scale: 1,
    digits: 0,
    base: 'ws',
  },
  { measure: 'M3', key: 'closeMs', label: 'M3 close → closed', unit: 'ms', scale: 1, digits: 3, base: 'ws' },
  {
    measure: 'M4',
    key: 'heapExternalBytesPerConn',
    label: 'M4 heap+external / conn',
    unit: 'KB',
    scale: 1 / 1024,
    digits: 2,
    base: 'ws',
  },
  {
    measure: 'M4',
    key: 'rssBytesPerConn',
    label: 'M4 RSS / conn',
    unit: 'KB',
    scale: 1 / 1024,
    digits: 2,
    base: 'ws',
  },
  {
    measure: 'M6',
    key: 'eventsPerSec',
    label: 'M6 transition() events',
    unit: 'events/s',
    scale: 1,
    digits: 0,
    base: 'ws+actor',
  },
  {
    measure: 'M6',
    key: 'actorUs',
    label: 'M6 actor create+start+stop',
    unit: 'µs',
    scale: 1,
    digits: 1,
    base: 'ws+actor',
  },
  {
    measure: 'M6',
    key: 'connectionUs',
    label: 'M6 Connection create+close, no socket',
    unit: 'µs',
    scale: 1,
    digits: 1,
    base: 'ws+actor',
  },
];

/** figures[kind][round] = that round's result for the kind (undefined when it did not run or failed). */
export type Figures = Partial<Record<KindName, Array<Record<string, Record<string, number>> | undefined>>>;

export interface Row {
  metric: Metric;
  kind: KindName;
  value: Spread;
  /** Each round's figure over the base kind's figure from the same round. */
  ratio?: Spread;
}

export function summarize(
  figures: Figures,
  kinds: readonly KindName[],
  measures: readonly MeasureId[],
): Row[] {
  const rows: Row[] = [];
  for (const metric of METRICS) {
    if (!measures.includes(metric.measure)) continue;
    const pick = (kind: KindName, round: number) => figures[kind]?.[round]?.[metric.measure]?.[metric.key];
    for (const kind of kinds) {
      const rounds = figures[kind] ?? [];
      const values: number[] = [];
      const ratios: number[] = [];
      rounds.forEach((_, round) => {
        const value = pick(kind, round);
        if (value === undefined) return;
        values.push(value);
        const base = pick(metric.base, round);
        if (base !== undefined && base !== 0) ratios.push(value / base);
      });
      if (values.length === 0) continue;
      rows.push({ metric, kind, value: spread(values), ...(ratios.length ? { ratio: spread(ratios) } : {}) });
    }
  }
  return rows;
}

function formatNumber(value: number, digits: number) {
  return value
    .toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
    .replaceAll(',', ' ');
}

export function formatValue(row: Row) {
  return `${formatNumber(row.value.median * row.metric.scale, row.metric.digits)} ${row.metric.unit}`;
}

export function formatRatio(row: Row) {
  if (!row.ratio) return '—';
  const { median, min, max } = row.ratio;
  if (row.kind === row.metric.base) return '1.00';
  return `${median.toFixed(2)} [${min.toFixed(2)}–${max.toFixed(2)}]`;
}

const baseLabel = (row: Row) =>
  !row.ratio ? '' : row.metric.base === 'ws' ? '× ws' : `× ${row.metric.base}`;

/** Plain text for the terminal. */
export function textTable(rows: readonly Row[]): string {
  const lines = [['measure', 'kind', 'median', 'ratio median [min–max]']];
  let previous = '';
  for (const row of rows) {
    const label = row.metric.label === previous ? '' : row.metric.label;
    previous = row.metric.label;
    lines.push([label, row.kind, formatValue(row), `${formatRatio(row)} ${baseLabel(row)}`.trim()]);
  }
  const widths = lines[0]?.map((_, col) => Math.max(...lines.map((line) => line[col]?.length ?? 0))) ?? [];
  return lines
    .map((line) =>
      line
        .map((cell, col) => (col === 2 ? cell.padStart(widths[col] ?? 0) : cell.padEnd(widths[col] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** A Markdown table for docs/performance.md. */
export function markdownTable(rows: readonly Row[]): string {
  const lines = ['| measure | kind | median | ratio, median [min–max] |', '|---|---|--:|---|'];
  let previous = '';
  for (const row of rows) {
    const label = row.metric.label === previous ? '' : row.metric.label;
    previous = row.metric.label;
    lines.push(
      `| ${label} | ${row.kind} | ${formatValue(row)} | ${`${formatRatio(row)} ${baseLabel(row)}`.trim()} |`,
    );
  }
  return lines.join('\n');
}
