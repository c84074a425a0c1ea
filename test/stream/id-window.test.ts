import assert from 'node:assert/strict';
import { test } from 'node:test';
import v8 from 'node:v8';
import vm from 'node:vm';
import { IdWindow, type Seen } from '../../src/stream/id-window.ts';
import { mulberry32 } from '../lake/fixtures/sample.ts';

/** The Map of ids this replaces (Kafka's PartitionIndex before): the reference for what answers must be. */
class MapWindow {
  private readonly ids = new Map<string, Seen>();
  constructor(private readonly windowMs: number) {}
  get(id: string, now: number): Seen | undefined {
    const s = this.ids.get(id);
    return s && now - s.at <= this.windowMs ? s : undefined;
  }
  add(id: string, seen: Seen): void {
    const prev = this.ids.get(id);
    if (prev && prev.offset <= seen.offset && seen.at - prev.at <= this.windowMs) return;
    this.ids.delete(id);
    this.ids.set(id, seen);
  }
}

test('answers as the Map of ids does: appends in time order, repeats, re-appends after the window, older records found later', () => {
  for (const windowMs of [1000, 60_000, 600_000]) {
    const random = mulberry32(windowMs);
    const compact = new IdWindow(windowMs);
    const reference = new MapWindow(windowMs);
    let now = 1_796_600_000_000;
    let offset = 0;
    for (let step = 0; step < 60_000; step++) {
      now += Math.floor(random() * (windowMs / 200));
      const id = `paris/drone-${Math.floor(random() * 500)}:${Math.floor(random() * 400)}`;
      const r = random();
      if (r < 0.5) {
        assert.deepEqual(compact.get(id, now), reference.get(id, now), `get ${id} at step ${step}`);
      } else if (r < 0.95) {
        const seen = { offset: offset++, at: now };
        compact.add(id, seen);
        reference.add(id, seen);
      } else {
        // A catch-up indexing a record appended a little earlier (another process's), with a lower offset.
        const seen = { offset: Math.max(0, offset - 1 - Math.floor(random() * 50)), at: now - Math.floor(random() * windowMs / 10) };
        compact.add(id, seen);
        reference.add(id, seen);
      }
    }
  }
});

test('forgets whole generations once they are past the window, and tells ids apart by all 96 bits', () => {
  const w = new IdWindow(60_000);
  const t0 = 1_796_600_000_000;
  for (let i = 0; i < 10_000; i++) w.add(`paris/d-${i}:${t0}`, { offset: i, at: t0 + i });
  assert.equal(w.size, 10_000);
  assert.deepEqual(w.get('paris/d-42:' + t0, t0 + 30_000), { offset: 42, at: t0 + 42 });
  assert.equal(w.get('paris/d-42:' + t0, t0 + 42 + 60_001), undefined, 'out of the window, exactly');
  assert.equal(w.get('paris/d-10000:' + t0, t0 + 30_000), undefined, 'never added');
  w.get('x', t0 + 10_000 + 3 * 60_000);
  assert.equal(w.size, 0, 'generations past the window dropped');
});

test('holds a window of report ids in a third of the memory of a Map of them, or less', () => {
  // A full collection before each reading: the tables' grown-out arrays are garbage, not what the window holds.
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  const n = 300_000;
  const t0 = 1_796_600_000_000;
  const idOf = (i: number): string => `prefecture-75/drone-${String(i % 20_000).padStart(5, '0')}:${t0 + i * 60}`;
  const bytesPerId = (fill: () => { size: number }): number => {
    gc();
    const before = process.memoryUsage();
    const w = fill();
    gc();
    const after = process.memoryUsage();
    assert.equal(w.size, n);
    return (after.heapUsed + after.arrayBuffers - before.heapUsed - before.arrayBuffers) / n;
  };
  const compact = bytesPerId(() => {
    const w = new IdWindow(600_000);
    for (let i = 0; i < n; i++) w.add(idOf(i), { offset: i, at: t0 + i });
    return w;
  });
  const map = bytesPerId(() => {
    const m = new Map<string, Seen>();
    for (let i = 0; i < n; i++) m.set(idOf(i), { offset: i, at: t0 + i });
    return m;
  });
  console.log(`id window: ${compact.toFixed(1)} bytes per id (a Map of the ids: ${map.toFixed(1)})`);
  assert.ok(compact * 3 < map, `${compact.toFixed(1)} bytes per id against ${map.toFixed(1)} for the Map`);
});
