/**
 * Packed topics of NatsStream (src/backend/nats/stream/packing.ts) against a real nats-server: one JetStream message
 * per (publish round, partition), per-record offsets, dedup across racing publishers through the expected last
 * subject sequence, per-record lag across a commit inside a message, retention that empties a partition, and
 * topics created in the per-record format still read, consumed and appended to as before.
 * Skipped with the install recipe when nats-server >= 2.10 is missing (fails with CI=true).
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { partitionOf, type PublishAck } from '../../src/stream/index.ts';
import { natsServerOrSkip, startNatsServer, type NatsTestServer } from '../../src/testkit/index.ts';
import { NatsStream } from '../../src/backend/index.ts';
import { dec, drain, rec, text, uniq } from './conformance-helpers.ts';

const skip = natsServerOrSkip();

/** Keys of `n` distinct drones that all fall in partition `p` of `partitions`. */
function keysIn(p: number, partitions: number, n: number): string[] {
  const out: string[] = [];
  for (let i = 0; out.length < n; i++) if (partitionOf(`drone-${i}`, partitions) === p) out.push(`drone-${i}`);
  return out;
}

describe('nats stream: packed topics', { skip, timeout: 120_000 }, () => {
  let server: Promise<NatsTestServer> | undefined;
  let nc: NatsConnection | undefined;
  const open: NatsStream[] = [];
  const setup = async (): Promise<{ url: string; jsm: JetStreamManager }> => {
    const s = await (server ??= startNatsServer());
    nc ??= await connect({ servers: s.url });
    return { url: s.url, jsm: await jetstreamManager(nc) };
  };
  const stream = async (opts: Partial<Parameters<typeof NatsStream.connect>[0]> = {}): Promise<NatsStream> => {
    const { url } = await setup();
    const s = await NatsStream.connect({ servers: url, tenant: 'lyon', ...opts });
    open.push(s);
    return s;
  };
  after(async () => {
    for (const s of open) await s.close();
    await nc?.close();
    if (server) await (await server).stop();
  });

  it('stores a publish of N records to one partition as one JetStream message, offsets per record', async () => {
    const { jsm } = await setup();
    const s = await stream();
    const t = uniq('pack');
    await s.ensureTopic(t, { partitions: 4, duplicateWindowMs: 60_000 });
    const keys = keysIn(2, 4, 300);
    const acks = await s.publish(t, keys.map((k, i) => rec(k, `v${i}`, { id: `id-${i}` })));
    const info = await jsm.streams.info(t.toUpperCase());
    assert.equal(info.config.metadata?.['dronewatch.format'], 'packed', 'new topics carry the format marker');
    assert.equal(info.state.messages, 1, '300 records of one partition are one message (one fsync)');
    const m = await jsm.streams.getMessage(t.toUpperCase(), { seq: info.state.last_seq });
    assert.equal(m?.subject, `${t}.lyon.2.~b`, 'the message subject is per partition');
    assert.equal(m?.header.get('Dw-End'), '300', 'it carries the running record count');
    assert.ok(acks.every((a, i) => a.partition === 2 && !a.duplicate && (i === 0 || a.offset > acks[i - 1]!.offset)), 'offsets increase per record');
    const back = await s.read(t, { partition: 2 });
    assert.deepEqual(back.map(text), keys.map((_, i) => `v${i}`));
    assert.deepEqual(back.map((r) => r.offset), acks.map((a) => a.offset), 'read gives the acknowledged offsets');
    assert.deepEqual((await s.read(t, { partition: 2, from: { offset: acks[123]!.offset }, limit: 3 })).map(text), ['v123', 'v124', 'v125'], 'reads from an offset inside a message');
  });

  it('concurrent publish calls to one partition share messages', async () => {
    const { jsm } = await setup();
    const s = await stream();
    const t = uniq('share');
    await s.ensureTopic(t, { partitions: 1 });
    const calls = await Promise.all([...Array(8).keys()].map((c) => s.publish(t, [...Array(100).keys()].map((i) => rec(`d${i}`, `${c}-${i}`)))));
    const offsets = calls.flat().map((a) => a.offset);
    assert.equal(new Set(offsets).size, 800, 'every record has its own offset');
    for (const acks of calls) assert.ok(acks.every((a, i) => i === 0 || a.offset > acks[i - 1]!.offset), 'a call keeps its order');
    const info = await jsm.streams.info(t.toUpperCase());
    assert.ok(info.state.messages < 8, `8 calls in flight make fewer than 8 messages (got ${info.state.messages})`);
    assert.equal((await s.read(t, { limit: 1000 })).length, 800);
  });

  it('two publishers racing with the same ids append each id once (expected last subject sequence)', async () => {
    const a = await stream();
    const b = await stream();
    const t = uniq('race');
    await a.ensureTopic(t, { partitions: 1, duplicateWindowMs: 60_000 });
    await b.partitionsOf(t);
    const ids = [...Array(400).keys()].map((i) => `r-${i}`);
    // Sequential calls of 8 ids each, both publishers at once: their appends interleave, so each keeps finding the
    // partition's last sequence moved by the other (wrong last sequence, catch up, re-check).
    const run = async (s: NatsStream, who: string): Promise<PublishAck[][]> => {
      const out: PublishAck[][] = [];
      for (let c = 0; c < 50; c++) out.push(await s.publish(t, ids.filter((_, i) => i % 50 === c).map((id) => rec('k', `${who}:${id}`, { id }))));
      return out;
    };
    const [fromA, fromB] = await Promise.all([run(a, 'a'), run(b, 'b')]);
    const all = await a.read(t, { limit: 10_000 });
    assert.equal(all.length, ids.length, 'each id is in the log once');
    assert.equal(new Set(all.map((r) => text(r).slice(2))).size, ids.length);
    const byOffset = new Map(all.map((r) => [r.offset, text(r)]));
    const idsOf = (c: number): string[] => ids.filter((_, i) => i % 50 === c);
    const ackA = fromA.flatMap((acks, c) => acks.map((ack, j) => ({ ack, id: idsOf(c)[j]! })));
    const ackB = fromB.flatMap((acks, c) => acks.map((ack, j) => ({ ack, id: idsOf(c)[j]! })));
    const first = new Map(ackA.map((x) => [x.id, x.ack]));
    for (const { ack, id } of ackB) {
      const other = first.get(id)!;
      assert.equal(ack.offset, other.offset, `both acks of ${id} name the one record`);
      assert.equal(ack.duplicate !== other.duplicate, true, `${id}: exactly one of the two appended it`);
      assert.equal(byOffset.get(ack.offset)?.slice(2), id);
    }
  });

  it('a new publisher builds its id window from the log (hundreds of messages) and acknowledges duplicates with the originals', async () => {
    const a = await stream();
    const t = uniq('window');
    await a.ensureTopic(t, { partitions: 1, duplicateWindowMs: 60_000 });
    const first: PublishAck[] = [];
    for (let i = 0; i < 300; i++) first.push(...await a.publish(t, [rec('k', `v${i}`, { id: `w-${i}` })]));
    const b = await stream();
    const picks = [0, 1, 150, 298, 299];
    const again = await b.publish(t, [...picks.map((i) => rec('k', `again-${i}`, { id: `w-${i}` })), rec('k', 'new', { id: 'w-new' })]);
    assert.deepEqual(again.slice(0, picks.length), picks.map((i) => ({ ...first[i]!, duplicate: true })));
    assert.equal(again.at(-1)!.duplicate, false);
    assert.ok(again.at(-1)!.offset > first[299]!.offset);
    assert.equal((await b.read(t, { limit: 1000 })).length, 301);
  });

  it('counts lag per record across a commit inside a message; a new member resumes after it', async () => {
    const s = await stream();
    const t = uniq('lag');
    await s.ensureTopic(t, { partitions: 1 });
    const acks = await s.publish(t, [...Array(10).keys()].map((i) => rec('k', `v${i}`)));
    const g = uniq('g');
    assert.deepEqual(await s.lag(t, g), [{ partition: 0, committed: -1, end: acks[9]!.offset, lag: 10 }]);
    const c1 = await s.consumer({ topic: t, group: g });
    const got = await drain(c1, 10, { commit: false });
    await c1.commit([got[3]!]);
    assert.deepEqual(await s.lag(t, g), [{ partition: 0, committed: acks[3]!.offset, end: acks[9]!.offset, lag: 6 }]);
    await c1.close();
    const c2 = await s.consumer({ topic: t, group: g });
    assert.deepEqual((await drain(c2, 6, { commit: false })).map(text), ['v4', 'v5', 'v6', 'v7', 'v8', 'v9']);
    assert.deepEqual(await c2.poll({ waitMs: 100 }), []);
    await s.publish(t, [rec('k', 'v10'), rec('k', 'v11')]);
    assert.equal((await s.lag(t, g))[0]!.lag, 8, 'the next message adds its records');
    await c2.close();
  });

  it('appends again after retention emptied a partition (its last subject sequence is back to 0)', async () => {
    const s = await stream();
    const t = uniq('ret');
    await s.ensureTopic(t, { partitions: 1, retention: { maxAgeMs: 300 }, duplicateWindowMs: 300 });
    const [first] = await s.publish(t, [rec('k', 'old', { id: 'x' })]);
    await sleep(900);
    await s.enforceRetention();
    assert.deepEqual(await s.read(t), [], 'expired');
    const [again] = await s.publish(t, [rec('k', 'new', { id: 'x' })]);
    assert.equal(again!.duplicate, false);
    assert.ok(again!.offset > first!.offset);
    assert.deepEqual((await s.read(t)).map(text), ['new']);
    const lag = await s.lag(t, uniq('g'));
    assert.equal(lag[0]!.lag, 1);
  });

  it('starts afresh when the stream of the topic was deleted and created again (no stale ids or expectations)', async () => {
    const { jsm } = await setup();
    const s = await stream();
    const t = uniq('again');
    await s.ensureTopic(t, { partitions: 1, duplicateWindowMs: 60_000 });
    await s.publish(t, [rec('k', 'one', { id: 'a' }), rec('k', 'two', { id: 'b' })]);
    await jsm.streams.delete(t.toUpperCase());
    await s.ensureTopic(t, { partitions: 1, duplicateWindowMs: 60_000 });
    const [a] = await s.publish(t, [rec('k', 'one again', { id: 'a' })]);
    assert.equal(a!.duplicate, false, 'the id of a record that no longer exists is appended again');
    assert.deepEqual((await s.read(t)).map(text), ['one again']);
    assert.equal((await s.lag(t, uniq('g')))[0]!.lag, 1);
  });

  it('reads, consumes and appends to a topic created with one message per record', async () => {
    const { jsm } = await setup();
    const before = await stream({ topicFormat: 'per-record' });
    const t = uniq('legacy');
    await before.ensureTopic(t, { partitions: 2, duplicateWindowMs: 60_000 });
    const old = await before.publish(t, [rec('a', 'a1', { id: 'i1' }), rec('b', 'b1', { id: 'i2' })]);
    const now = await stream();
    await now.ensureTopic(t, { partitions: 2, duplicateWindowMs: 120_000 });
    const acks = await now.publish(t, [rec('a', 'a2', { id: 'i3' }), rec('a', 'a3', { id: 'i1' })]);
    assert.deepEqual(acks[1], { ...old[0]!, duplicate: true }, 'dedup still by Nats-Msg-Id per record');
    const info = await jsm.streams.info(t.toUpperCase());
    assert.equal(info.state.messages, 3, 'still one message per record');
    assert.equal(info.config.metadata?.['dronewatch.format'], undefined, 'an update does not add the marker');
    assert.deepEqual((await now.read(t)).map(text), ['a1', 'b1', 'a2']);
    const g = uniq('g');
    const c = await now.consumer({ topic: t, group: g });
    assert.deepEqual((await drain(c, 3)).map(text).sort(), ['a1', 'a2', 'b1']);
    assert.equal((await now.lag(t, g)).reduce((n, l) => n + l.lag, 0), 0);
    await c.close();
    assert.equal(dec.decode((await now.read(t, { partition: old[1]!.partition }))[0]!.value), 'b1');
  });
});
