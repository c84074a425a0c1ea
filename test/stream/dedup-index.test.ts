import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DedupIndex, idHash } from '../../src/backend/sqlite/stream/dedup.ts';

function candidates(index: DedupIndex, hash: number): [number, number][] {
  const seen: [number, number][] = [];
  index.find(hash, (p, o) => { seen.push([p, o]); return false; });
  return seen;
}

describe('sqlite stream dedup index', () => {
  it('returns every entry sharing a hash (collisions are resolved by the caller) and stops when the visitor accepts', () => {
    const index = new DedupIndex(60_000, 4, 0);
    index.add(42, 0, 10);
    index.add(42, 3, 7);
    index.add(43, 1, 1);
    assert.deepEqual(candidates(index, 42).sort(), [[0, 10], [3, 7]]);
    assert.deepEqual(candidates(index, 99), []);
    let visits = 0;
    assert.equal(index.find(42, () => { visits++; return true; }), true);
    assert.equal(visits, 1);
  });

  it('keeps many entries across growth', () => {
    const index = new DedupIndex(60_000, 8, 0);
    const ids = Array.from({ length: 50_000 }, (_, i) => `drone-${i % 977}:${1_700_000_000_000 + i}`);
    ids.forEach((id, i) => index.add(idHash(id), i % 8, i));
    for (const [i, id] of ids.entries()) {
      assert.ok(candidates(index, idHash(id)).some(([p, o]) => p === i % 8 && o === i), id);
    }
  });

  it('keeps an entry for at least the window and drops it within a window and a quarter', () => {
    const window = 1000;
    const index = new DedupIndex(window, 1, 0);
    index.add(7, 0, 1);
    for (let now = 0; now < window; now += 50) {
      index.rotate(now);
      assert.equal(candidates(index, 7).length, 1, `still indexed at ${now} ms`);
    }
    for (let now = window; now <= window * 1.25 + 50; now += 50) index.rotate(now);
    assert.equal(candidates(index, 7).length, 0);
  });

  it('returns the exact offset of entries far from, and below, the first offset of their partition', () => {
    const index = new DedupIndex(60_000, 3, 0);
    const entries: [number, number, number][] = [
      [101, 2, 5_000_000_000], [102, 2, 5_000_000_001], [103, 2, 4_999_999_000], // below the partition's first offset
      [104, 2, 1], [105, 2, 9_000_000_000_000], // more than 2^31 away from it
      [106, 0, 0], [107, 1, 2 ** 40],
    ];
    for (const [h, p, o] of entries) index.add(h, p, o);
    for (const [h, p, o] of entries) assert.deepEqual(candidates(index, h), [[p, o]], `hash ${h}`);
    assert.equal(index.size().entries, entries.length);
    // Through several growths, with bases far from zero, offsets on both sides of them and some beyond 2^31 of them.
    const many: [number, number, number][] = [];
    for (let i = 0; i < 5000; i++) {
      const p = i % 3;
      const o = i % 97 === 0 ? 2 ** 45 + i : 7_000_000_000 + (i % 2 === 0 ? i : -i) * 1000;
      many.push([1000 + i, p, o]);
      index.add(1000 + i, p, o);
    }
    for (const [h, p, o] of many) assert.deepEqual(candidates(index, h), [[p, o]], `hash ${h}`);
    assert.throws(() => index.add(1, 3, 0), RangeError);
  });

  it('holds a million ids in under 28 bytes each (a full window at 10,000 reports/s is 6-7.5 million)', () => {
    const index = new DedupIndex(600_000, 8, 0);
    const n = 1_000_000;
    for (let i = 0; i < n; i++) index.add(idHash(`drone-${i % 1000}:${1_700_000_000_000 + i * 60_000}`), i % 8, 1_000_000 + (i >> 3));
    const { entries, bytes } = index.size();
    assert.equal(entries, n);
    assert.ok(bytes / n < 28, `${(bytes / n).toFixed(1)} bytes per id`);
  });

  it('never returns hash 0, which marks empty slots', () => {
    for (const id of ['', 'a', 'report-1', 'drone-7:1700000000000']) assert.notEqual(idHash(id), 0);
  });
});
