import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { tempDir } from '../../src/testkit/index.ts';
import { WalCheckpointer } from '../../src/util/wal-checkpointer.ts';

/** Writes `batches` x 1 MB in separate transactions, pausing between them as a live publisher would. */
async function write(db: Database.Database, batches: number): Promise<void> {
  const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
  const tx = db.transaction(() => { for (let i = 0; i < 256; i++) insert.run(Buffer.alloc(4096, i)); });
  for (let b = 0; b < batches; b++) {
    tx();
    await new Promise((r) => setTimeout(r, 40));
  }
}

function open(file: string): Database.Database {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec('CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v BLOB)');
  return db;
}

describe('WAL checkpoints in a worker thread', () => {
  const tmp = tempDir('dw-wal-');
  after(() => tmp.cleanup());

  it('takes over checkpointing: the data reaches the database file and the WAL stays bounded', async () => {
    const file = path.join(tmp.dir, 'a.db');
    const db = open(file);
    const c = await WalCheckpointer.start(db, file, 50);
    assert.equal(c.active, true);
    assert.equal(db.pragma('wal_autocheckpoint', { simple: true }), 0, 'the committing connection no longer checkpoints');
    await write(db, 30); // 30 MB
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(statSync(file).size > 20 * 2 ** 20, `database file is ${statSync(file).size} bytes: checkpoints did not run`);
    await c.stop();
    assert.equal(db.pragma('wal_autocheckpoint', { simple: true }), 1000, 'checkpointing given back on stop');
    db.close();
  });

  it('gives checkpointing back to the connection if the thread dies', async () => {
    const file = path.join(tmp.dir, 'b.db');
    const db = open(file);
    const c = await WalCheckpointer.start(db, file, 50);
    await c.kill();
    assert.equal(c.active, false);
    assert.equal(db.pragma('wal_autocheckpoint', { simple: true }), 1000);
    db.close();
  });
  it('runs one thread per database file: connections of the process share it, a worker thread started later relies on it', async () => {
    const file = path.join(tmp.dir, 'c.db');
    const a = open(file);
    const b = open(file);
    const ca = await WalCheckpointer.start(a, file, 50);
    const cb = await WalCheckpointer.start(b, file, 50);
    assert.equal(ca.active && cb.active, true);
    assert.equal(b.pragma('wal_autocheckpoint', { simple: true }), 0);
    const child = new Worker(new URL('../../src/runtime/thread-entry.js', import.meta.url), {
      workerData: { module: new URL('./fixtures/wal-checkpointer-thread.ts', import.meta.url).href, file },
    });
    const seen = await new Promise<{ active: boolean; auto: number }>((resolve, reject) => { child.once('message', resolve); child.once('error', reject); });
    assert.deepEqual(seen, { active: true, auto: 16384 }, 'the thread started no checkpointer: it keeps only a high fallback threshold');
    await ca.stop();
    assert.equal(cb.active, true, 'the thread keeps running for the other connection');
    await write(b, 10);
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(statSync(file).size > 5 * 2 ** 20, `database file is ${statSync(file).size} bytes: checkpoints did not run`);
    await cb.stop();
    assert.equal(cb.active, false);
    assert.equal(b.pragma('wal_autocheckpoint', { simple: true }), 1000);
    a.close();
    b.close();
  });
});
