/**
 * Per-drone ingestion limit: one token bucket per (tenant, drone). A drone reports once a minute and flushes what it
 * buffered after a loss of link, so the bucket is deep (`burst`) and refills slowly (`perSecond`). Its purpose is to
 * stop one stolen or broken drone credential from flooding the stream that every alert depends on; the fleet as a
 * whole is protected by the consumer-lag backpressure (503) instead.
 *
 * A throttled request is not a rejected report: it is answered 429 with Retry-After and nothing of it is stored, so
 * the sender keeps it and sends it again (like 503). It is not dead-lettered, which would let a flood fill the dead
 * letters instead of the stream.
 */

export interface IngestRateLimitOptions {
  /** Tokens (requests) added per second to each drone's bucket. */
  perSecond: number;
  /** Bucket size: requests a drone may send at once after being quiet. */
  burst: number;
  /** Buckets kept at most; full ones are forgotten first (a full bucket is the same as no bucket). Default 200,000. */
  maxBuckets?: number;
  /** Clock, epoch ms (tests inject one). */
  now?: () => number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class IngestRateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly perMs: number;
  private readonly burst: number;
  private readonly maxBuckets: number;
  private readonly now: () => number;
  private throttledTotal = 0;

  constructor(opts: IngestRateLimitOptions) {
    if (!(opts.perSecond > 0) || !(opts.burst >= 1)) throw new RangeError('IngestRateLimiter: perSecond must be > 0 and burst >= 1');
    this.perMs = opts.perSecond / 1000;
    this.burst = opts.burst;
    this.maxBuckets = opts.maxBuckets ?? 200_000;
    this.now = opts.now ?? Date.now;
  }

  /** Takes one token of `key`'s bucket: 0 when allowed, else the whole seconds to wait before the next one. */
  take(key: string): number {
    const now = this.now();
    let b = this.buckets.get(key);
    if (b) {
      b.tokens = Math.min(this.burst, b.tokens + (now - b.at) * this.perMs);
      b.at = now;
    } else {
      if (this.buckets.size >= this.maxBuckets) this.forgetFull(now);
      b = { tokens: this.burst, at: now };
      this.buckets.set(key, b);
    }
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    this.throttledTotal++;
    return Math.max(1, Math.ceil((1 - b.tokens) / this.perMs / 1000));
  }

  stats(): { buckets: number; throttled: number } {
    return { buckets: this.buckets.size, throttled: this.throttledTotal };
  }

  /** Drops the buckets that have refilled (idle drones); if none has, the oldest half, so memory stays bounded. */
  private forgetFull(now: number): void {
    for (const [k, b] of this.buckets) if (b.tokens + (now - b.at) * this.perMs >= this.burst) this.buckets.delete(k);
    if (this.buckets.size < this.maxBuckets) return;
    let n = Math.ceil(this.buckets.size / 2);
    for (const k of this.buckets.keys()) {
      if (n-- <= 0) break;
      this.buckets.delete(k);
    }
  }
}
