/**
 * Where the live map keeps every drone's recent track: rings of positions in chunks shared by DRONES_PER_CHUNK
 * drones, allocated as drones arrive, the slots of forgotten drones reused.
 *
 * A position is 12 bytes: latitude and longitude as Int32 in units of 1e-7 degree (1.1 cm; a coordinate with 7
 * decimals or fewer comes back as the very number that was reported, since n / 1e7 is the double nearest the decimal,
 * as parsing it is), and the report time as a Uint32 count of milliseconds after the drone's `origin` (its first
 * report's time, kept as a Float64 per drone). Three Float64 a position (before) took 24 bytes: 480 bytes a drone of
 * 20 positions, 46 MiB at the tracker's 100,000-drone cap; this layout takes 248 bytes a drone, 24 MiB. A drone whose
 * new report is more than 2^32 ms (49.7 days) after its origin starts its track again from that report: the positions
 * dropped were that much older, no longer a recent track.
 */

/** Drones per chunk: 1,024 x 20 positions x 12 bytes = 240 KiB (and 8 KiB of origins). */
const DRONES_PER_CHUNK = 1024;
const INTS_PER_POSITION = 3;
const UNITS_PER_DEGREE = 1e7;
const MAX_OFFSET_MS = 0xffffffff;

/** Where a drone's ring lives in the slab. */
export interface TrackPlace {
  readonly ints: Int32Array;
  readonly origins: Float64Array;
  /** The drone's index in its chunk. */
  readonly slot: number;
}

/**
 * One drone's ring: its place and which positions it holds. The owner makes it as one object literal with its own
 * fields (the tracker's drone): adding fields to an object after it is made costs V8 a property store of its own.
 */
export interface TrackRing extends TrackPlace {
  /** Index of the newest position; -1 when empty. */
  head: number;
  count: number;
}

export class TrackSlab {
  private readonly ints: Int32Array[] = [];
  private readonly origins: Float64Array[] = [];
  private readonly free: TrackPlace[] = [];
  private next = 0;

  constructor(readonly trackLength: number) {}

  /** A place for a new ring (head -1, count 0): a forgotten drone's when there is one. */
  take(): TrackPlace {
    return this.free.pop() ?? this.newPlace();
  }

  give(ring: TrackRing): void {
    this.free.push({ ints: ring.ints, origins: ring.origins, slot: ring.slot });
  }

  /** Appends a position newer than the ring's newest (the caller checks it). */
  push(r: TrackRing, lat: number, lon: number, ts: number): void {
    if (r.count === 0 || ts - r.origins[r.slot]! > MAX_OFFSET_MS) {
      r.origins[r.slot] = ts;
      r.count = 0;
    }
    const n = this.trackLength;
    r.head = (r.head + 1) % n;
    const at = this.at(r, r.head);
    r.ints[at] = Math.round(lat * UNITS_PER_DEGREE);
    r.ints[at + 1] = Math.round(lon * UNITS_PER_DEGREE);
    r.ints[at + 2] = ts - r.origins[r.slot]!;
    r.count = Math.min(r.count + 1, n);
  }

  lat(r: TrackRing, i: number): number {
    return r.ints[this.at(r, i)]! / UNITS_PER_DEGREE;
  }

  lon(r: TrackRing, i: number): number {
    return r.ints[this.at(r, i) + 1]! / UNITS_PER_DEGREE;
  }

  ts(r: TrackRing, i: number): number {
    return r.origins[r.slot]! + (r.ints[this.at(r, i) + 2]! >>> 0);
  }

  /** Bytes of the chunks allocated (for tests and benchmarks). */
  get bytes(): number {
    let n = 0;
    for (const c of this.ints) n += c.byteLength;
    for (const c of this.origins) n += c.byteLength;
    return n;
  }

  private at(r: TrackRing, i: number): number {
    return (r.slot * this.trackLength + i) * INTS_PER_POSITION;
  }

  private newPlace(): TrackPlace {
    const index = this.next++;
    const c = Math.floor(index / DRONES_PER_CHUNK);
    this.ints[c] ??= new Int32Array(DRONES_PER_CHUNK * this.trackLength * INTS_PER_POSITION);
    this.origins[c] ??= new Float64Array(DRONES_PER_CHUNK);
    return { ints: this.ints[c], origins: this.origins[c], slot: index % DRONES_PER_CHUNK };
  }
}
