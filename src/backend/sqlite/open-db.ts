import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../../errors/index.ts';
import { isBusy } from './stream/busy.ts';

/** How long opening a database waits for other connections by default: the busy_timeout, and the WAL switch's budget. */
export const OPEN_BUSY_MS = 5000;

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/**
 * Opens `file` (creating its folder) with busy_timeout set and the journal in WAL mode.
 *
 * The WAL switch is retried: on a new file, SQLite needs the file to itself to change its journal mode and answers
 * "database is locked" at once, without calling the busy handler, when another process opens the same new file at
 * that moment (two CLI runs sharing a fresh data directory: the stats CLI test on a CI machine; reproduced with three
 * processes each creating 600 databases, ~1% of the opens failed whatever the order of the two pragmas). Opening is
 * synchronous in every caller (constructors), so the waits between tries block the thread; they happen only during
 * such a race, at most `busyTimeoutMs` in all.
 */
export function openWalDatabase(file: string, opts: { busyTimeoutMs?: number } = {}): Database.Database {
  const busyMs = Math.max(0, Math.floor(opts.busyTimeoutMs ?? OPEN_BUSY_MS));
  mkdirSync(path.dirname(file), { recursive: true });
  const db = new Database(file);
  try {
    db.pragma(`busy_timeout = ${busyMs}`);
    const deadline = Date.now() + busyMs;
    for (let wait = 2; ; wait = Math.min(wait * 2, 100)) {
      try {
        const mode = db.pragma('journal_mode = WAL', { simple: true });
        if (String(mode).toLowerCase() !== 'wal') throw new ConfigError(`${file}: cannot switch to WAL mode (got ${String(mode)}; a network or read-only filesystem?)`);
        return db;
      } catch (e) {
        if (!isBusy(e) || Date.now() + wait > deadline) throw e;
      }
      Atomics.wait(sleeper, 0, 0, wait + Math.floor(Math.random() * wait));
    }
  } catch (e) {
    db.close();
    throw e;
  }
}

/**
 * `<dir>/<file>` opened for processes sharing a data directory: WAL, so readers never wait for the writer, and a
 * writer waits up to 5 s for another process's write lock rather than failing at once.
 */
export function openSharedDatabase(dir: string, file: string): Database.Database {
  return openWalDatabase(path.join(dir, file));
}
