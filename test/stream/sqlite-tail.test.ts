/**
 * The SQLite stream's tail (src/backend/sqlite/stream/rows.ts): consumers of the publishing connection read what it
 * just committed from memory, decoded once and shared, and everything else (other connections' batches, old batches)
 * from the table, with the same records either way.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { SqliteStream } from '../../src/backend/index.ts';
import type { PartitionStmts } from '../../src/backend/sqlite/stream/catalog.ts';
import { keepTail, TAIL_MAX_AGE_MS, TAIL_RECORDS } from '../../src/backend/sqlite/stream/rows.ts';
import { encodeBatch } from '../../src/stream/batch-codec.ts';
import type { StreamConsumer, StreamRecord } from '../../src/stream/index.ts';
import { tempDir } from '../../src/testkit/index.ts';

const enc = new TextEncoder();
const rec = (i: number, tag: string) => ({ key: `drone-${i % 7}`, value: enc.encode(`{"n":${i},"by":"${tag}"}`), id: `${tag}-${i}`, headers: i % 3 === 0 ? { h: `x${i}` } : undefined });

async function drain(c: StreamConsumer, want: number): Promise<StreamRecord[]> {
  const out: StreamRecord[] = [];
  while (out.length < want) {
    const got = await c.poll({ maxRecords: 500, waitMs: 200 });
    if (got.length === 0) break;
    out.push(...got);
  }
  return out;
}

const plain = (r: StreamRecord) => ({ partition: r.partition, offset: r.offset, key: r.key, value: Buffer.from(r.value).toString(), headers: r.headers, timestamp: r.timestamp });

describe('sqlite stream: the tail of the publishing connection', () => {
  const tmp = tempDir('dw-stream-tail-');
  const streams: SqliteStream[] = [];
  after(async () => {
    for (const s of streams) await s.close();
    tmp.cleanup();
  });
  const open = async (file: string) => {
    const s = await SqliteStream.open(file);
    streams.push(s);
    return s;
  };

  it('hands the same decoded records to every consumer of the connection, equal to what another connection reads from the table', async () => {
    const file = path.join(tmp.dir, 'a.db');
    const a = await open(file);
    const other = await open(file);
    await a.ensureTopic('t', { partitions: 2 });
    const alerts = await a.consumer({ topic: 't', group: 'alerts' });
    const map = await a.consumer({ topic: 't', group: 'map' });
    const elsewhere = await other.consumer({ topic: 't', group: 'archive' });
    await alerts.poll({ maxRecords: 1, waitMs: 0 });
    await map.poll({ maxRecords: 1, waitMs: 0 });
    await elsewhere.poll({ maxRecords: 1, waitMs: 0 });
    const sent = Array.from({ length: 300 }, (_, i) => rec(i, 'a'));
    for (let i = 0; i < sent.length; i += 50) await a.publish('t', sent.slice(i, i + 50));
    const [x, y, z] = [await drain(alerts, 300), await drain(map, 300), await drain(elsewhere, 300)];
    assert.equal(x.length, 300);
    // One decode shared by the connection's consumers (each decoding the row again would give equal, distinct objects).
    for (let i = 0; i < x.length; i++) assert.equal(x[i], y[i], `record ${i} decoded twice`);
    // The other connection read the table: the same records.
    const byPos = (r: StreamRecord[]) => r.map(plain).sort((p, q) => p.partition - q.partition || p.offset - q.offset);
    assert.deepEqual(byPos(x), byPos(z));
  });

  it('reads a batch another connection appended in between from the table, in offset order', async () => {
    const file = path.join(tmp.dir, 'b.db');
    const a = await open(file);
    const b = await open(file);
    await a.ensureTopic('t', { partitions: 1 });
    const c = await a.consumer({ topic: 't', group: 'g' });
    await c.poll({ maxRecords: 1, waitMs: 0 });
    await a.publish('t', [rec(0, 'a'), rec(1, 'a')]);
    await b.publish('t', [rec(2, 'b'), rec(3, 'b'), rec(4, 'b')]);
    await a.publish('t', [rec(5, 'a')]);
    const got = await drain(c, 6);
    assert.deepEqual(got.map((r) => [r.offset, Buffer.from(r.value).toString()]), [0, 1, 2, 3, 4, 5].map((n, i) => [i, `{"n":${n},"by":"${n >= 2 && n <= 4 ? 'b' : 'a'}"}`]));
  });

  it('keeps about TAIL_RECORDS records a partition: a consumer further behind reads the table, and gets every record', async () => {
    const file = path.join(tmp.dir, 'c.db');
    const a = await open(file);
    await a.ensureTopic('t', { partitions: 1 });
    const c = await a.consumer({ topic: 't', group: 'g' });
    await c.poll({ maxRecords: 1, waitMs: 0 });
    const n = TAIL_RECORDS * 2 + 100;
    for (let i = 0; i < n; i += 500) await a.publish('t', Array.from({ length: Math.min(500, n - i) }, (_, k) => rec(i + k, 'a')));
    const got = await drain(c, n);
    assert.deepEqual(got.map((r) => r.offset), Array.from({ length: n }, (_, i) => i));
    assert.ok(got.every((r, i) => Buffer.from(r.value).toString() === `{"n":${i},"by":"a"}`));
  });

  it('a publish that fails leaves nothing in the tail', async () => {
    const file = path.join(tmp.dir, 'd.db');
    const a = await open(file);
    await a.ensureTopic('t', { partitions: 1 });
    const c = await a.consumer({ topic: 't', group: 'g' });
    await c.poll({ maxRecords: 1, waitMs: 0 });
    await a.publish('t', [rec(0, 'a')]);
    // Another connection holds the write lock past the busy timeout: the publish fails, its transaction is rolled back.
    const locker = await open(file);
    const db = (locker as unknown as { db: { prepare(sql: string): { run(): void } } }).db;
    db.prepare('BEGIN IMMEDIATE').run();
    const failing = a.publish('t', [rec(1, 'a')]);
    await assert.rejects(failing);
    db.prepare('ROLLBACK').run();
    await a.publish('t', [rec(2, 'a')]);
    const got = await drain(c, 2);
    assert.deepEqual(got.map((r) => [r.offset, Buffer.from(r.value).toString()]), [[0, '{"n":0,"by":"a"}'], [1, '{"n":2,"by":"a"}']]);
  });

  it('holds no batch older than TAIL_MAX_AGE_MS once another is kept: a quiet partition does not keep minutes of records', () => {
    const stmts = { tail: [], tailHeld: 0 } as unknown as PartitionStmts;
    const t0 = 1_000_000;
    const step = TAIL_MAX_AGE_MS / 3;
    // Ten small batches, far under TAIL_RECORDS: only their age can drop them.
    for (let i = 0; i < 10; i++) keepTail(stmts, { base: i * 3, last: i * 3 + 2, ts: t0 + i * step, data: Buffer.alloc(1) }, t0 + i * step);
    assert.deepEqual(stmts.tail.map((b) => (b.ts - t0) / step), [6, 7, 8, 9]);
    assert.equal(stmts.tailHeld, 12);
  });

  it('stores a small batch in a buffer of its own, not a slice of a shared pool slab the tail would keep alive', () => {
    const data = encodeBatch([{ key: 'd1', id: 'r1', headers: null, value: enc.encode('{"a":1}') }]);
    assert.ok(data.byteLength < 100);
    assert.equal(data.buffer.byteLength, data.byteLength);
  });
});
