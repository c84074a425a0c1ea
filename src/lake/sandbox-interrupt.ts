import type { DuckDBConnection } from '@duckdb/node-api';
import { DwError } from '../errors/index.ts';
import { QueryCancelledError, QueryTimeoutError } from './sandbox-errors.ts';
import type { CursorOptions } from './sandbox.ts';

/** A query's time limit and cancellation: DuckDB's interrupt() on its connection, turned into the error that caused it. */
export interface InterruptGuard {
  /**
   * Starts a DuckDB call and awaits it, turning an interrupt into the error that caused it (timeout, cancel, stop).
   * Once interrupted, later calls are not started at all: the connection is closed right after, and closing it while
   * DuckDB still works on it corrupts memory.
   */
  wrap<T>(op: () => Promise<T>): Promise<T>;
  /**
   * Throws the error that interrupted the query, if any, and interrupts it when its time is up even if the timer has
   * not fired yet (JS work between two reads keeps timers from firing): called between rows while they are converted.
   */
  check(): void;
  cancel(): void;
  /** Interrupts the query with this error (an answer over its size limit, a memory alarm). */
  stop(error: DwError): void;
  dispose(): void;
}

/** `fail`: DuckDB's error as the QueryError to throw (without the sandbox's paths). */
export function interruptGuard(conn: DuckDBConnection, opts: Pick<CursorOptions, 'timeoutMs' | 'signal'>, fail: (e: unknown) => DwError): InterruptGuard {
  let reason: DwError | undefined;
  let disposed = false;
  const interrupt = (why: () => DwError): void => {
    // Once disposed, the connection may be closed: interrupting it then would touch freed memory.
    if (reason || disposed) return;
    reason = why();
    conn.interrupt();
  };
  const timeout = (): DwError => new QueryTimeoutError(opts.timeoutMs ?? 0);
  const deadline = opts.timeoutMs && opts.timeoutMs > 0 ? performance.now() + opts.timeoutMs : Number.POSITIVE_INFINITY;
  const timer = Number.isFinite(deadline) ? setTimeout(() => interrupt(timeout), opts.timeoutMs) : undefined;
  timer?.unref();
  const onAbort = (): void => interrupt(() => new QueryCancelledError());
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  if (opts.signal?.aborted) reason = new QueryCancelledError();
  return {
    async wrap(op) {
      if (reason) throw reason;
      try {
        const v = await op();
        if (reason) throw reason;
        return v;
      } catch (e) {
        if (reason) throw reason;
        if (e instanceof DwError) throw e;
        throw fail(e);
      }
    },
    check() {
      if (!reason && performance.now() >= deadline) interrupt(timeout);
      if (reason) throw reason;
    },
    cancel: () => interrupt(() => new QueryCancelledError()),
    stop: (error) => interrupt(() => error),
    dispose() {
      disposed = true;
      if (timer) clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
    },
  };
}
