import { StreamUnavailableError } from '../../../stream/errors.ts';
import { KvConflictError, type SharedKv } from '../kv.ts';
import { DEFAULT_LOGIN_LIMITS, waitFor, type LoginLimiter, type LoginLimits } from '../../../security/rate-limit.ts';

export const LOGINS_BUCKET = 'dw_login_failures';
const MAX_CAS_ATTEMPTS = 100;

const enc = new TextEncoder();
const dec = new TextDecoder();
const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64url');

/**
 * The failed-login limiter of a distributed deployment: failures are counted in a KV bucket (`dw_login_failures`,
 * keys `a.<account>` and `ip.<address>`, each the failure times within the window; the bucket's TTL is the window),
 * so guessing spread over several API hosts meets the same limit as on one. Checks read this process's copy of the
 * bucket (fed by a watch and by its own writes); a failure on another host counts here within milliseconds.
 */
export class KvLoginLimiter implements LoginLimiter {
  readonly failures = new Map<string, { rev: number; times: number[] }>();

  constructor(
    private readonly kv: SharedKv,
    readonly limits: LoginLimits = DEFAULT_LOGIN_LIMITS,
    private readonly now: () => number = Date.now,
  ) {}

  /** From the bucket's watch (or a write): a key's failure times at revision `rev` (null: expired or cleared). */
  apply(key: string, value: Uint8Array | null, rev: number): void {
    const known = this.failures.get(key);
    if (known && known.rev >= rev) return;
    this.failures.set(key, { rev, times: value === null ? [] : (JSON.parse(dec.decode(value)) as number[]) });
  }

  retryAfterSeconds(account: string, address: string): number {
    const t = this.now();
    const times = (key: string): number[] => this.failures.get(key)?.times ?? [];
    return Math.max(
      waitFor(times(`a.${b64(account)}`), this.limits.perAccount, this.limits.windowMs, t),
      waitFor(times(`ip.${b64(address)}`), this.limits.perAddress, this.limits.windowMs, t),
    );
  }

  /**
   * Counts the attempt in both keys by compare-and-set, then checks the counts it wrote: each compare-and-set sees
   * every attempt written before it on any host, so of attempts racing past the first check, those beyond the limit
   * find out here and are refused (they stay counted: guessing at that rate prolongs the lock).
   */
  async admit(account: string, address: string): Promise<number> {
    const wait = this.retryAfterSeconds(account, address);
    if (wait > 0) return wait;
    const t = this.now();
    const [a, ip] = await Promise.all([this.append(`a.${b64(account)}`, t), this.append(`ip.${b64(address)}`, t)]);
    // The attempts before this one (each list ends with it): `max` of them within the window already is the limit.
    const over = (times: number[], max: number): number => waitFor(times.slice(0, -1), max, this.limits.windowMs, t);
    return Math.max(over(a, this.limits.perAccount), over(ip, this.limits.perAddress));
  }

  async recordFailure(account: string, address: string): Promise<void> {
    const t = this.now();
    await Promise.all([`a.${b64(account)}`, `ip.${b64(address)}`].map((key) => this.append(key, t)));
  }

  async recordSuccess(account: string, address?: string): Promise<void> {
    const key = `a.${b64(account)}`;
    await this.kv.delete(key);
    // A delete answers no revision: clear the key at the revision known; the watch then brings the delete itself and
    // any later failure from another host (both newer).
    this.failures.set(key, { rev: this.failures.get(key)?.rev ?? 0, times: [] });
    if (address !== undefined) await this.takeBack(`ip.${b64(address)}`);
  }

  /** Removes the latest attempt from a key (a success's own admitted attempt), by compare-and-set. */
  private async takeBack(key: string): Promise<void> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const e = await this.kv.get(key);
      if (!e) return;
      const cur = JSON.parse(dec.decode(e.value)) as number[];
      if (cur.length === 0) return;
      const next = cur.slice(0, -1);
      try {
        const rev = await this.kv.update(key, enc.encode(JSON.stringify(next)), e.revision);
        this.failures.set(key, { rev, times: next });
        return;
      } catch (err) {
        if (!(err instanceof KvConflictError)) throw err;
      }
    }
  }

  /** Adds a failure time to a key by compare-and-set (concurrent failures on several hosts all count); the list written. */
  private async append(key: string, t: number): Promise<number[]> {
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      // Writers racing on one key (a guessing storm from one address) take turns instead of colliding in step.
      if (attempt > 0) await new Promise((r) => setTimeout(r, Math.random() * Math.min(50, 2 * attempt)));
      const e = await this.kv.get(key);
      const cur = e ? (JSON.parse(dec.decode(e.value)) as number[]) : [];
      const next = [...cur.filter((x) => x > t - this.limits.windowMs), t].slice(-(Math.max(this.limits.perAccount, this.limits.perAddress) + 1)); // one beyond the limit: admit() sees an attempt past it
      try {
        const value = enc.encode(JSON.stringify(next));
        const rev = await (e ? this.kv.update(key, value, e.revision) : this.kv.create(key, value));
        this.failures.set(key, { rev, times: next });
        return next;
      } catch (err) {
        if (!(err instanceof KvConflictError)) throw err;
      }
    }
    throw new StreamUnavailableError(`login failures: ${key} kept changing under ${MAX_CAS_ATTEMPTS} attempts`, 'concurrent writers');
  }
}
