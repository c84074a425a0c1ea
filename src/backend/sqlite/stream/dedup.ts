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

/** Most a table is filled before it grows (linear probing: ~8 probes for an absent id at 3/4). */
const MAX_LOAD = 0.75;
/**
 * A table sized from its predecessor's rate is filled to this if the rate holds (room for half as much again before it
 * grows). Measured in one process against the power-of-two tables before (6 quarters of 1 million ids, 1 million
 * lookups over the 5 generations kept): 0.65 took 12.3 bytes an id but an absent id's lookup 1.3-1.4 us against
 * 0.7-0.8 (longer probes); 0.5 takes 16.0 against 21.0 bytes an id, lookups 0.82-1.20 against 0.68-1.02 us.
 */
const PLANNED_LOAD = 0.5;
const GROWTH = 1.5;
const MIN_CAPACITY = 1024;

/**
 * Open-addressing hash table in two typed arrays: 8 bytes a slot, the hash and one Int32 packing the partition (its
 * low bits, as many as the topic's partition count needs: 3 for 8) with the offset as a signed difference from the
 * first offset this table saw in that partition (the high bits: +-2^28 for 8 partitions, where a generation at
 * 100,000 reports/s in one partition holds 15 million). Any capacity (the slot is a multiply-shift of the hash, not
 * a mask), so a table is made as large as its predecessor's rate asks (`DedupIndex.rotate`) and grows by half, not
 * to the next power of two: measured at ~6,700 reports/s, a window's tables took ~66 MiB at 10 bytes a slot filled
 * 37-75% (doubling); these take 8 / 0.5 = 16 bytes an id when planned (see PLANNED_LOAD).
 */
class IdTable {
  private hashes!: Uint32Array;
  private packed!: Int32Array;
  /** The capacity / 2^32: a slot is floor(hash x scale). */
  private scale!: number;
  /** Per partition: the offset the deltas count from (the first one added), NaN until then. */
  private readonly bases: Float64Array;
  private readonly partitionBits: number;
  private readonly maxDelta: number;
  /** Entries whose offset is too far from their partition's base to pack: never in practice, kept exact anyway. */
  private far: { hash: number; partition: number; offset: number }[] | undefined;
  private size = 0;
  readonly createdAt: number;

  constructor(createdAt: number, partitions: number, capacity = MIN_CAPACITY) {
    this.createdAt = createdAt;
    this.allocate(Math.max(MIN_CAPACITY, Math.ceil(capacity)));
    this.bases = new Float64Array(partitions).fill(NaN);
    this.partitionBits = Math.ceil(Math.log2(Math.max(1, partitions)));
    this.maxDelta = 2 ** (31 - this.partitionBits) - 1;
  }

  /** Entries held. */
  get entries(): number {
    return this.size + (this.far?.length ?? 0);
  }

  /** Bytes of its arrays. */
  get bytes(): number {
    return this.hashes.byteLength + this.packed.byteLength + this.bases.byteLength;
  }

  add(hash: number, partition: number, offset: number): void {
    // A partition the table was not sized for would read an undefined base and store garbage: a bug, said loudly.
    if (!(partition >= 0 && partition < this.bases.length)) throw new RangeError(`dedup index: partition ${partition} of ${this.bases.length}`);
    let base = this.bases[partition]!;
    if (Number.isNaN(base)) base = this.bases[partition] = offset;
    const delta = offset - base;
    if (delta > this.maxDelta || delta < -this.maxDelta - 1) {
      (this.far ??= []).push({ hash, partition, offset });
      return;
    }
    this.put(hash, delta * 2 ** this.partitionBits + partition);
  }

  private put(hash: number, packed: number): void {
    if (this.size + 1 > this.hashes.length * MAX_LOAD) this.grow();
    let i = this.slotOf(hash);
    while (this.hashes[i] !== 0) i = i + 1 === this.hashes.length ? 0 : i + 1;
    this.hashes[i] = hash;
    this.packed[i] = packed;
    this.size++;
  }

  /**
   * floor(hash x capacity / 2^32). Never `capacity`: the exact product is at least capacity / 2^32 below it, and a
   * double's rounding error there is under capacity / 2^53.
   */
  private slotOf(hash: number): number {
    return Math.floor(hash * this.scale);
  }

  /** Calls visit(partition, offset) for every entry with this hash until it returns true; returns whether one did. */
  find(hash: number, visit: (partition: number, offset: number) => boolean): boolean {
    const mask = (1 << this.partitionBits) - 1;
    let i = this.slotOf(hash);
    for (let h = this.hashes[i]!; h !== 0; h = this.hashes[i]!) {
      if (h === hash) {
        const word = this.packed[i]!;
        const p = word & mask;
        if (visit(p, this.bases[p]! + (word >> this.partitionBits))) return true;
      }
      i = i + 1 === this.hashes.length ? 0 : i + 1;
    }
    if (this.far) for (const e of this.far) if (e.hash === hash && visit(e.partition, e.offset)) return true;
    return false;
  }

  private grow(): void {
    const { hashes, packed } = this;
    this.allocate(Math.ceil(hashes.length * GROWTH));
    this.size = 0;
    for (let i = 0; i < hashes.length; i++) if (hashes[i] !== 0) this.put(hashes[i]!, packed[i]!);
  }

  private allocate(capacity: number): void {
    this.hashes = new Uint32Array(capacity);
    this.packed = new Int32Array(capacity);
    this.scale = capacity / 4_294_967_296;
  }
}

export class DedupIndex {
  /** Newest first. */
  private readonly generations: IdTable[];
  private readonly first: IdTable;
  /** Per partition: every record with an id below this offset is indexed. */
  readonly indexedUpTo: number[];

  constructor(readonly windowMs: number, private readonly partitionCount: number, now: number) {
    this.first = new IdTable(now, partitionCount);
    this.generations = [this.first];
    this.indexedUpTo = new Array<number>(partitionCount).fill(0);
  }

  /**
   * Starts a new generation every quarter window, as large as the last one's rate asks (its entries over its
   * lifetime, scaled to a quarter window, at PLANNED_LOAD), and drops the generations past the window. The first
   * generation is no sample: it also holds the window the index was rebuilt from, so the one after it starts small.
   */
  rotate(now: number): void {
    const gens = this.generations;
    const newest = gens[0]!;
    const quarter = this.windowMs / GENERATIONS_PER_WINDOW;
    const age = now - newest.createdAt;
    if (age >= quarter) {
      const expected = newest === this.first ? 0 : (newest.entries * quarter) / age;
      gens.unshift(new IdTable(now, this.partitionCount, expected / PLANNED_LOAD));
    }
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
