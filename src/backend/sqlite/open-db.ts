import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import path from 'node:path';

/**
 * `<dir>/<file>` opened for processes sharing a data directory: WAL, so readers never wait for the writer, and a
 * writer waits up to 5 s for another process's write lock rather than failing at once.
 */
export function openSharedDatabase(dir: string, file: string): Database.Database {
  mkdirSync(dir, { recursive: true });
  const db = new Database(path.join(dir, file));
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 5000');
  return db;
}
