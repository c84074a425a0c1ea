import type { DuckDBConnection } from '@duckdb/node-api';
import { DwError } from '../errors/index.ts';
import { QueryCancelledError, QueryTimeoutError, type QueryError } from './sandbox-errors.ts';
import type { CursorOptions } from './sandbox.ts';

/** A query's time limit and cancellation: DuckDB's interrupt() on its connection, turned into the error that caused it. */
export interface InterruptGuard {
  /**
   * Starts a DuckDB call and awaits it, turning an interrupt into the timeout or cancel error that caused it. Once
   * interrupted, later calls are not started at all: the connection is closed right after, and closing it while DuckDB
   * still works on it corrupts memory.
   */
  wrap<T>(op: () => Promise<T>): Promise<T>;
  cancel(): void;
  dispose(): void;
}

/** `fail`: DuckDB's error as the QueryError to throw (without the sandbox's paths). */
export function interruptGuard(conn: DuckDBConnection, opts: Pick<CursorOptions, 'timeoutMs' | 'signal'>, fail: (e: unknown) => QueryError): InterruptGuard {
  let reason: 'timeout' | 'cancel' | undefined;
  let disposed = false;
  const interrupt = (why: 'timeout' | 'cancel'): void => {
    // Once disposed, the connection may be closed: interrupting it then would touch freed memory.
    if (reason || disposed) return;
    reason = why;
    conn.interrupt();
  };
  const timer = opts.timeoutMs && opts.timeoutMs > 0 ? setTimeout(() => interrupt('timeout'), opts.timeoutMs) : undefined;
  timer?.unref();
  const onAbort = (): void => interrupt('cancel');
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  if (opts.signal?.aborted) reason = 'cancel';
  const failure = (): DwError => (reason === 'timeout' ? new QueryTimeoutError(opts.timeoutMs ?? 0) : new QueryCancelledError());
  return {
    async wrap(op) {
      if (reason) throw failure();
      try {
        const v = await op();
        if (reason) throw failure();
        return v;
      } catch (e) {
        if (reason) throw failure();
        if (e instanceof DwError) throw e;
        throw fail(e);
      }
    },
    cancel: () => interrupt('cancel'),
    dispose() {
      disposed = true;
      if (timer) clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
    },
  };
}
