/**
 * The record ids of one partition's duplicate window, for backends whose log holds the ids (Kafka, packed NATS topics):
 * each publishing process keeps one per partition it publishes ids to, built from the log and caught up with it before
 * each append (the backend's dedup design says how). In typed arrays: the Map of id strings it replaces took ~230
 * bytes per id (measured: 1M report ids), i.e. ~1.4 GB for a 10-minute window at 10,000 reports/s in each ingest
 * process; this takes 28 bytes a slot with tables between three eighths and three quarters full, i.e. ~37-75 bytes an
 * id (test/stream/id-window.test.ts measures both in the same run).
 *
 * What it keeps of an id is a 96-bit fingerprint (three independent 32-bit hashes of its UTF-16 code units), not the
 * id: a false "duplicate" needs two ids of one partition's window to agree on all 96 bits, about N / 2^96 per lookup
 * (6 million ids: ~1e-22; ~1e-10 over a year of the full fleet's lookups), far below any other cause of loss. The
 * ids that could collide on purpose are a drone's own (its partition, its report ids), so a crafted collision can
 * only have that drone's own report refused.
 *
 * Expiry without per-entry work: entries go to a generation by their append time (a quarter of the window each);
 * a generation is dropped whole once everything in it is older than the window. Lookups check each entry's exact
 * append time, so the window is exact.
 */

/** A record id's first append within the duplicate window. */
export interface Seen {
  offset: number;
  /** Append time, epoch ms. */
  at: number;
}

const GENERATIONS_PER_WINDOW = 4;
const EMPTY = 0;

/** Three 32-bit hashes of a string, none of them 0 in the first (0 marks an empty slot). */
function fingerprint(id: string, out: Uint32Array): void {
  let a = 0x811c9dc5; // FNV-1a
  let b = 0x9747b28c; // murmur-style mixing
  let c = 5381; // djb2 (xor variant)
  for (let i = 0; i < id.length; i++) {
    const ch = id.charCodeAt(i);
    a = Math.imul(a ^ ch, 0x01000193);
    b = Math.imul(b ^ ch, 0x5bd1e995);
    b ^= b >>> 15;
    c = Math.imul(c, 33) ^ ch;
  }
  // Final mixing (murmur3's fmix32) so that short ids spread over all bits.
  b = Math.imul(b ^ (b >>> 16), 0x85ebca6b);
  b = Math.imul(b ^ (b >>> 13), 0xc2b2ae35);
  b ^= b >>> 16;
  c = Math.imul(c ^ (c >>> 16), 0x7feb352d);
  c = Math.imul(c ^ (c >>> 15), 0x846ca68b);
  c ^= c >>> 16;
  out[0] = (a >>> 0) || 1;
  out[1] = b >>> 0;
  out[2] = c >>> 0;
}

/** One generation: an open-addressing table (linear probing) filled up to three quarters. */
class Generation {
  private keys: Uint32Array;
  private offsets: Float64Array;
  private ats: Float64Array;
  private mask: number;
  size = 0;

  constructor(readonly start: number, capacity = 256) {
    this.keys = new Uint32Array(capacity * 3);
    this.offsets = new Float64Array(capacity);
    this.ats = new Float64Array(capacity);
    this.mask = capacity - 1;
  }

  /** Slot of the fingerprint, or -1. */
  find(fp: Uint32Array): number {
    const keys = this.keys;
    for (let i = fp[0]! & this.mask; ; i = (i + 1) & this.mask) {
      const k = keys[i * 3]!;
      if (k === EMPTY) return -1;
      if (k === fp[0] && keys[i * 3 + 1] === fp[1] && keys[i * 3 + 2] === fp[2]) return i;
    }
  }

  offsetAt(slot: number): number {
    return this.offsets[slot]!;
  }

  atAt(slot: number): number {
    return this.ats[slot]!;
  }

