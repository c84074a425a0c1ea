/**
 * Saved queries, one suite for both stores: SQLite analysis.db and the shared bucket (here on log-backed buckets over
 * the embedded stream, as the Kafka backend keeps them). Two stores stand for two API processes of one deployment.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { KvSavedQueryStore, LogKvStore, openSavedQueryStore, SqliteStream } from '../../src/backend/index.ts';
import type { SavedQueryStore } from '../../src/analysis/index.ts';
import { isDwError } from '../../src/errors/index.ts';
import { tempDir } from '../../src/testkit/index.ts';

const code = (c: string) => (e: unknown): boolean => isDwError(e) && e.code === c;

function savedQueryConformance(name: string, open: (dir: string) => Promise<SavedQueryStore>): void {
  describe(`saved queries: ${name}`, { timeout: 60_000 }, () => {
    it('saves per tenant, refuses a taken name unless replacing, deletes, and every process sees the same queries', async () => {
      const tmp = tempDir('dw-saved-');
      const a = await open(tmp.dir);
      const b = await open(tmp.dir);
      try {
        const q = await a.save('paris', { name: 'busy-drones', sql: 'SELECT drone_id FROM reports', description: 'd' });
        assert.equal(q.tenant, 'paris');
        await assert.rejects(Promise.resolve().then(() => a.save('paris', { name: 'busy-drones', sql: 'SELECT 1' })), code('DW_SAVED_QUERY_EXISTS'));
        await assert.rejects(Promise.resolve().then(() => a.save('paris', { name: 'Bad Name', sql: 'SELECT 1' })), code('DW_REQUEST_INVALID'));
        const replaced = await a.save('paris', { name: 'busy-drones', sql: 'SELECT 2' }, { replace: true });
        assert.equal(replaced.sql, 'SELECT 2');
        assert.equal(replaced.createdAt, q.createdAt, 'replacing keeps the creation time');
        await a.save('lyon', { name: 'busy-drones', sql: 'SELECT 3' });
        assert.deepEqual(a.list('paris').map((x) => x.sql), ['SELECT 2'], 'one tenant lists its own');
        assert.throws(() => a.get('marseille', 'busy-drones'), code('DW_SAVED_QUERY_NOT_FOUND'));
        const until = Date.now() + 5000;
        while (b.list('paris').length === 0 && Date.now() < until) await sleep(10);
        assert.equal(b.get('paris', 'busy-drones').sql, 'SELECT 2', 'another process sees it');
        await b.delete('paris', 'busy-drones');
        await assert.rejects(Promise.resolve().then(() => b.delete('paris', 'busy-drones')), code('DW_SAVED_QUERY_NOT_FOUND'));
        while (a.list('paris').length > 0 && Date.now() < until + 5000) await sleep(10);
        assert.equal(a.list('paris').length, 0, 'the first process sees the delete');
        assert.equal(a.get('lyon', 'busy-drones').sql, 'SELECT 3', 'another tenant\'s query of the same name is untouched');
      } finally {
        await a.close();
        await b.close();
        tmp.cleanup();
      }
    });
  });
}

savedQueryConformance('sqlite', async (dir) => openSavedQueryStore(dir));
savedQueryConformance('shared bucket', async (dir) => KvSavedQueryStore.open(new LogKvStore(await SqliteStream.open(path.join(dir, 'stream.db')), { ownsStream: true })));
