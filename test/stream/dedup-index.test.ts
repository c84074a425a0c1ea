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

  it('holds a million ids in under 17 bytes each, grown from empty (a full window at 10,000 reports/s is 6-7.5 million)', () => {
    const index = new DedupIndex(600_000, 8, 0);
    const n = 1_000_000;
    for (let i = 0; i < n; i++) index.add(idHash(`drone-${i % 1000}:${1_700_000_000_000 + i * 60_000}`), i % 8, 1_000_000 + (i >> 3));
    const { entries, bytes } = index.size();
    assert.equal(entries, n);
    assert.ok(bytes / n < 17, `${(bytes / n).toFixed(1)} bytes per id`);
  });

  it('makes a generation as large as the last one\'s rate asks: ~16 bytes an id, no growth while the rate holds', () => {
    const quarter = 1000;
    const index = new DedupIndex(4 * quarter, 8, 0);
    const n = 100_000;
    const add = (from: number): void => { for (let i = from; i < from + n; i++) index.add(idHash(`drone-${i % 977}:${i}`), i % 8, i >> 3); };
    index.rotate(quarter); // after the first generation (no sample: it holds what a rebuild indexed), one grown from empty
    add(0);
    const grown = index.size().bytes;
    index.rotate(2 * quarter);
    const planned = index.size().bytes - grown;
    assert.ok(planned / n < 17 && planned / n > 12, `${(planned / n).toFixed(1)} bytes per id planned`);
    add(n);
    assert.equal(index.size().bytes, grown + planned, 'the same rate fits without growing');
    for (let i = 0; i < 2 * n; i += 997) assert.ok(candidates(index, idHash(`drone-${i % 977}:${i}`)).some(([p, o]) => p === i % 8 && o === i >> 3), `id ${i}`);
    index.rotate(6 * quarter); // quiet for three quarters: the next generation plans for a quarter of the rate
    index.rotate(10 * quarter); // and the ones holding ids are past the window
    assert.equal(index.size().entries, 0);
    assert.ok(index.size().bytes < planned / 3, `${index.size().bytes} bytes left`);
  });

  it('packs the partition beside the offset for the largest partition count (1,024), exact on both sides of the limit', () => {
    const index = new DedupIndex(60_000, 1024, 0);
    const limit = 2 ** 21; // 31 bits less the 10 a partition takes
    const entries: [number, number, number][] = [];
    for (const p of [0, 1, 511, 1023]) {
      const base = 1e12 + p;
      for (const d of [0, 1, -1, limit - 1, -limit, limit, -limit - 1, 7 * limit]) entries.push([entries.length + 1, p, base + d]);
    }
    for (const [h, p, o] of entries) index.add(h, p, o);
    for (const [h, p, o] of entries) assert.deepEqual(candidates(index, h), [[p, o]], `hash ${h}`);
  });

  it('never returns hash 0, which marks empty slots', () => {
    for (const id of ['', 'a', 'report-1', 'drone-7:1700000000000']) assert.notEqual(idHash(id), 0);
  });
});
