/**
 * Issue 15, item 10 at the stream's level: a publish that fails because the database cannot grow (SQLITE_FULL, here
 * from max_page_count, as from a full disk) is refused whole as DW_STORAGE_FULL (503), nothing of it stored, what was
 * acknowledged before intact, and publishing resumes once the database can grow again. Runs anywhere (no mount).
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type Database from 'better-sqlite3';
import { SqliteStream } from '../../src/backend/sqlite/stream/index.ts';
import { tempDir } from '../../src/testkit/index.ts';

describe('embedded stream on a full disk (issue 15, item 10)', () => {
  const tmp = tempDir('dw-stream-full-');
  after(() => tmp.cleanup());

  it('refuses a publish that cannot be stored with DW_STORAGE_FULL, keeps what was acknowledged, resumes', async () => {
    const stream = await SqliteStream.open(path.join(tmp.dir, 'stream.db'), { maintenanceIntervalMs: 0, checkpointThread: false });
    try {
      await stream.ensureTopic('t', { partitions: 2, duplicateWindowMs: 60_000 });
      const db = (stream as unknown as { db: Database.Database }).db;
      const pages = db.pragma('page_count', { simple: true }) as number;
      db.pragma(`max_page_count = ${pages + 200}`); // ~800 KiB more at 4 KiB pages: the "disk" fills quickly
      const value = Buffer.alloc(2000, 'x');
      let acked = 0;
      let refusal: unknown;
      for (let i = 0; i < 10_000 && refusal === undefined; i++) {
        try {
          await stream.publish('t', Array.from({ length: 20 }, (_, j) => ({ key: `k${j}`, value, id: `r-${i}-${j}` })));
          acked += 20;
        } catch (e) {
          refusal = e;
        }
      }
      assert.ok(acked > 0, 'some publishes were stored first');
      assert.equal((refusal as { code?: string }).code, 'DW_STORAGE_FULL', `refused as DW_STORAGE_FULL, got ${String(refusal)}`);
      assert.equal((refusal as { status?: number }).status, 503);
      assert.equal((await stream.read('t', { limit: 1_000_000 })).length, acked, 'exactly what was acknowledged, nothing of the refused publish');

      db.pragma('max_page_count = 1073741823'); // space freed
      const acks = await stream.publish('t', [{ key: 'k0', value, id: 'after' }]);
      assert.equal(acks[0]!.duplicate, false);
      assert.equal((await stream.read('t', { limit: 1_000_000 })).length, acked + 1, 'publishing resumed');
      assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
    } finally {
      await stream.close();
    }
  });
});
