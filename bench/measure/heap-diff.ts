import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { writeHeapSnapshot } from 'node:v8';
import type { ClientKind } from '../kinds/types.js';
import { collectGarbage, openHeld } from './held.js';

/**
 * Profiling aid, not a measurement: what one open connection holds, by (node type, constructor name).
 * Heap snapshots before and after opening `count` connections; a node present only in the second is
 * the connections' (snapshot ids are stable within a process). Self sizes, so the sum is what they retain.
 */
export async function heapDiff(kind: ClientKind, url: string, options: { count: number; top: number }) {
  const collect = collectGarbage;
  const open = (n: number) => openHeld(kind, url, n, 100);
  for (const conn of await open(50)) await conn.close();
  await collect();
  const before = writeHeapSnapshot(`${tmpdir()}/bench-${process.pid}-before.heapsnapshot`);
  const conns = await open(options.count);
  await collect();
  const after = writeHeapSnapshot(`${tmpdir()}/bench-${process.pid}-after.heapsnapshot`);
  const rows = diff(before, after, options.count);
  rmSync(before);
  rmSync(after);
  for (const conn of conns) await conn.close();
  return {
    bytesPerConn: rows.reduce((sum, row) => sum + row.bytes, 0),
    rows: rows.slice(0, options.top),
  };
}

interface HeapSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

function diff(beforeFile: string, afterFile: string, count: number) {
  const read = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as HeapSnapshot;
  const before = read(beforeFile);
  const fields = before.snapshot.meta.node_fields;
  const width = fields.length;
  const [idAt, typeAt, nameAt, sizeAt] = ['id', 'type', 'name', 'self_size'].map((f) =>
    fields.indexOf(f),
  ) as [number, number, number, number];
  const old = new Set<number>();
  for (let i = 0; i < before.nodes.length; i += width) old.add(before.nodes[i + idAt] as number);
  const after = read(afterFile);
  const types = after.snapshot.meta.node_types[0];
  const totals = new Map<string, { size: number; count: number }>();
  for (let i = 0; i < after.nodes.length; i += width) {
    if (old.has(after.nodes[i + idAt] as number)) continue;
    const type = types[after.nodes[i + typeAt] as number] ?? '?';
    const name = type.endsWith('string')
      ? ''
      : (after.strings[after.nodes[i + nameAt] as number] ?? '?').slice(0, 60);
    const entry = totals.get(`${type}:${name}`) ?? { size: 0, count: 0 };
    entry.size += after.nodes[i + sizeAt] as number;
    entry.count++;
    totals.set(`${type}:${name}`, entry);
  }
  return [...totals]
    .map(([key, { size, count: n }]) => ({ key, bytes: size / count, objects: n / count }))
    .sort((a, b) => b.bytes - a.bytes);
}
