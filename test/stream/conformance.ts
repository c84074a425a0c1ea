/**
 * The stream conformance suite: what every Stream implementation must do, checked only through the Stream interface,
 * so the same suite runs unchanged against the embedded SQLite log and NATS JetStream. It does not assume contiguous
 * offsets (only strictly increasing ones within a partition) and uses a fresh topic and group names in every test.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { partitionOf, type OutgoingRecord, type PublishAck, type Stream, type StreamRecord } from '../../src/stream/index.ts';
import { groupLifecycleConformance } from './conformance-groups.ts';
import { assertIncreasingPerPartition, dec, drain, drainPair, enc, expectCode, pos, rec, settle, text, uniq } from './conformance-helpers.ts';

export interface StreamFixture {
  stream: Stream;
  /** Closes nothing itself: the test closes `stream` first, then calls reopen to open the same data again. */
  reopen?: () => Promise<Stream>;
  /** Closes whatever is still open and removes the data. */
  cleanup: () => Promise<void>;
}

export type StreamFactory = () => Promise<StreamFixture>;

const TEST_TIMEOUT = 20_000;
/**
 * node:test counts a suite's timeout over all of its tests, and cancels the ones still to run when it expires (a
 * failure that the summary counts as "cancelled", not "failed"). The suite has 30 tests: a budget of 60 s for all of
 * them (this was TEST_TIMEOUT * 3) was 72% used by Kafka with 3 nodes on a loaded machine and cancelled 15 tests in a
 * CI run. Each test keeps its own TEST_TIMEOUT; the suite's is only a guard against a hang.
 */
const SUITE_TIMEOUT = 15 * 60_000;

