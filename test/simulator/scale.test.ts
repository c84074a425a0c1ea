import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { validateReport } from '../../src/contract/index.ts';
import { Fleet } from '../../src/simulator/index.ts';

// A real collection before each measurement makes heap figures mean something.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function usedBytes(): number {
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

describe('a 100,000-drone fleet', () => {
  it('is small in memory and produces valid reports from every drone', () => {
    const before = usedBytes();
    const fleet = new Fleet({ drones: 100_000, seed: 11, start: Date.UTC(2024, 0, 1) });
    const growth = usedBytes() - before;
    assert.ok(growth < 200e6, `fleet takes ${(growth / 1e6).toFixed(1)} MB`);
    // Per-drone state is typed arrays: well under 1 KB per drone, population included.
    assert.ok(growth / fleet.size < 1000, `${(growth / fleet.size).toFixed(0)} bytes per drone`);

    assert.equal(fleet.droneId(0), 'drone-000001', 'ids are padded to the width of 100000');
    assert.equal(fleet.droneId(99_999), 'drone-100000');
    const sample = fleet.take(5000);
    const ids = new Set(sample.map((r) => r.droneId));
    assert.equal(ids.size, 5000, 'the first 5000 reports come from 5000 different drones');
    for (const r of sample) {
      assert.ok(validateReport(r).ok, JSON.stringify(r));
      assert.match(r.droneId, /^drone-\d{6}$/);
    }
    // 100,000 drones over 60 s: about 1.7 reports per millisecond, so 5000 reports span about 3 s.
    const span = Date.parse(sample.at(-1)!.timestamp) - Date.parse(sample[0]!.timestamp);
    assert.ok(span > 1000 && span < 6000, `5000 reports span ${span} ms`);
  });
});
