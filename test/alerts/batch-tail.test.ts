import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BatchTail, type TailWork } from '../../src/alerts/batch-tail.ts';
import type { AlertEvent } from '../../src/alerts/types.ts';
import type { StreamRecord } from '../../src/stream/types.ts';

const rec = (partition: number, offset: number): StreamRecord => ({ topic: 'reports', partition, offset, key: 'k', value: new Uint8Array(), headers: {}, timestamp: 0 });
const ev = (id: string): AlertEvent => ({ eventId: id }) as AlertEvent;

/** A flush that waits for the test to release it, recording what it was given. */
function gatedFlush(): { flushes: TailWork[]; release: () => void; flush: (w: TailWork) => Promise<void> } {
  const flushes: TailWork[] = [];
  let open: (() => void)[] = [];
  return {
    flushes,
    release: () => { const o = open; open = []; for (const r of o) r(); },
    flush: (w) => { flushes.push(w); return new Promise<void>((r) => open.push(r)); },
  };
}

test('batches added while a flush runs go out together in the next flush, events in order, offsets merged per partition', async () => {
  const g = gatedFlush();
  const tail = new BatchTail(g.flush, 100);
  assert.equal(tail.add([ev('a')], [], [rec(0, 5), rec(1, 2)]), undefined);
  await new Promise((r) => setImmediate(r));
  assert.equal(g.flushes.length, 1, 'the first batch is flushed at once');
  tail.add([ev('b')], [], [rec(0, 6)]);
  tail.add([], [], [rec(1, 9), rec(1, 3)]);
  tail.add([ev('c')], [], [rec(2, 0)]);
  await new Promise((r) => setImmediate(r));
  assert.equal(g.flushes.length, 1, 'no second flush while the first runs');
  g.release();
  await new Promise((r) => setImmediate(r));
  assert.equal(g.flushes.length, 2);
  const second = g.flushes[1]!;
  assert.deepEqual(second.events.map((e) => e.eventId), ['b', 'c']);
  assert.equal(second.batches, 3);
  assert.deepEqual(second.positions.sort((x, y) => x.partition - y.partition), [
    { partition: 0, offset: 6 }, { partition: 1, offset: 9 }, { partition: 2, offset: 0 },
  ]);
  const idle = tail.idle();
  g.release();
  await idle;
  assert.equal(g.flushes.length, 2);
});

test('batches added in one turn of the event loop share the first flush', async () => {
  const g = gatedFlush();
  const tail = new BatchTail(g.flush, 100);
  tail.add([ev('a')], [], [rec(0, 1)]);
  tail.add([ev('b')], [], [rec(0, 2)]);
  await new Promise((r) => setImmediate(r));
  assert.equal(g.flushes.length, 1);
  assert.deepEqual(g.flushes[0]!.events.map((e) => e.eventId), ['a', 'b']);
  g.release();
  await tail.idle();
});

test('the caller is made to wait only when more than maxWaiting batches queue behind the running flush', async () => {
  const g = gatedFlush();
  const tail = new BatchTail(g.flush, 2);
  tail.add([], [], [rec(0, 1)]);
  await new Promise((r) => setImmediate(r));
  assert.equal(tail.add([], [], [rec(0, 2)]), undefined);
  assert.equal(tail.add([], [], [rec(0, 3)]), undefined);
  const full = tail.add([], [], [rec(0, 4)]);
  assert.ok(full instanceof Promise, 'a third waiting batch must wait for the running flush');
  let resolved = false;
  void full.then(() => { resolved = true; });
  await new Promise((r) => setImmediate(r));
  assert.equal(resolved, false);
  g.release();
  await full;
  assert.equal(g.flushes.length, 2, 'the waiting batches were taken by the next flush');
  assert.equal(g.flushes[1]!.batches, 3);
  g.release();
  await tail.idle();
});
