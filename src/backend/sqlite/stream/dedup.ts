/**
 * De-duplication index of one topic in one publishing process.
 *
 * Why in memory: a persistent B-tree keyed by id gets inserts at random places, so every commit of a batch of 1000
 * rewrites ~1000 pages into the WAL; measured, that cut publish throughput by ~10x. Instead the id is stored in the
 * record's batch row (the source of truth, shared by all processes) and each publishing process keeps an index derived
 * from it: 32-bit hash -> (partition, offset). The index is only a locator: a hit is confirmed by reading that record
 * (same id, append time of its batch within the window), so hash collisions and stale entries are harmless. Other processes'
 * appends are indexed inside the publish transaction before any lookup ("catch-up", see Publisher), so dedup is exact
 * across processes.
 *
 * Eviction without per-entry work: entries go to the newest of a few generations; a new generation starts every
 * quarter window, and a generation is dropped whole once the one after it started more than a window ago (all its
 * entries are then older than the window). An id thus stays indexed for one to one and a quarter windows.
 */

const GENERATIONS_PER_WINDOW = 4;

/** FNV-1a 32-bit; 0 is reserved for empty slots. */
export function idHash(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) || 1;
}

/**
 * Open-addressing hash table in typed arrays: 10 bytes per slot (hash, partition, offset as a 32-bit difference from
 * the first offset this table saw in that partition), filled up to three quarters. At 10,000 reports/s a window of
 * 10 minutes holds 6 to 7.5 million ids: 14-byte slots at most half full took ~42 bytes per id (~300 MB); these take
 * ~18. Linear probing at this load costs a few more probes per lookup (each a read of one Uint32 array).
 */
class IdTable {
  private hashes: Uint32Array;
  private partitions: Uint16Array;
  private deltas: Int32Array;
  /** Per partition: the offset the deltas count from (the first one added), NaN until then. */
  private readonly bases: Float64Array;
  /** Entries whose offset is more than 2^31 from their partition's base: never in practice, kept exact anyway. */
  private far: { hash: number; partition: number; offset: number }[] | undefined;
  private mask: number;
  private size = 0;
  readonly createdAt: number;

  constructor(createdAt: number, partitions: number, capacity = 1024) {
    this.createdAt = createdAt;
    this.hashes = new Uint32Array(capacity);
    this.partitions = new Uint16Array(capacity);
    this.deltas = new Int32Array(capacity);
    this.bases = new Float64Array(partitions).fill(NaN);
    this.mask = capacity - 1;
  }

  /** Entries held. */
  get entries(): number {
    return this.size + (this.far?.length ?? 0);
  }

  /** Bytes of its arrays. */
  get bytes(): number {
    return this.hashes.byteLength + this.partitions.byteLength + this.deltas.byteLength + this.bases.byteLength;
  }

  add(hash: number, partition: number, offset: number): void {
    // A partition the table was not sized for would read an undefined base and store garbage: a bug, said loudly.
    if (!(partition >= 0 && partition < this.bases.length)) throw new RangeError(`dedup index: partition ${partition} of ${this.bases.length}`);
    let base = this.bases[partition]!;
    if (Number.isNaN(base)) base = this.bases[partition] = offset;
    const delta = offset - base;
    if (delta > 0x7fffffff || delta < -0x80000000) {
      (this.far ??= []).push({ hash, partition, offset });
      return;
    }
    this.put(hash, partition, delta);
  }

  private put(hash: number, partition: number, delta: number): void {
    if ((this.size + 1) * 4 > this.hashes.length * 3) this.grow();
    let i = hash & this.mask;
    while (this.hashes[i] !== 0) i = (i + 1) & this.mask;
    this.hashes[i] = hash;
    this.partitions[i] = partition;
    this.deltas[i] = delta;
    this.size++;
  }

  /** Calls visit(partition, offset) for every entry with this hash until it returns true; returns whether one did. */
  find(hash: number, visit: (partition: number, offset: number) => boolean): boolean {
    let i = hash & this.mask;
    for (let h = this.hashes[i]!; h !== 0; i = (i + 1) & this.mask, h = this.hashes[i]!) {
      if (h === hash) {
        const p = this.partitions[i]!;
        if (visit(p, this.bases[p]! + this.deltas[i]!)) return true;
      }
    }
    if (this.far) for (const e of this.far) if (e.hash === hash && visit(e.partition, e.offset)) return true;
    return false;
  }

  private grow(): void {
    const { hashes, partitions, deltas } = this;
    const capacity = hashes.length * 2;
    this.hashes = new Uint32Array(capacity);
    this.partitions = new Uint16Array(capacity);
    this.deltas = new Int32Array(capacity);
    this.mask = capacity - 1;
    this.size = 0;
    for (let i = 0; i < hashes.length; i++) if (hashes[i] !== 0) this.put(hashes[i]!, partitions[i]!, deltas[i]!);
  }
}

export class DedupIndex {
  /** Newest first. */
  private readonly generations: IdTable[];
  /** Per partition: every record with an id below this offset is indexed. */
  readonly indexedUpTo: number[];

  constructor(readonly windowMs: number, private readonly partitionCount: number, now: number) {
    this.generations = [new IdTable(now, partitionCount)];
    this.indexedUpTo = new Array<number>(partitionCount).fill(0);
  }

  rotate(now: number): void {
    const gens = this.generations;
    if (now - gens[0]!.createdAt >= this.windowMs / GENERATIONS_PER_WINDOW) gens.unshift(new IdTable(now, this.partitionCount));
    while (gens.length > 1 && gens[gens.length - 2]!.createdAt <= now - this.windowMs) gens.pop();
  }

  add(hash: number, partition: number, offset: number): void {
    this.generations[0]!.add(hash, partition, offset);
  }

  /** Ids indexed and the bytes their tables take (the index's memory, for tests and benchmarks). */
  size(): { entries: number; bytes: number } {
    let entries = 0;
    let bytes = 0;
    for (const g of this.generations) {
      entries += g.entries;
      bytes += g.bytes;
    }
    return { entries, bytes };
  }

  find(hash: number, visit: (partition: number, offset: number) => boolean): boolean {
    for (const g of this.generations) if (g.find(hash, visit)) return true;
    return false;
  }
}
