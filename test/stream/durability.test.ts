/**
 * A publisher process killed with SIGKILL mid-stream loses no acknowledged record (synchronous=NORMAL in WAL mode).
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import Database from 'better-sqlite3';
import { tempDir } from '../../src/testkit/index.ts';
import { spawnFixture, stop, waitUntil, type Child } from './child.ts';
import { SqliteStream } from '../../src/backend/index.ts';

describe('sqlite stream: durability', () => {
  const tmp = tempDir('dw-stream-dur-');
  const children: Child[] = [];
  after(async () => {
    for (const c of children) await stop(c);
    tmp.cleanup();
  });

  for (const batch of [1, 50]) {
    it(`keeps every acknowledged record after kill -9 of the publisher (batches of ${batch})`, { timeout: 30_000 }, async () => {
      const file = path.join(tmp.dir, `durability-${batch}.db`);
      const topic = 'reports';
      const setup = await SqliteStream.open(file);
      await setup.ensureTopic(topic, { partitions: 4, duplicateWindowMs: 60_000 });
      await setup.close();

      const child = spawnFixture('publisher.ts', [file, topic, String(batch)]);
      children.push(child);
      await waitUntil('the publisher to acknowledge 2000 records', () => child.lines.length >= 2000, 20_000);
      child.proc.kill('SIGKILL');
      assert.equal((await child.exited).signal, 'SIGKILL');

      const acked = child.lines.map((l) => l.split(' ')).filter((f) => f.length === 3).map(([p, o, id]) => ({ partition: Number(p), offset: Number(o), id: id! }));
      assert.ok(acked.length >= 2000);

      const raw = new Database(file, { readonly: true });
      assert.equal(raw.pragma('integrity_check', { simple: true }), 'ok');
      raw.close();

      const stream = await SqliteStream.open(file);
      try {
        const stored = new Map<string, string>();
        for (let p = 0; p < 4; p++) {
          for (const r of await stream.read(topic, { partition: p, limit: 1_000_000 })) stored.set(`${r.partition}:${r.offset}`, Buffer.from(r.value).toString());
        }
        assert.ok(stored.size >= acked.length, `${stored.size} records stored, ${acked.length} acknowledged`);
        for (const a of acked) {
          assert.equal(stored.get(`${a.partition}:${a.offset}`), `value-${a.id.slice(2)}`, `acknowledged record ${a.id} at ${a.partition}:${a.offset}`);
        }
        // Offsets continue after the last stored record: nothing acknowledged gets overwritten by a later publish.
        const [next] = await stream.publish(topic, [{ key: 'drone-0', value: Buffer.from('after') }]);
        const highest = Math.max(...[...stored.keys()].filter((k) => k.startsWith(`${next!.partition}:`)).map((k) => Number(k.split(':')[1])));
        assert.equal(next!.offset, highest + 1);
      } finally {
        await stream.close();
      }
    });
  }
});
