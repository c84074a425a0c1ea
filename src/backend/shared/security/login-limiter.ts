import { KvConflictError, type SharedKv } from '../kv.ts';
import { DEFAULT_LOGIN_LIMITS, waitFor, type LoginLimiter, type LoginLimits } from '../../../security/rate-limit.ts';

export const LOGINS_BUCKET = 'dw_login_failures';

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

  async recordFailure(account: string, address: string): Promise<void> {
    const t = this.now();
    await Promise.all([`a.${b64(account)}`, `ip.${b64(address)}`].map((key) => this.append(key, t)));
  }

  async recordSuccess(account: string): Promise<void> {
    const key = `a.${b64(account)}`;
    await this.kv.delete(key);
    // A delete answers no revision: clear the key at the revision known; the watch then brings the delete itself and
    // any later failure from another host (both newer).
    this.failures.set(key, { rev: this.failures.get(key)?.rev ?? 0, times: [] });
  }

  /** Adds a failure time to a key by compare-and-set (concurrent failures on several hosts all count). */
  private async append(key: string, t: number): Promise<void> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const e = await this.kv.get(key);
      const cur = e ? (JSON.parse(dec.decode(e.value)) as number[]) : [];
      const next = [...cur.filter((x) => x > t - this.limits.windowMs), t].slice(-Math.max(this.limits.perAccount, this.limits.perAddress));
      try {
        const value = enc.encode(JSON.stringify(next));
        const rev = await (e ? this.kv.update(key, value, e.revision) : this.kv.create(key, value));
        this.failures.set(key, { rev, times: next });
        return;
      } catch (err) {
        if (!(err instanceof KvConflictError)) throw err;
      }
    }
  }
}
