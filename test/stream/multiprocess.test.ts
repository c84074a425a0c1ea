/**
 * Several processes on one stream file: the parent publishes, two child processes consume in one group.
 * Checks the split, exactly-once delivery while nobody fails, and takeover with at-least-once delivery after kill -9.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { partitionOf, type PublishAck } from '../../src/stream/index.ts';
import { tempDir } from '../../src/testkit/index.ts';
import { spawnFixture, stop, waitUntil, type Child } from './child.ts';
import { SqliteStream } from '../../src/backend/index.ts';

type Event =
  | { t: 'assign'; p: number[] }
  | { t: 'recs'; r: [number, number][] }
  | { t: 'commit'; r: [number, number][] }
  | { t: 'refused'; p: number[] }
  | { t: 'closed' };

function events(c: Child): Event[] {
  return c.lines.map((l) => JSON.parse(l) as Event);
}

function lastAssignment(c: Child): number[] | undefined {
  const a = events(c).filter((e): e is Extract<Event, { t: 'assign' }> => e.t === 'assign').at(-1);
  return a?.p;
}

function received(c: Child): string[] {
  return events(c).flatMap((e) => (e.t === 'recs' ? e.r.map(([p, o]) => `${p}:${o}`) : []));
}

/** Highest committed offset per partition as reported by the child (only commits that returned). */
function committedBy(c: Child): Map<number, number> {
  const m = new Map<number, number>();
  for (const e of events(c)) if (e.t === 'commit') for (const [p, o] of e.r) m.set(p, Math.max(m.get(p) ?? -1, o));
  return m;
}

