import { DwError } from '../errors/index.ts';

/**
 * How many queries and exports run at once: at most `perTenant` of one tenant and `total` of all. Each holds a DuckDB
 * connection and memory (up to analysis.memoryLimit on its engine) until its rows are read, so without a cap one
 * analyst's burst of heavy queries would take the memory and cores every force and the rest of the API share.
 *
 * A query that finds no free slot waits for one, in order of arrival, for at most `waitMs` (the dashboard sends a few
 * short queries at once: they queue for milliseconds instead of failing), then is refused with QueryBusyError (429
 * DW_QUERY_TOO_MANY and Retry-After).
 */
export class QueryBusyError extends DwError {
  readonly retryAfterSeconds: number;
  constructor(message: string, retryAfterSeconds: number) {
    super('DW_QUERY_TOO_MANY', message, { status: 429 });
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export interface QueryAdmissionOptions {
  perTenant: number;
  total: number;
  /** How long a query waits for a slot before it is refused. */
  waitMs: number;
}

interface Waiter {
  tenant: string;
  admit: () => void;
}

export class QueryAdmission {
  private readonly running = new Map<string, number>();
  private total = 0;
  private readonly waiting: Waiter[] = [];

  constructor(private readonly opts: QueryAdmissionOptions) {}

  /** Queries running now, all tenants. */
  get size(): number {
    return this.total;
  }

  /** Waits for a slot for `tenant` and returns what gives it back (idempotent). Throws QueryBusyError after waitMs. */
  async enter(tenant: string): Promise<() => void> {
    if (this.waiting.length === 0 && this.fits(tenant)) return this.take(tenant);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        tenant,
        admit: () => {
          clearTimeout(timer);
          resolve(this.take(tenant));
        },
      };
      const timer = setTimeout(() => {
        const i = this.waiting.indexOf(waiter);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(this.busy(tenant));
        this.admitWaiting(); // a tenant at its own limit may have held up others behind it
      }, this.opts.waitMs);
      this.waiting.push(waiter);
      this.admitWaiting(); // waiters ahead are all held by their own tenant's limit: this one may fit
    });
  }

  private fits(tenant: string): boolean {
    return this.total < this.opts.total && (this.running.get(tenant) ?? 0) < this.opts.perTenant;
  }

  private take(tenant: string): () => void {
    this.total++;
    this.running.set(tenant, (this.running.get(tenant) ?? 0) + 1);
    let left = false;
    return () => {
      if (left) return;
      left = true;
      this.total--;
      const n = (this.running.get(tenant) ?? 1) - 1;
      if (n === 0) this.running.delete(tenant);
      else this.running.set(tenant, n);
      this.admitWaiting();
    };
  }

  /** Admits waiters in order of arrival, each as soon as it fits (one at its tenant's limit does not hold others up). */
  private admitWaiting(): void {
    for (let i = 0; i < this.waiting.length && this.total < this.opts.total;) {
      const w = this.waiting[i]!;
      if (this.fits(w.tenant)) {
        this.waiting.splice(i, 1);
        w.admit();
      } else {
        i++;
      }
    }
  }

  private busy(tenant: string): QueryBusyError {
    const mine = this.running.get(tenant) ?? 0;
    const retryAfter = Math.max(1, Math.ceil(this.opts.waitMs / 1000));
    return mine >= this.opts.perTenant
      ? new QueryBusyError(`your force already runs ${mine} queries or exports, its limit (analysis.maxQueriesPerTenant); retry when one is done (after ${retryAfter} s)`, retryAfter)
      : new QueryBusyError(`the analysis service already runs ${this.total} queries or exports, its limit (analysis.maxQueries); retry after ${retryAfter} s`, retryAfter);
  }
}
