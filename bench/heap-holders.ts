/**
 * What holds the ArrayBuffers (Buffers, typed arrays) of a V8 heap snapshot: their backing stores' bytes summed by
 * retainer chain (each buffer's first non-weak retainer, then that one's, `depth` links up; array indices and numeric
 * keys folded). For the soak's `--heap-snapshot-at` snapshots: which parts of the platform keep the main thread's
 * external memory (docs/benchmarks.md, "Memory").
 *
 *   node --import tsx bench/heap-holders.ts soak-8.5.heapsnapshot [--depth=6] [--top=20] [--kinds]
 *
 * --kinds: the heap's own objects instead (what `heapUsed` counts, DevTools' "Summary"): self sizes summed by node type
 * and constructor or kind (strings by type only), most bytes first.
 *
 * A first-retainer chain is an attribution, not a dominator tree: a buffer reachable from two holders is counted once,
 * under whichever the snapshot lists first.
 */
import { readFileSync } from 'node:fs';
import { isMain } from './util.ts';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; edge_fields: string[]; node_types: [string[]]; edge_types: [string[]] } };
  nodes: number[];
  edges: number[];
  strings: string[];
}

export interface Holder {
  chain: string;
  bytes: number;
  buffers: number;
}

/** Whether a snapshot node is an ArrayBuffer's backing store (memory outside the V8 heap). */
function isBackingStore(type: string, name: string): boolean {
  return type === 'native' && name.includes('ArrayBufferData');
}

/** The snapshot's ArrayBuffer backing stores by retainer chain, most bytes first. */
export function bufferHolders(snap: Snapshot, depth: number): { total: number; count: number; holders: Holder[] } {
  const { node_fields: nf, edge_fields: ef, node_types: [nodeTypes], edge_types: [edgeTypes] } = snap.snapshot.meta;
  const { nodes, edges, strings } = snap;
  const N = nf.length;
  const E = ef.length;
  const [iType, iName, iEdges, iSize] = ['type', 'name', 'edge_count', 'self_size'].map((f) => nf.indexOf(f)) as [number, number, number, number];
  const [eType, eName, eTo] = ['type', 'name_or_index', 'to_node'].map((f) => ef.indexOf(f)) as [number, number, number];
  const count = nodes.length / N;
  const parent = new Int32Array(count).fill(-1);
  const via = new Array<string>(count);
  const named = new Set(['property', 'internal', 'shortcut', 'context']);
  for (let i = 0, e = 0; i < count; i++) {
    for (let k = nodes[i * N + iEdges]!; k > 0; k--, e += E) {
      const type = edgeTypes[edges[e + eType]!]!;
      const to = edges[e + eTo]! / N;
      if (type === 'weak' || parent[to] !== -1 || to === i) continue;
      parent[to] = i;
      const name = edges[e + eName]!;
      via[to] = named.has(type) ? strings[name]! : '[]';
    }
  }
  const name = (i: number): string => strings[nodes[i * N + iName]!]!.slice(0, 40);
  const byChain = new Map<string, Holder>();
  let total = 0;
  let buffers = 0;
  for (let i = 0; i < count; i++) {
    if (!isBackingStore(nodeTypes[nodes[i * N + iType]!]!, name(i))) continue;
    const bytes = nodes[i * N + iSize]!;
    total += bytes;
    buffers++;
    const links: string[] = [];
    for (let cur = i, d = 0; d < depth && parent[cur]! >= 0; d++, cur = parent[cur]!) links.push(`${name(parent[cur]!)}.${via[cur]}`);
    const chain = links.join(' <- ').replace(/\.\d+\b/g, '.#');
    const h = byChain.get(chain) ?? byChain.set(chain, { chain, bytes: 0, buffers: 0 }).get(chain)!;
    h.bytes += bytes;
    h.buffers++;
  }
  return { total, count: buffers, holders: [...byChain.values()].sort((a, b) => b.bytes - a.bytes) };
}

/** Self sizes of the snapshot's nodes by type and name (objects by constructor; strings, code and arrays by type). */
export function heapKinds(snap: Snapshot): { total: number; kinds: { kind: string; bytes: number; count: number }[] } {
  const { node_fields: nf, node_types: [nodeTypes] } = snap.snapshot.meta;
  const { nodes, strings } = snap;
  const N = nf.length;
  const [iType, iName, iSize] = ['type', 'name', 'self_size'].map((f) => nf.indexOf(f)) as [number, number, number];
  const named = new Set(['object', 'closure', 'hidden', 'native', 'synthetic']);
  const byKind = new Map<string, { kind: string; bytes: number; count: number }>();
  let total = 0;
  for (let i = 0; i < nodes.length; i += N) {
    const type = nodeTypes[nodes[i + iType]!]!;
    const bytes = nodes[i + iSize]!;
    if (isBackingStore(type, strings[nodes[i + iName]!]!)) continue; // outside the heap
    total += bytes;
    const kind = named.has(type) ? `${type} ${strings[nodes[i + iName]!]!.slice(0, 60)}` : type;
    const k = byKind.get(kind) ?? byKind.set(kind, { kind, bytes: 0, count: 0 }).get(kind)!;
    k.bytes += bytes;
    k.count++;
  }
  return { total, kinds: [...byKind.values()].sort((a, b) => b.bytes - a.bytes) };
}

if (isMain(import.meta.url)) {
  const file = process.argv[2];
  if (!file || file.startsWith('--')) {
    process.stderr.write('usage: node --import tsx bench/heap-holders.ts <file.heapsnapshot> [--depth=6] [--top=20] [--kinds]\n');
    process.exit(2);
  }
  const opt = (name: string, dflt: number): number => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? dflt);
  const snap = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const mib = (b: number): string => (b / 2 ** 20).toFixed(1).padStart(7);
  if (process.argv.includes('--kinds')) {
    const { total, kinds } = heapKinds(snap);
    process.stdout.write(`heap objects: ${mib(total).trim()} MiB\n`);
    for (const k of kinds.slice(0, opt('top', 20))) process.stdout.write(`${mib(k.bytes)} MiB ${String(k.count).padStart(8)}  ${k.kind}\n`);
    process.exit(0);
  }
  const { total, count, holders } = bufferHolders(snap, opt('depth', 6));
  process.stdout.write(`ArrayBuffer backing stores: ${mib(total).trim()} MiB in ${count} buffers\n`);
  for (const h of holders.slice(0, opt('top', 20))) process.stdout.write(`${mib(h.bytes)} MiB ${String(h.buffers).padStart(6)}  ${h.chain}\n`);
}