describe('sqlite stream: consumers in several processes', () => {
  const tmp = tempDir('dw-stream-mp-');
  const file = path.join(tmp.dir, 'stream.db');
  const children: Child[] = [];
  after(async () => {
    for (const c of children) await stop(c);
    tmp.cleanup();
  });

  it('splits partitions, delivers each record once, and survives kill -9 of a member', { timeout: 40_000 }, async (t) => {
    const stream = await SqliteStream.open(file);
    try {
      const topic = 'mp';
      const group = 'workers';
      await stream.ensureTopic(topic, { partitions: 4 });
      const totalLag = async () => (await stream.lag(topic, group)).reduce((n, l) => n + l.lag, 0);
      const publish = async (from: number, count: number, batch: number, pauseMs: number, onBatch?: (sent: number) => void) => {
        const acks: PublishAck[] = [];
        for (let i = from; i < from + count; i += batch) {
          const n = Math.min(batch, from + count - i);
          acks.push(...(await stream.publish(topic, Array.from({ length: n }, (_, j) => ({ key: `drone-${(i + j) % 61}`, value: Buffer.from(`r${i + j}`) })))));
          onBatch?.(i + n - from);
          if (pauseMs > 0) await sleep(pauseMs);
        }
        return acks.map((a) => `${a.partition}:${a.offset}`);
      };

      const a = spawnFixture('group-consumer.ts', [file, topic, group, 'member-a', '1000', '20']);
      const b = spawnFixture('group-consumer.ts', [file, topic, group, 'member-b', '1000', '20']);
      children.push(a, b);
      await waitUntil('both members to own two partitions', () => lastAssignment(a)?.length === 2 && lastAssignment(b)?.length === 2, 20_000);
      const partsA = lastAssignment(a)!;
      const partsB = lastAssignment(b)!;
      assert.deepEqual([...partsA, ...partsB].sort(), [0, 1, 2, 3]);

      // Phase 1: nobody fails; every record is received exactly once, by the owner of its partition.
      const phase1 = await publish(0, 600, 50, 5);
      // The children print what they received before committing it, but their output may reach us after the commit.
      const receivedAll = (want: string[]) => { const got = new Set([...received(a), ...received(b)]); return want.every((r) => got.has(r)); };
      await waitUntil('phase 1 to be consumed and committed', async () => (await totalLag()) === 0 && receivedAll(phase1), 15_000);
      const gotA1 = received(a);
      const gotB1 = received(b);
      assert.equal(gotA1.length + gotB1.length, phase1.length, 'no record delivered twice');
      assert.deepEqual(new Set([...gotA1, ...gotB1]), new Set(phase1));
      assert.ok(gotA1.every((r) => partsA.includes(Number(r.split(':')[0]))));
      assert.ok(gotB1.every((r) => partsB.includes(Number(r.split(':')[0]))));

      // Phase 2: kill -9 member a mid-stream; b takes its partitions after the session timeout.
      let killed = false;
      const phase2 = await publish(600, 600, 20, 5, (sent) => {
        if (!killed && sent >= 200) { killed = true; a.proc.kill('SIGKILL'); }
      });
      assert.equal((await a.exited).signal, 'SIGKILL');
      await waitUntil('member b to take every partition and consume everything', async () => lastAssignment(b)?.length === 4 && (await totalLag()) === 0 && receivedAll([...phase1, ...phase2]), 20_000);

      const gotA = received(a);
      const gotB = received(b);
      const all = [...gotA, ...gotB];
      assert.deepEqual(new Set(all), new Set([...phase1, ...phase2]), 'every record was processed');
      // Duplicates are allowed only for records a received but had not committed when it died.
      const committedA = committedBy(a);
      const count = new Map<string, number>();
      for (const r of all) count.set(r, (count.get(r) ?? 0) + 1);
      const duplicates = [...count].filter(([, n]) => n > 1).map(([r]) => r);
      for (const r of duplicates) {
        const [p, o] = r.split(':').map(Number) as [number, number];
        assert.equal(count.get(r), 2, `${r} delivered more than twice`);
        assert.ok(gotA.includes(r) && gotB.includes(r), `${r} duplicated within one member`);
        assert.ok(o > (committedA.get(p) ?? -1), `${r} was redelivered although a committed it (a committed ${committedA.get(p)})`);
      }
      t.diagnostic(`member a received ${gotA.length}, b ${gotB.length}; ${duplicates.length} redelivered after the kill`);

      b.proc.stdin!.end();
      assert.equal((await b.exited).code, 0);
      assert.equal(events(b).at(-1)?.t, 'closed');
      assert.deepEqual((await stream.describeGroup(topic, group)).members, []);
    } finally {
      await stream.close();
    }
  });

  it('fences a member that was paused past its session: its late commit is refused and nothing is lost', { timeout: 40_000 }, async () => {
    const stream = await SqliteStream.open(file);
    try {
      const topic = 'fence';
      const group = 'fenced';
      await stream.ensureTopic(topic, { partitions: 2 });
      const totalLag = async () => (await stream.lag(topic, group)).reduce((n, l) => n + l.lag, 0);
      // a waits 400 ms between receiving and committing: the parent stops it inside that pause.
      const a = spawnFixture('group-consumer.ts', [file, topic, group, 'member-a', '1000', '400']);
      children.push(a);
      await waitUntil('member a to own both partitions', () => lastAssignment(a)?.length === 2, 20_000);
      const b = spawnFixture('group-consumer.ts', [file, topic, group, 'member-b', '1000']);
      children.push(b);
      await waitUntil('the group to split', () => lastAssignment(a)?.length === 1 && lastAssignment(b)?.length === 1, 20_000);

      const pa = lastAssignment(a)![0]!;
      const key = Array.from({ length: 100 }, (_, i) => `drone-${i}`).find((k) => partitionOf(k, 2) === pa)!;
      const acks = await stream.publish(topic, Array.from({ length: 5 }, (_, i) => ({ key, value: Buffer.from(`v${i}`) })));
      await waitUntil('member a to receive the records', () => received(a).length === 5, 10_000);
      a.proc.kill('SIGSTOP');
      await waitUntil('member b to take over and commit them', async () => lastAssignment(b)?.length === 2 && (await totalLag()) === 0 && received(b).length >= 5, 15_000);
      a.proc.kill('SIGCONT');
      await waitUntil('member a to report its refused commit', () => events(a).some((e) => e.t === 'refused'), 10_000);
      assert.ok(!events(a).some((e) => e.t === 'commit'), 'the paused member committed nothing');
      assert.deepEqual(new Set(received(b)), new Set(acks.map((x) => `${x.partition}:${x.offset}`)));
      // Once back, a rejoins and the partitions are shared again.
      await waitUntil('the group to split again', () => lastAssignment(a)?.length === 1 && lastAssignment(b)?.length === 1, 15_000);
      for (const c of [a, b]) c.proc.stdin!.end();
      assert.equal((await a.exited).code, 0);
      assert.equal((await b.exited).code, 0);
    } finally {
      await stream.close();
    }
  });
});
