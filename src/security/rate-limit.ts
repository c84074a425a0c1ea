/**
 * Failed-login limiter: a sliding window of failures per key (the account, and separately the client address), so
 * password guessing is slowed both against one account and from one address spraying many. Success does not reset
 * the address counter (an attacker with one valid account must not unlock guessing on others).
 * Two implementations: `LoginRateLimiter` (in memory, one process: embedded mode) and the KV credential store's
 * (`KvCredentialStore.loginLimiter()`: counted across every API host of a distributed deployment).
 */
export interface LoginLimiter {
  /** Seconds to wait before another attempt for this account/address, or 0 when allowed. */
  retryAfterSeconds(account: string, address: string): number | Promise<number>;
  /**
   * Admits one attempt, or refuses it (the seconds to wait; nothing is counted then). An admitted attempt counts as a
   * failure at once, before its password is checked, so that attempts running concurrently (on this host or another)
   * see each other: checking first and counting after let 60 simultaneous guesses through a limit of 5 (regression).
   * A success takes its attempt back (recordSuccess).
   */
  admit(account: string, address: string): number | Promise<number>;
  recordFailure(account: string, address: string): void | Promise<void>;
  /** Clears the account's failures, and takes the admitted attempt back from the address's count. */
  recordSuccess(account: string, address?: string): void | Promise<void>;
}

export interface LoginLimits {
  /** Failures allowed per account within the window. */
  perAccount: number;
  /** Failures allowed per client address within the window. */
  perAddress: number;
  windowMs: number;
}

export const DEFAULT_LOGIN_LIMITS: LoginLimits = { perAccount: 5, perAddress: 20, windowMs: 15 * 60_000 };

/** Seconds until `max` failures of the window are no longer within it, or 0 (shared by both limiters). */
export function waitFor(failures: readonly number[], max: number, windowMs: number, t: number): number {
  const xs = failures.filter((x) => x > t - windowMs);
  return xs.length >= max ? Math.ceil((xs[xs.length - max]! + windowMs - t) / 1000) : 0;
}

export class LoginRateLimiter implements LoginLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(private readonly limits: LoginLimits = DEFAULT_LOGIN_LIMITS, private readonly now: () => number = Date.now) {}

  retryAfterSeconds(account: string, address: string): number {
    const t = this.now();
    const wait = (key: string, max: number): number => waitFor(this.failures.get(key) ?? [], max, this.limits.windowMs, t);
    return Math.max(wait(`a:${account}`, this.limits.perAccount), wait(`ip:${address}`, this.limits.perAddress));
  }

  /** Synchronous: no other attempt of this process runs between the check and the count. */
  admit(account: string, address: string): number {
    const wait = this.retryAfterSeconds(account, address);
    if (wait > 0) return wait;
    this.recordFailure(account, address);
    return 0;
  }

  recordFailure(account: string, address: string): void {
    const t = this.now();
    for (const key of [`a:${account}`, `ip:${address}`]) this.failures.set(key, [...this.recent(key, t), t]);
    if (this.failures.size > 100_000) this.prune(t);
  }

  recordSuccess(account: string, address?: string): void {
    this.failures.delete(`a:${account}`);
    if (address !== undefined) this.failures.get(`ip:${address}`)?.pop();
  }

  private recent(key: string, t: number): number[] {
    return (this.failures.get(key) ?? []).filter((x) => x > t - this.limits.windowMs);
  }

  private prune(t: number): void {
    for (const [k, xs] of this.failures) if (!xs.some((x) => x > t - this.limits.windowMs)) this.failures.delete(k);
  }
}
