import { setTimeout as delay } from 'node:timers/promises';

/**
 * Whether an error is SQLite's "database is locked" (SQLITE_BUSY and its extended codes): another connection (the
 * publisher of another thread or process, a WAL checkpoint) held the write lock for the whole busy_timeout.
 */
export function isBusy(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}

/** How long a write that matters (a consumer's commit) keeps trying after "database is locked". */
export const BUSY_RETRY_MS = 60_000;

/**
 * Runs a write transaction, trying again after SQLITE_BUSY for up to `budgetMs`. busy_timeout alone is not enough
 * under heavy load: SQLite's busy handler sleeps and polls, and a writer that commits continuously (the publisher's
 * group commit) can take the lock back every time the waiter looks, so a waiter gives up with "database is locked"
 * even though no transaction is long (issue 15, item 8: `stream commit failed after the batch was stored`). Each retry
 * waits on the event loop (not in SQLite's synchronous handler) so the thread's other work goes on meanwhile.
 */
export async function retryBusy<T>(write: () => T, budgetMs = BUSY_RETRY_MS): Promise<T> {
  const deadline = Date.now() + budgetMs;
  for (let wait = 5; ; wait = Math.min(wait * 2, 250)) {
    try {
      return write();
    } catch (e) {
      if (!isBusy(e) || Date.now() + wait > deadline) throw e;
    }
    await delay(wait + Math.floor(Math.random() * wait));
  }
}