export function runStreamConformance(name: string, factory: StreamFactory): void {
  async function withStream(fn: (f: StreamFixture) => Promise<void>): Promise<void> {
    const f = await factory();
    try {
      await fn(f);
    } finally {
      await f.cleanup();
    }
  }

  describe(`stream conformance: ${name}`, { timeout: SUITE_TIMEOUT }, () => {
    it('creates topics idempotently and keeps the partition count', { timeout: TEST_TIMEOUT }, () => withStream(async ({ stream }) => {
      const t = uniq('topic');
      await stream.ensureTopic(t, { partitions: 3 });
      await stream.ensureTopic(t, { partitions: 3 });
      await stream.ensureTopic(t, { partitions: 5 });
      assert.equal(await stream.partitionsOf(t), 3);
      const other = uniq('other');
      await stream.ensureTopic(other, { partitions: 1 });
      assert.equal(await stream.partitionsOf(other), 1);
      await expectCode(stream.partitionsOf(uniq('missing')), 'DW_STREAM_TOPIC_UNKNOWN', 'partitionsOf unknown topic');
      await expectCode(stream.publish(uniq('missing'), [rec('k', 'v')]), 'DW_STREAM_TOPIC_UNKNOWN', 'publish to unknown topic');
      assert.ok(stream.name.length > 0);
    }));

    it('reads back values, keys and headers exactly', { timeout: TEST_TIMEOUT }, () => withStream(async ({ stream }) => {
      const t = uniq('exact');
      await stream.ensureTopic(t, { partitions: 1 });
      const binary = new Uint8Array(256).map((_, i) => i);
      const records: OutgoingRecord[] = [
        { key: 'drone-1', value: binary },
        { key: 'drone-2', value: new Uint8Array(0) },
        { key: 'drone-3', value: enc.encode('{"é":"ü","n":1}'), headers: { 'content-type': 'application/json', 'x-trace': 'abc-123' } },
        { key: 'drone-é', value: binary.subarray(10, 20), headers: {} },
      ];
      const before = Date.now();
      const acks = await stream.publish(t, records);
      const after = Date.now();
      const got = await stream.read(t);
      assert.equal(got.length, records.length);
      for (const [i, r] of got.entries()) {
        const sent = records[i]!;
        assert.equal(r.topic, t);
        assert.equal(r.key, sent.key);
        assert.deepEqual(new Uint8Array(r.value), new Uint8Array(sent.value), `value of record ${i}`);
        assert.deepEqual({ ...r.headers }, sent.headers ?? {}, `headers of record ${i}`);
        assert.equal(r.partition, 0);
        assert.equal(r.offset, acks[i]!.offset);
        assert.equal(acks[i]!.duplicate, false);
        assert.ok(r.timestamp >= before - 1000 && r.timestamp <= after + 1000, `timestamp ${r.timestamp} near publish time ${before}..${after}`);
      }
      assertIncreasingPerPartition(got);
    }));

    it('keeps each key in its partition, in publish order, and spreads keys over partitions', { timeout: TEST_TIMEOUT }, () => withStream(async ({ stream }) => {
      const t = uniq('order');
      const partitions = 4;
      await stream.ensureTopic(t, { partitions });
      const keys = Array.from({ length: 20 }, (_, i) => `drone-${i}`);
      const acks: PublishAck[] = [];
      for (let round = 0; round < 3; round++) {
        const batch: OutgoingRecord[] = [];
        for (let seq = round * 5; seq < round * 5 + 5; seq++) for (const k of keys) batch.push(rec(k, `${k}/${seq}`));
        acks.push(...(await stream.publish(t, batch)));
      }
      assert.equal(acks.length, 300);
      const all = await stream.read(t, { limit: 1000 });
      assert.equal(all.length, 300);
      assertIncreasingPerPartition(all);
      const byKey = new Map<string, StreamRecord[]>();
      for (const r of all) {
        assert.equal(r.partition, partitionOf(r.key, partitions), `record of ${r.key} in partition ${r.partition}`);
        byKey.set(r.key, [...(byKey.get(r.key) ?? []), r]);
      }
      for (const k of keys) {
        const seqs = byKey.get(k)!.sort((a, b) => a.offset - b.offset).map((r) => Number(text(r).split('/')[1]));
        assert.deepEqual(seqs, Array.from({ length: 15 }, (_, i) => i), `order of ${k}`);
      }
      const expected = new Set(keys.map((k) => partitionOf(k, partitions)));
      assert.ok(expected.size > 1, 'the keys of this test hash to several partitions');
      assert.deepEqual(new Set(all.map((r) => r.partition)), expected);
    }));

    it('acknowledges a batch with one ack per record, in order', { timeout: TEST_TIMEOUT }, () => withStream(async ({ stream }) => {
      const t = uniq('batch');
      await stream.ensureTopic(t, { partitions: 3 });
      const batch = Array.from({ length: 50 }, (_, i) => rec(`k${i % 7}`, `v${i}`));
      const acks = await stream.publish(t, batch);
      assert.equal(acks.length, batch.length);
      const last = new Map<number, number>();
      for (const [i, a] of acks.entries()) {
        assert.equal(a.partition, partitionOf(batch[i]!.key, 3));
        assert.equal(a.duplicate, false);
        const prev = last.get(a.partition);
        if (prev !== undefined) assert.ok(a.offset > prev, 'offsets increase within a partition in batch order');
        last.set(a.partition, a.offset);
      }
      for (let p = 0; p < 3; p++) {
        const read = await stream.read(t, { partition: p });
        assert.deepEqual(read.map((r) => r.offset), acks.filter((a) => a.partition === p).map((a) => a.offset));
        assert.deepEqual(read.map(text), batch.filter((_, i) => acks[i]!.partition === p).map((r) => dec.decode(r.value)));
      }
      assert.deepEqual(await stream.publish(t, []), []);
    }));

    it('de-duplicates by id within a batch and across publishes', { timeout: TEST_TIMEOUT }, () => withStream(async ({ stream }) => {
      const t = uniq('dedup');
      await stream.ensureTopic(t, { partitions: 2, duplicateWindowMs: 60_000 });
      const first = await stream.publish(t, [
        rec('a', 'x-1', { id: 'id-x' }),
        rec('b', 'y-1', { id: 'id-y' }),
        rec('a', 'x-2', { id: 'id-x' }),
      ]);
      assert.equal(first[0]!.duplicate, false);
      assert.equal(first[1]!.duplicate, false);
      assert.deepEqual(first[2], { partition: first[0]!.partition, offset: first[0]!.offset, duplicate: true });
      const again = await stream.publish(t, [rec('b', 'y-2', { id: 'id-y' }), rec('c', 'z', { id: 'id-z' })]);
      assert.deepEqual(again[0], { partition: first[1]!.partition, offset: first[1]!.offset, duplicate: true });
      assert.equal(again[1]!.duplicate, false);
      const plain = await stream.publish(t, [rec('a', 'no-id'), rec('a', 'no-id')]);
      assert.ok(plain.every((a) => !a.duplicate));
      assert.notEqual(plain[0]!.offset, plain[1]!.offset);
      const all = await stream.read(t);
      assert.deepEqual(all.map(text).sort(), ['no-id', 'no-id', 'x-1', 'y-1', 'z']);
    }));

    it('appends a record again once its id is older than the duplicate window', { timeout: TEST_TIMEOUT }, () => withStream(async ({ stream }) => {
      const t = uniq('window');
      await stream.ensureTopic(t, { partitions: 1, duplicateWindowMs: 300 });
      const [a] = await stream.publish(t, [rec('k', 'first', { id: 'same' })]);
      const [b] = await stream.publish(t, [rec('k', 'second', { id: 'same' })]);
      assert.equal(b!.duplicate, true);
      await sleep(800);
      const [c] = await stream.publish(t, [rec('k', 'third', { id: 'same' })]);
      assert.equal(c!.duplicate, false);
      assert.ok(c!.offset > a!.offset);
      assert.deepEqual((await stream.read(t)).map(text), ['first', 'third']);
    }));

    it('gives a lone member every partition, then splits them fairly and disjointly with a second member', { timeout: TEST_TIMEOUT }, () => withStream(async ({ stream }) => {
      const t = uniq('group');
      const g = uniq('g');
      await stream.ensureTopic(t, { partitions: 4 });
      const a = await stream.consumer({ topic: t, group: g, sessionTimeoutMs: 5000, memberId: 'member-a' });
      await settle([a], () => a.assignment().length === 4);
      assert.deepEqual(a.assignment(), [0, 1, 2, 3]);
      assert.equal(a.memberId, 'member-a');
      assert.equal(a.topic, t);
      assert.equal(a.group, g);
      const b = await stream.consumer({ topic: t, group: g, sessionTimeoutMs: 5000, memberId: 'member-b' });
      await settle([a, b], () => a.assignment().length === 2 && b.assignment().length === 2);
      assert.deepEqual([...a.assignment(), ...b.assignment()].sort(), [0, 1, 2, 3]);
      // Fencing: a member cannot commit a partition it does not own.
      await expectCode(a.commit([{ partition: b.assignment()[0]!, offset: 0 }]), 'DW_STREAM_NOT_OWNER', 'commit of a partition owned by another member');

      const keys = Array.from({ length: 40 }, (_, i) => `drone-${i}`);
      const acks = await stream.publish(t, keys.flatMap((k) => [rec(k, `${k}/0`), rec(k, `${k}/1`), rec(k, `${k}/2`)]));
      const [gotA, gotB] = await drainPair(a, b, acks.length);
      assert.equal(gotA.length + gotB.length, acks.length);
      const seen = new Set<string>();
      for (const r of [...gotA, ...gotB]) {
        assert.ok(!seen.has(pos(r)), `record ${pos(r)} delivered twice`);
        seen.add(pos(r));
      }
      assert.deepEqual(seen, new Set(acks.map(pos)));
      assert.ok(gotA.every((r) => a.assignment().includes(r.partition)));
      assert.ok(gotB.every((r) => b.assignment().includes(r.partition)));
      assertIncreasingPerPartition(gotA);
      assertIncreasingPerPartition(gotB);
      assert.deepEqual(await a.poll({ waitMs: 50 }), []);
      assert.ok((await stream.lag(t, g)).every((l) => l.lag === 0));

      // A member that closes hands its partitions over at once (well before its session would time out).
      await a.close();
      await settle([b], () => b.assignment().length === 4, 5000);
      const [late] = await stream.publish(t, [rec('drone-late', 'late')]);
      const got = await drain(b, 1);
      assert.deepEqual(got.map(pos), [pos(late!)]);
      await b.close();
    }));

    it('redelivers uncommitted records to the next member after a close, and not committed ones', { timeout: TEST_TIMEOUT }, () => withStream(async ({ stream }) => {
      const t = uniq('alo');
      const g = uniq('g');
      await stream.ensureTopic(t, { partitions: 1 });
      const acks = await stream.publish(t, Array.from({ length: 10 }, (_, i) => rec('k', `v${i}`)));
      const a = await stream.consumer({ topic: t, group: g });
      const gotA = await drain(a, 10, { commit: false });
      assert.deepEqual(gotA.map(text), Array.from({ length: 10 }, (_, i) => `v${i}`));
      await a.commit([gotA[3]!]);
      await a.close();
      const b = await stream.consumer({ topic: t, group: g });
      const gotB = await drain(b, 6);
      assert.deepEqual(gotB.map((r) => r.offset), acks.slice(4).map((a) => a.offset));
      assert.deepEqual(await b.poll({ waitMs: 50 }), []);
      await b.close();
    }));

    it('delivers every record to each of two groups', { timeout: TEST_TIMEOUT }, () => withStream(async ({ stream }) => {
      const t = uniq('groups');
      await stream.ensureTopic(t, { partitions: 3 });
      const acks = await stream.publish(t, Array.from({ length: 30 }, (_, i) => rec(`k${i}`, `v${i}`)));
      const g1 = await stream.consumer({ topic: t, group: uniq('g1') });
      const g2 = await stream.consumer({ topic: t, group: uniq('g2') });
      const [r1, r2] = [await drain(g1, 30), await drain(g2, 30)];
      const want = acks.map(pos).sort();
      assert.deepEqual(r1.map(pos).sort(), want);
      assert.deepEqual(r2.map(pos).sort(), want);
      await g1.close();
      await g2.close();
    }));

    it('starts a new group at earliest, latest, an offset or a time', { timeout: TEST_TIMEOUT }, () => withStream(async ({ stream }) => {
      const t = uniq('start');
      await stream.ensureTopic(t, { partitions: 1 });
      const early = await stream.publish(t, Array.from({ length: 5 }, (_, i) => rec('k', `early${i}`)));
      await sleep(60);
      const middle = Date.now();
      await sleep(60);
      const late = await stream.publish(t, Array.from({ length: 5 }, (_, i) => rec('k', `late${i}`)));
      const all = [...early, ...late];

      const fromEarliest = await stream.consumer({ topic: t, group: uniq('g'), start: 'earliest' });
      assert.deepEqual((await drain(fromEarliest, 10)).map((r) => r.offset), all.map((a) => a.offset));
      const fromOffset = await stream.consumer({ topic: t, group: uniq('g'), start: { offset: early[3]!.offset } });
      assert.deepEqual((await drain(fromOffset, 7)).map((r) => r.offset), all.slice(3).map((a) => a.offset));
      const fromTime = await stream.consumer({ topic: t, group: uniq('g'), start: { time: middle } });
      assert.deepEqual((await drain(fromTime, 5)).map(text), late.map((_, i) => `late${i}`));
      for (const c of [fromEarliest, fromOffset, fromTime]) {
        assert.deepEqual(await c.poll({ waitMs: 30 }), [], 'nothing more');
        await c.close();
      }
      const fromLatest = await stream.consumer({ topic: t, group: uniq('g'), start: 'latest' });
      assert.deepEqual(await fromLatest.poll({ waitMs: 100 }), []);
      const newer = await stream.publish(t, [rec('k', 'new0'), rec('k', 'new1')]);
      assert.deepEqual((await drain(fromLatest, 2)).map((r) => r.offset), newer.map((a) => a.offset));
      assert.deepEqual(await fromLatest.poll({ waitMs: 30 }), [], 'nothing more');
      await fromLatest.close();
    }));

    it('seeks an owned partition to replay from an offset, a time, the start or the end', { timeout: TEST_TIMEOUT }, () => withStream(async ({ stream }) => {
      const t = uniq('seek');
      await stream.ensureTopic(t, { partitions: 1 });
      const first = await stream.publish(t, Array.from({ length: 6 }, (_, i) => rec('k', `a${i}`)));
      await sleep(60);
      const middle = Date.now();
      await sleep(60);
      const second = await stream.publish(t, Array.from({ length: 4 }, (_, i) => rec('k', `b${i}`)));
      const all = [...first, ...second];
      const c = await stream.consumer({ topic: t, group: uniq('g') });
      assert.equal((await drain(c, 10)).length, 10);
      await c.seek(0, { offset: all[5]!.offset });
      assert.deepEqual((await drain(c, 5)).map((r) => r.offset), all.slice(5).map((a) => a.offset));
      await c.seek(0, 'earliest');
      assert.deepEqual((await drain(c, 10)).map((r) => r.offset), all.map((a) => a.offset));
      await c.seek(0, { time: middle });
      assert.deepEqual((await drain(c, 4)).map(text), ['b0', 'b1', 'b2', 'b3']);
      await c.seek(0, 'latest');
      assert.deepEqual(await c.poll({ waitMs: 50 }), []);
      await c.close();
    }));

    it('reads one or all partitions from a position, up to a limit', { timeout: TEST_TIMEOUT }, () => withStream(async ({ stream }) => {
      const t = uniq('read');
      await stream.ensureTopic(t, { partitions: 2 });
      const batch = Array.from({ length: 30 }, (_, i) => rec(`key-${i % 6}`, `v${i}`));
      const acks = await stream.publish(t, batch);
      const p = acks[0]!.partition;
      const ofP = acks.filter((a) => a.partition === p);
      const onlyP = await stream.read(t, { partition: p });
      assert.ok(onlyP.every((r) => r.partition === p));
      assert.deepEqual(onlyP.map((r) => r.offset), ofP.map((a) => a.offset));
      const window = await stream.read(t, { partition: p, from: { offset: ofP[2]!.offset }, limit: 3 });
      assert.deepEqual(window.map((r) => r.offset), ofP.slice(2, 5).map((a) => a.offset));
      const limited = await stream.read(t, { limit: 5 });
      assert.equal(limited.length, 5);
      assertIncreasingPerPartition(limited);
      assert.equal((await stream.read(t, { limit: 1000 })).length, 30);
      assert.deepEqual(await stream.read(t, { from: 'latest' }), []);
      assert.deepEqual(await stream.read(t, { partition: p, from: { time: Date.now() + 60_000 } }), []);
      const fromOwnTime = await stream.read(t, { partition: p, from: { time: onlyP[0]!.timestamp } });
      assert.equal(fromOwnTime[0]!.offset, onlyP[0]!.offset);
    }));

    it('reports lag per partition from the committed offset', { timeout: TEST_TIMEOUT }, () => withStream(async ({ stream }) => {
      const t = uniq('lag');
      const g = uniq('g');
      await stream.ensureTopic(t, { partitions: 1 });
      const acks = await stream.publish(t, Array.from({ length: 10 }, (_, i) => rec('k', `v${i}`)));
      const before = await stream.lag(t, g);
      assert.deepEqual(before, [{ partition: 0, committed: -1, end: acks[9]!.offset, lag: 10 }]);
      const c = await stream.consumer({ topic: t, group: g });
      const got = await drain(c, 10, { commit: false });
      await c.commit([got[3]!]);
      assert.deepEqual(await stream.lag(t, g), [{ partition: 0, committed: acks[3]!.offset, end: acks[9]!.offset, lag: 6 }]);
      await c.commit([got[9]!, got[5]!]);
      assert.deepEqual(await stream.lag(t, g), [{ partition: 0, committed: acks[9]!.offset, end: acks[9]!.offset, lag: 0 }]);
      await c.close();
      const empty = uniq('empty');
      await stream.ensureTopic(empty, { partitions: 2 });
      assert.deepEqual(await stream.lag(empty, g), [0, 1].map((partition) => ({ partition, committed: -1, end: -1, lag: 0 })));
    }));

    it('deletes records older than maxAgeMs, and a group behind them continues from the earliest kept', { timeout: TEST_TIMEOUT }, () => withStream(async ({ stream }) => {
      const t = uniq('age');
      const g = uniq('g');
      await stream.ensureTopic(t, { partitions: 2, retention: { maxAgeMs: 1000 } });
      const c = await stream.consumer({ topic: t, group: g });
      await stream.publish(t, Array.from({ length: 10 }, (_, i) => rec(`k${i}`, `old${i}`)));
      await sleep(1500);
      const fresh = await stream.publish(t, Array.from({ length: 5 }, (_, i) => rec(`k${i}`, `new${i}`)));
      await stream.enforceRetention();
      const kept = await stream.read(t, { limit: 1000 });
      assert.deepEqual(kept.map(pos).sort(), fresh.map(pos).sort());
      assert.deepEqual((await drain(c, 5)).map(text).sort(), ['new0', 'new1', 'new2', 'new3', 'new4']);
      assert.deepEqual(await c.poll({ waitMs: 30 }), []);
      await c.close();
    }));

    it('deletes the oldest records while the topic holds more than maxBytes', { timeout: TEST_TIMEOUT }, () => withStream(async ({ stream }) => {
      const t = uniq('size');
      await stream.ensureTopic(t, { partitions: 1, retention: { maxBytes: 2000 } });
      const acks: PublishAck[] = [];
      for (let b = 0; b < 5; b++) acks.push(...(await stream.publish(t, Array.from({ length: 10 }, (_, i) => ({ key: 'k', value: new Uint8Array(100).fill(b * 10 + i) })))));
      await stream.enforceRetention();
      const kept = await stream.read(t, { limit: 1000 });
      assert.ok(kept.length >= 1, 'the newest record is kept');
      assert.ok(kept.reduce((n, r) => n + r.value.byteLength, 0) <= 2000, `kept ${kept.length} records of 100 bytes under maxBytes 2000`);
      assert.deepEqual(kept.map((r) => r.offset), acks.slice(acks.length - kept.length).map((a) => a.offset), 'the kept records are the newest');
    }));

    it('waits in poll until a record is published, and returns [] after waitMs or on abort', { timeout: TEST_TIMEOUT }, () => withStream(async ({ stream }) => {
      const t = uniq('wait');
      await stream.ensureTopic(t, { partitions: 2 });
      const c = await stream.consumer({ topic: t, group: uniq('g') });
      let t0 = Date.now();
      assert.deepEqual(await c.poll({ waitMs: 150 }), []);
      assert.ok(Date.now() - t0 >= 140, `poll waited ${Date.now() - t0} ms of 150`);
      assert.deepEqual(await c.poll({ waitMs: 0 }), []);

      t0 = Date.now();
      const waiting = c.poll({ waitMs: 10_000 });
      await sleep(100);
      const [ack] = await stream.publish(t, [rec('wake', 'up')]);
      const got = await waiting;
      assert.deepEqual(got.map(pos), [pos(ack!)]);
      assert.ok(Date.now() - t0 < 5000, 'poll returned when the record arrived, not at waitMs');

      const ac = new AbortController();
      t0 = Date.now();
      setTimeout(() => ac.abort(), 50);
      assert.deepEqual(await c.poll({ waitMs: 10_000, signal: ac.signal }), []);
      assert.ok(Date.now() - t0 < 5000, 'an aborted poll returns at once');
      await c.close();
    }));

    it('rejects every operation once closed, and close is idempotent', { timeout: TEST_TIMEOUT }, () => withStream(async ({ stream }) => {
      const t = uniq('closed');
      await stream.ensureTopic(t, { partitions: 1 });
      const c = await stream.consumer({ topic: t, group: uniq('g') });
      await stream.close();
      await stream.close();
      const code = 'DW_STREAM_CLOSED';
      await expectCode(stream.publish(t, [rec('k', 'v')]), code, 'publish');
      await expectCode(stream.read(t), code, 'read');
      await expectCode(stream.ensureTopic(t, { partitions: 1 }), code, 'ensureTopic');
      await expectCode(stream.partitionsOf(t), code, 'partitionsOf');
      await expectCode(stream.consumer({ topic: t, group: 'g' }), code, 'consumer');
      await expectCode(stream.lag(t, 'g'), code, 'lag');
      await expectCode(stream.enforceRetention(), code, 'enforceRetention');
      await expectCode(c.poll({ waitMs: 0 }), code, 'poll of a consumer of a closed stream');
      await c.close();
    }));

    it('keeps records and committed offsets across a reopen', { timeout: TEST_TIMEOUT }, () => withStream(async ({ stream, reopen }) => {
      if (!reopen) return;
      const t = uniq('reopen');
      const g = uniq('g');
      await stream.ensureTopic(t, { partitions: 2 });
      const acks = await stream.publish(t, Array.from({ length: 20 }, (_, i) => rec(`k${i % 4}`, `v${i}`, { headers: { i: String(i) } })));
      const c = await stream.consumer({ topic: t, group: g });
      const got = await drain(c, 20, { commit: false });
      assert.equal(got.length, 20);
      // Commit about half of each partition.
      const committed = new Map<number, number>();
      for (const p of [0, 1]) {
        const ofP = got.filter((r) => r.partition === p);
        if (ofP.length > 1) committed.set(p, ofP[Math.floor(ofP.length / 2) - 1]!.offset);
      }
      await c.commit([...committed].map(([partition, offset]) => ({ partition, offset })));
      const before = await stream.read(t, { limit: 1000 });
      await stream.close();

      const again = await reopen();
      try {
        assert.equal(await again.partitionsOf(t), 2);
        const after = await again.read(t, { limit: 1000 });
        assert.deepEqual(after.map((r) => [pos(r), r.key, text(r), r.headers, r.timestamp]), before.map((r) => [pos(r), r.key, text(r), r.headers, r.timestamp]));
        const c2 = await again.consumer({ topic: t, group: g });
        const expected = acks.filter((a) => a.offset > (committed.get(a.partition) ?? -1)).map(pos).sort();
        const rest = await drain(c2, expected.length);
        assert.deepEqual(rest.map(pos).sort(), expected);
        assert.deepEqual(await c2.poll({ waitMs: 30 }), []);
        await c2.close();
        // Offsets keep increasing after the reopen.
        const [next] = await again.publish(t, [rec('k0', 'after')]);
        const lastOfPartition = Math.max(...acks.filter((a) => a.partition === next!.partition).map((a) => a.offset));
        assert.ok(next!.offset > lastOfPartition);
      } finally {
        await again.close();
      }
    }));

    groupLifecycleConformance(withStream, TEST_TIMEOUT);
  });
}
