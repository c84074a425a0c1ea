import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { FleetTracker } from '../../src/fleet/index.ts';
import type { Stream } from '../../src/stream/index.ts';

/**
 * The live fleet's memory (issue 14's soak: a full fleet fills the tracker's 100,000 drones). Each drone's ring of
 * positions lives in a slab shared by 1,024 drones; three typed arrays per drone cost ~0.5 KB of JS heap a drone
 * beyond the positions themselves (and as much again of malloc'd backing-store bookkeeping, outside the heap).
 */

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const enc = new TextEncoder();
function record(droneId: string, minute: number, lat: number, lon: number): { value: Uint8Array; timestamp: number } {
  const ts = Date.UTC(2026, 11, 7, 3, 0) + minute * 60_000;
  return { value: enc.encode(JSON.stringify({ tenant: 'default', droneId, ts, position: { lat, lon }, citizens: [], words: [] })), timestamp: ts };
}

describe('fleet tracker memory', () => {
  it('20,000 drones take under 250 bytes of JS heap each beyond their positions', () => {
    const t = new FleetTracker({ stream: {} as Stream });
    const drones = 20_000;
    // The records first, so that only what the tracker keeps is measured.
    const records = Array.from({ length: drones }, (_, i) => record(`drone-${String(i).padStart(6, '0')}`, 1, 48.8 + i / 1e6, 2.3));
    gc();
    const before = process.memoryUsage().heapUsed;
    for (const r of records) t.apply(r);
    gc();
    const perDrone = (process.memoryUsage().heapUsed - before) / drones;
    assert.equal(t.stats().drones, drones);
    assert.ok(perDrone < 250, `${perDrone.toFixed(0)} bytes of JS heap a drone`);
  });

  it('a forgotten drone\'s slot goes to the next new drone without its positions', () => {
    const t = new FleetTracker({ stream: {} as Stream, maxDrones: 2, trackLength: 3 });
    for (let m = 0; m < 4; m++) t.apply(record('a', m, 48 + m, 2));
    t.apply(record('b', 0, 47, 1));
    t.apply(record('c', 9, 46, 3)); // forgets a, the least recently reporting
    assert.deepEqual(t.track('a'), []);
    assert.deepEqual(t.track('c').map((p) => [p.lat, p.lon]), [[46, 3]]);
    assert.deepEqual(t.track('b').map((p) => [p.lat, p.lon]), [[47, 1]]);
    for (let m = 10; m < 15; m++) t.apply(record('c', m, 40 + m, 3));
    assert.deepEqual(t.track('c').map((p) => p.lat), [52, 53, 54], 'a ring of trackLength, oldest first');
    assert.deepEqual(t.positions().map((p) => [p.droneId, p.lat]).sort(), [['b', 47], ['c', 54]]);
  });
});