  /** Sets the fingerprint's entry (replacing it if present). */
  put(fp: Uint32Array, offset: number, at: number): void {
    if ((this.size + 1) * 4 > (this.mask + 1) * 3) this.grow();
    const keys = this.keys;
    let i = fp[0]! & this.mask;
    for (; keys[i * 3] !== EMPTY; i = (i + 1) & this.mask) {
      if (keys[i * 3] === fp[0] && keys[i * 3 + 1] === fp[1] && keys[i * 3 + 2] === fp[2]) break;
    }
    if (keys[i * 3] === EMPTY) this.size++;
    keys[i * 3] = fp[0]!;
    keys[i * 3 + 1] = fp[1]!;
    keys[i * 3 + 2] = fp[2]!;
    this.offsets[i] = offset;
    this.ats[i] = at;
  }

  private grow(): void {
    const { keys, offsets, ats } = this;
    const capacity = (this.mask + 1) * 2;
    this.keys = new Uint32Array(capacity * 3);
    this.offsets = new Float64Array(capacity);
    this.ats = new Float64Array(capacity);
    this.mask = capacity - 1;
    this.size = 0;
    const fp = new Uint32Array(3);
    for (let i = 0; i < offsets.length; i++) {
      if (keys[i * 3] === EMPTY) continue;
      fp[0] = keys[i * 3]!;
      fp[1] = keys[i * 3 + 1]!;
      fp[2] = keys[i * 3 + 2]!;
      this.put(fp, offsets[i]!, ats[i]!);
    }
  }
}

export class IdWindow {
  /** Oldest first. */
  private generations: Generation[] = [];
  private readonly span: number;
  private readonly fp = new Uint32Array(3);

  constructor(private readonly windowMs: number) {
    if (!(windowMs > 0)) throw new RangeError(`windowMs must be positive, got ${windowMs}`);
    this.span = Math.max(1, Math.ceil(windowMs / GENERATIONS_PER_WINDOW));
  }

  /** The id's first append within the window before `now`, if any. */
  get(id: string, now: number): Seen | undefined {
    this.expire(now);
    fingerprint(id, this.fp);
    return this.lookup(now);
  }

  /** Records an appended id; the first (lowest offset) record of an id within the window stays the original. */
  add(id: string, seen: Seen): void {
    fingerprint(id, this.fp);
    const prev = this.lookup(seen.at);
    if (prev && prev.offset <= seen.offset) return;
    this.generationFor(seen.at).put(this.fp, seen.offset, seen.at);
  }

  get size(): number {
    let n = 0;
    for (const g of this.generations) n += g.size;
    return n;
  }

  /** The entry of the current fingerprint within the window ending at `now` (the lowest offset if several). */
  private lookup(now: number): Seen | undefined {
    let best: Seen | undefined;
    for (const g of this.generations) {
      const slot = g.find(this.fp);
      if (slot < 0) continue;
      const at = g.atAt(slot);
      if (now - at > this.windowMs) continue;
      const offset = g.offsetAt(slot);
      if (!best || offset < best.offset) best = { offset, at };
    }
    return best;
  }

  private generationFor(at: number): Generation {
    const start = Math.floor(at / this.span) * this.span;
    const gens = this.generations;
    // Appends come in time order, so the newest generation is almost always the one.
    for (let i = gens.length - 1; i >= 0; i--) {
      const g = gens[i]!;
      if (g.start === start) return g;
      if (g.start < start) {
        const created = new Generation(start);
        gens.splice(i + 1, 0, created);
        return created;
      }
    }
    const created = new Generation(start);
    gens.unshift(created);
    return created;
  }

  private expire(now: number): void {
    let drop = 0;
    // Everything in a generation is older than its end: past the window once its end is.
    while (drop < this.generations.length && now - (this.generations[drop]!.start + this.span) > this.windowMs) drop++;
    if (drop > 0) this.generations = this.generations.slice(drop);
  }
}
