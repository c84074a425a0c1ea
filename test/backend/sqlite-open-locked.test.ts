/**
 * Opening a SQLite store while another process writes: it must wait for the write lock (busy_timeout), not fail.
 * A deferred transaction that reads before it writes cannot wait (SQLite refuses to upgrade a read transaction while
 * another connection holds the write lock, without calling the busy handler: "database is locked" at once). The saved
 * queries' open did that (read the table's columns, then create the table), and two `dronewatch stats` started
 * together on a fresh data directory failed on it in CI (test/analysis/stats-cli.test.ts, 2026-12-06). The lock is
 * held by a worker thread, as another process would hold it, while this thread opens the store.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { openSavedQueryStore } from '../../src/backend/sqlite/saved-queries.ts';
import { tempDir } from '../../src/testkit/index.ts';

const HOLD_MS = 600;

/** A worker that takes the database's write lock (BEGIN IMMEDIATE), says so, holds it HOLD_MS, then commits. */
function holdWriteLock(file: string): { locked: Promise<void>; done: Promise<void> } {
  const w = new Worker(`
    const { parentPort, workerData } = require('node:worker_threads');
    const Database = require(workerData.module);
    const db = new Database(workerData.file);
    db.pragma('journal_mode = WAL');
    db.exec('BEGIN IMMEDIATE');
    db.exec('CREATE TABLE IF NOT EXISTS other (x)');
    parentPort.postMessage('locked');
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, workerData.holdMs);
    db.exec('COMMIT');
    db.close();
  `, { eval: true, workerData: { file, holdMs: HOLD_MS, module: createRequire(import.meta.url).resolve('better-sqlite3') } });
  const locked = new Promise<void>((resolve, reject) => { w.once('message', () => resolve()); w.once('error', reject); });
  const done = new Promise<void>((resolve, reject) => { w.once('exit', () => resolve()); w.once('error', reject); });
  return { locked, done };
}

test('the saved-query store opens (and creates its table) while another connection holds the write lock: it waits', async () => {
  const tmp = tempDir('dw-open-locked-');
  try {
    const file = path.join(tmp.dir, 'analysis.db');
    // The file exists in WAL mode without the table, as when another process created it a moment before.
    new Database(file).pragma('journal_mode = WAL');
    const holder = holdWriteLock(file);
    await holder.locked;
    const t0 = performance.now();
    const store = openSavedQueryStore(tmp.dir);
    const waited = performance.now() - t0;
    await holder.done;
    assert.ok(waited >= HOLD_MS / 2, `the open waited for the lock (${Math.round(waited)} ms)`);
    assert.deepEqual(await store.list('lyon'), [], 'and the store works');
    store.close();
  } finally {
    tmp.cleanup();
  }
});
