/**
 * Seeded randomness for the simulator. sfc32 is small (four 32-bit words), fast in V8 (pure int32 arithmetic) and
 * passes PractRand; Math.random cannot be seeded, so it is never used here.
 */

/** cyrb128: spreads a string over four 32-bit words, used to seed sfc32 from (seed, stream name). */
function cyrb128(text: string): [number, number, number, number] {
  let h1 = 1779033703;
  let h2 = 3144134277;
  let h3 = 1013904242;
  let h4 = 2773480762;
  for (let i = 0; i < text.length; i++) {
    const k = text.charCodeAt(i);
    h1 = h2 ^ Math.imul(h1 ^ k, 597399067);
    h2 = h3 ^ Math.imul(h2 ^ k, 2869860233);
    h3 = h4 ^ Math.imul(h3 ^ k, 951274213);
    h4 = h1 ^ Math.imul(h4 ^ k, 2716044179);
  }
  h1 = Math.imul(h3 ^ (h1 >>> 18), 597399067);
  h2 = Math.imul(h4 ^ (h2 >>> 22), 2869860233);
  h3 = Math.imul(h1 ^ (h3 >>> 17), 951274213);
  h4 = Math.imul(h2 ^ (h4 >>> 19), 2716044179);
  h1 ^= h2 ^ h3 ^ h4;
  h2 ^= h1;
  h3 ^= h1;
  h4 ^= h1;
  return [h1 >>> 0, h2 >>> 0, h3 >>> 0, h4 >>> 0];
}

/**
 * sfc32 generator. Independent streams (population, drones, reports) are derived from the same user seed with
 * different names, so changing e.g. the fleet size does not change who the citizens are.
 */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spareNormal = 0;
  private hasSpare = false;

  constructor(seed: number, stream: string) {
    [this.a, this.b, this.c, this.d] = cyrb128(`${seed}/${stream}`);
    for (let i = 0; i < 15; i++) this.u32();
  }

  /** Uniform 32-bit unsigned integer. */
  u32(): number {
    const a = this.a, b = this.b, c = this.c, d = this.d;
    const t = (((a + b) | 0) + d) | 0;
    this.d = (d + 1) | 0;
    this.a = b ^ (b >>> 9);
    this.b = (c + (c << 3)) | 0;
    const r = (c << 21) | (c >>> 11);
    this.c = (r + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.u32() / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Uniform in [lo, hi). */
  range(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Standard normal (Box-Muller; the second value of each pair is kept for the next call). */
  normal(): number {
    if (this.hasSpare) {
      this.hasSpare = false;
      return this.spareNormal;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    this.hasSpare = true;
    return r * Math.cos(2 * Math.PI * v);
  }

  /** Poisson-distributed count (Knuth's multiplication method: fine for the small means used here). */
  poisson(mean: number): number {
    return mean <= 0 ? 0 : this.poissonBelow(Math.exp(-mean));
  }

  /** Poisson count given `limit = exp(-mean)` precomputed by the caller (saves an exp per draw in hot loops). */
  poissonBelow(limit: number): number {
    let k = 0;
    let p = this.next();
    while (p > limit) {
      k++;
      p *= this.next();
    }
    return k;
  }

  /** Gamma(shape, 1) by Marsaglia-Tsang. */
  gamma(shape: number): number {
    if (shape < 1) return this.gamma(shape + 1) * Math.pow(this.next() || Number.MIN_VALUE, 1 / shape);
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      let x: number;
      let v: number;
      do {
        x = this.normal();
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      const u = this.next();
      if (u < 1 - 0.0331 * x * x * x * x) return d * v;
      if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
    }
  }

  /** Beta(a, b) in [0, 1]. */
  beta(a: number, b: number): number {
    const x = this.gamma(a);
    const y = this.gamma(b);
    return x / (x + y);
  }
}

/**
 * Picks indices with given relative weights in O(1): a lookup table where each index fills a share of the slots
 * proportional to its weight. With 4096+ slots per few hundred entries the rounding error is well under 1%.
 */
export class WeightedTable {
  private readonly slots: Uint16Array;

  constructor(weights: readonly number[], slotCount = 16384) {
    if (weights.length === 0 || weights.length > 65535) throw new RangeError('WeightedTable needs 1..65535 weights');
    const total = weights.reduce((s, w) => s + w, 0);
    this.slots = new Uint16Array(slotCount);
    let filled = 0;
    let acc = 0;
    for (let i = 0; i < weights.length; i++) {
      acc += weights[i] ?? 0;
      // Every entry gets at least one slot so that rare items still occur.
      const end = Math.max(filled + 1, Math.round((acc / total) * slotCount));
      for (let s = filled; s < end && s < slotCount; s++) this.slots[s] = i;
      filled = Math.min(Math.max(filled, end), slotCount);
    }
    for (let s = filled; s < slotCount; s++) this.slots[s] = weights.length - 1;
  }

  pick(rng: Rng): number {
    return this.slots[(rng.next() * this.slots.length) | 0] ?? 0;
  }
}

/** Zipf-like weights 1/(rank+offset)^s: a few very common entries and a long tail, as in names and speech. */
export function zipfWeights(count: number, exponent: number, offset = 1): number[] {
  const out: number[] = [];
  for (let i = 0; i < count; i++) out.push(1 / Math.pow(i + offset, exponent));
  return out;
}
