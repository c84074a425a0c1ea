/**
 * SQLite-specific behaviour: the openStream URL forms, several connections on one file (as several processes would
 * have), dedup across connections and reopens, in-process wakeups across Stream instances.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { type Stream } from '../../src/stream/index.ts';
import { tempDir } from '../../src/testkit/index.ts';
import { openStream, SqliteStream } from '../../src/backend/index.ts';

const enc = new TextEncoder();

describe('sqlite stream specifics', () => {
  const tmp = tempDir('dw-stream-sq-');
  const open: Stream[] = [];
  const track = <T extends Stream>(s: T): T => { open.push(s); return s; };
  after(async () => {
    for (const s of open) await s.close();
    tmp.cleanup();
  });

  it('opens <dataDir>/stream.db for "sqlite" and an absolute file for "sqlite:/path"', async () => {
    const dataDir = path.join(tmp.dir, 'data');
    const a = track(await openStream('sqlite', { dataDir }));
    assert.ok(existsSync(path.join(dataDir, 'stream.db')));
    assert.equal(a.name, `sqlite:${path.join(dataDir, 'stream.db')}`);
    const file = path.join(tmp.dir, 'elsewhere', 'events.db');
    const b = track(await openStream(`sqlite:${file}`, { dataDir, sync: 'full' }));
    assert.ok(existsSync(file));
    await b.ensureTopic('t', { partitions: 1 });
    assert.equal((await b.publish('t', [{ key: 'k', value: enc.encode('v') }])).length, 1);
  });

  it('refuses relative sqlite paths, malformed nats:// and kafka:// lists and unknown schemes with DW_CONFIG_INVALID', async () => {
    // nats://host:port and kafka://host:port themselves are opened by NatsStream and KafkaStream (their own test files).
    for (const url of ['sqlite:relative.db', 'nats://', 'nats://a:4222,,b:4222', 'nats://a:4222/path', 'kafka://', 'kafka://a:9092/path', 'kafka://user@a:9092', 'redis://broker:6379']) {
      await assert.rejects(openStream(url, { dataDir: tmp.dir }), (e: unknown) => {
        assert.equal((e as { code?: string }).code, 'DW_CONFIG_INVALID', url);
        return true;
      });
    }
  });

  it('de-duplicates ids published through different connections and after a reopen', async () => {
    const file = path.join(tmp.dir, 'dedup.db');
    const a = track(await SqliteStream.open(file));
    const b = track(await SqliteStream.open(file));
    await a.ensureTopic('reports', { partitions: 4, duplicateWindowMs: 60_000 });
    const ids = Array.from({ length: 200 }, (_, i) => `drone-${i % 13}:${1_700_000_000_000 + i}`);
    const rec = (id: string) => ({ key: id.split(':')[0]!, value: enc.encode(id), id });
    // Interleave both connections so that each has to see the other's appends.
    const acks = await Promise.all(ids.map((id, i) => ((i % 2 === 0) ? a : b).publish('reports', [rec(id)])));
    assert.ok(acks.every(([x]) => !x!.duplicate));
    const again = await Promise.all(ids.map((id, i) => ((i % 2 === 0) ? b : a).publish('reports', [rec(id)])));
    for (const [i, [x]] of again.entries()) assert.deepEqual(x, { ...acks[i]![0]!, duplicate: true }, ids[i]);
    await a.close();
    const c = track(await SqliteStream.open(file));
    const afterReopen = await c.publish('reports', ids.slice(0, 20).map(rec));
    for (const [i, x] of afterReopen.entries()) assert.deepEqual(x, { ...acks[i]![0]!, duplicate: true });
    assert.equal((await c.read('reports', { limit: 10_000 })).length, ids.length);
  });

  it('wakes a poll in the same process when another Stream instance on the file publishes', async () => {
    const file = path.join(tmp.dir, 'wake.db');
    const a = track(await SqliteStream.open(file, { fallbackPollMs: 5000 }));
    const b = track(await SqliteStream.open(file));
    await b.ensureTopic('t', { partitions: 2 });
    const c = await a.consumer({ topic: 't', group: 'g' });
    const t0 = Date.now();
    const waiting = c.poll({ waitMs: 4000 });
    setTimeout(() => void b.publish('t', [{ key: 'k', value: enc.encode('v') }]), 50);
    const got = await waiting;
    assert.equal(got.length, 1);
    // The fallback timer is 5 s here, so only the in-process notifier can have woken it this early.
    assert.ok(Date.now() - t0 < 3000, `woke after ${Date.now() - t0} ms`);
    await c.close();
  });

  it('lists group members and owners, and a closed consumer leaves the group', async () => {
    const s = track(await SqliteStream.open(path.join(tmp.dir, 'describe.db')));
    await s.ensureTopic('t', { partitions: 3 });
    const c = await s.consumer({ topic: 't', group: 'g', memberId: 'only' });
    assert.deepEqual(await s.describeGroup('t', 'g'), { members: ['only'], owners: ['only', 'only', 'only'] });
    await c.close();
    assert.deepEqual(await s.describeGroup('t', 'g'), { members: [], owners: [null, null, null] });
    await assert.rejects(c.poll(), (e: unknown) => (e as { code?: string }).code === 'DW_STREAM_CLOSED');
  });

  it('fences a member whose lease expired: its commit is refused before it has even noticed', async () => {
    const file = path.join(tmp.dir, 'fence.db');
    const s1 = track(await SqliteStream.open(file));
    const s2 = track(await SqliteStream.open(file));
    await s1.ensureTopic('t', { partitions: 2 });
    const a = await s1.consumer({ topic: 't', group: 'g', memberId: 'a', sessionTimeoutMs: 300 });
    const acks = await s1.publish('t', Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: enc.encode(`v${i}`) })));
    const polled = await a.poll({ waitMs: 0 });
    assert.equal(polled.length, acks.length);
    const b = await s2.consumer({ topic: 't', group: 'g', memberId: 'b', sessionTimeoutMs: 300 });
    // Block the event loop past a's lease: no timer of a can run.
    const until = Date.now() + 450;
    while (Date.now() < until) { /* a is frozen, like a paused process */ }
    // b's next poll renews its own lease, reaps a and takes both partitions (no macrotask runs in between).
    const redelivered = await b.poll({ waitMs: 0, maxRecords: 100 });
    assert.deepEqual(b.assignment(), [0, 1]);
    assert.deepEqual(a.assignment(), [0, 1], 'a has not noticed yet');
    await assert.rejects(a.commit(polled), (e: unknown) => (e as { code?: string }).code === 'DW_STREAM_NOT_OWNER');
    assert.deepEqual(a.assignment(), [], 'a refused commit drops the lost partitions');
    assert.deepEqual((await s1.lag('t', 'g')).map((l) => l.committed), [-1, -1]);
    assert.equal(redelivered.length, acks.length, 'b got the uncommitted records');
    await a.close();
    await b.close();
  });
});
