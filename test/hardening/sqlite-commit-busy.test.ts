/**
 * Issue 15, item 8: `archive: stream commit failed after the batch was stored: database is locked` under heavy load.
 * A consumer's commit gave up after one busy_timeout while another connection held the write lock; it now tries
 * again on the event loop, within a bound.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { SqliteStream } from '../../src/backend/sqlite/stream/index.ts';
import { isBusy, retryBusy } from '../../src/backend/sqlite/stream/busy.ts';
import { tempDir } from '../../src/testkit/index.ts';

describe('sqlite stream commit under a held write lock (issue 15, item 8)', () => {
  const tmp = tempDir('dronewatch-busy-');
  const file = path.join(tmp.dir, 'stream.db');
  let stream: SqliteStream;
  before(async () => {
    stream = await SqliteStream.open(file, { busyTimeoutMs: 50, maintenanceIntervalMs: 0 });
    await stream.ensureTopic('t', { partitions: 1 });
    await stream.publish('t', [{ key: 'k', value: Buffer.from('one') }, { key: 'k', value: Buffer.from('two') }]);
  });
  after(async () => {
    await stream.close();
    tmp.cleanup();
  });

  it('a commit waits out a write lock held longer than busy_timeout, then commits', async () => {
    const consumer = await stream.consumer({ topic: 't', group: 'g' });
    const records = await consumer.poll({ waitMs: 1000 });
    assert.equal(records.length, 2);
    const other = new Database(file);
    other.exec('BEGIN IMMEDIATE'); // another process's writer holding the lock
    const released = new Promise<void>((resolve) => setTimeout(() => { other.exec('COMMIT'); other.close(); resolve(); }, 400));
    const started = Date.now();
    await consumer.commit([records[1]!]);
    await released;
    assert.ok(Date.now() - started >= 350, 'it waited for the lock');
    assert.deepEqual((await stream.lag('t', 'g')).map((l) => l.committed), [records[1]!.offset]);
    await consumer.close();
  });

  it('gives up after its budget, and only on SQLITE_BUSY', async () => {
    const busy = Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
    assert.ok(isBusy(busy));
    let calls = 0;
    await assert.rejects(retryBusy(() => { calls++; throw busy; }, 100), /database is locked/);
    assert.ok(calls > 2, `retried (${calls} attempts)`);
    calls = 0;
    await assert.rejects(retryBusy(() => { calls++; throw new Error('other'); }, 1000), /other/);
    assert.equal(calls, 1);
  });
});
