import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { FleetTracker } from '../../src/fleet/index.ts';
import { TrackSlab } from '../../src/fleet/track-slab.ts';
import type { Stream } from '../../src/stream/index.ts';

/**
 * The live fleet's memory (issue 14's soak: a full fleet fills the tracker's 100,000 drones). Each drone's ring of
 * positions lives in a slab shared by 1,024 drones; three typed arrays per drone cost ~0.5 KB of JS heap a drone
 * beyond the positions themselves (and as much again of malloc'd backing-store bookkeeping, outside the heap).
 */

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const enc = new TextEncoder();
function record(droneId: string, minute: number, lat: number, lon: number, tenant = 'default'): { value: Uint8Array; timestamp: number } {
  const ts = Date.UTC(2026, 11, 7, 3, 0) + minute * 60_000;
  return { value: enc.encode(JSON.stringify({ tenant, droneId, ts, position: { lat, lon }, citizens: [], words: [] })), timestamp: ts };
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

  it('names each drone by its tenant and id, both kept once (the id is the end of the drone\'s key)', () => {
    const t = new FleetTracker({ stream: {} as Stream, silentAfterMs: 60_000, now: () => Date.UTC(2026, 11, 7, 3, 5) });
    // The same id in two tenants, an id holding the separator, a tenant that is a prefix of another.
    t.apply(record('d/1', 0, 10, 1, 'lyon'));
    t.apply(record('d/1', 0, 20, 2, 'lyon-est'));
    t.apply(record('x', 5, 30, 3, 'lyon'));
    const named = (tenant?: string): string[] => t.positions(tenant).map((p) => `${p.tenant}|${p.droneId}|${p.lat}`).sort();
    assert.deepEqual(named(), ['lyon-est|d/1|20', 'lyon|d/1|10', 'lyon|x|30']);
    assert.deepEqual(named('lyon'), ['lyon|d/1|10', 'lyon|x|30']);
    assert.deepEqual(t.track('d/1', 'lyon-est').map((p) => p.lat), [20]);
    assert.deepEqual(t.stats('lyon').silent.map((s) => s.droneId), ['d/1'], 'silent 5 minutes behind the newest report');
  });

  it('a position takes 12 bytes in the slab, and a drone 248 (20 positions and its time origin)', () => {
    const slab = new TrackSlab(20);
    for (let i = 0; i < 1024; i++) slab.take();
    assert.equal(slab.bytes, 1024 * 248);
    slab.take(); // the 1,025th drone opens a second chunk
    assert.equal(slab.bytes, 2 * 1024 * 248);
  });

  it('gives back the reported coordinates and times exactly (7 decimals or fewer)', () => {
    const t = new FleetTracker({ stream: {} as Stream, trackLength: 4 });
    const points = [[48.8566, 2.3522], [-33.8688197, 151.2092955], [89.9999999, -179.9999999], [-90, 180], [0, -0.0000001]] as const;
    points.forEach(([lat, lon], m) => t.apply(record('d', m, lat, lon)));
    const track = t.track('d');
    assert.deepEqual(track.map((p) => [p.lat, p.lon]), points.slice(1).map(([lat, lon]) => [lat, lon]));
    assert.deepEqual(track.map((p) => p.ts), [1, 2, 3, 4].map((m) => Date.UTC(2026, 11, 7, 3, 0) + m * 60_000));
    const [pos] = t.positions();
    assert.deepEqual([pos!.lat, pos!.lon, pos!.ts], [0, -0.0000001, Date.UTC(2026, 11, 7, 3, 4)]);
  });

  it('a coordinate with more decimals is kept to 1e-7 degree (about a centimetre)', () => {
    const t = new FleetTracker({ stream: {} as Stream });
    t.apply(record('d', 0, 48.856612345678, 2.352212345678));
    const [p] = t.track('d');
    assert.ok(Math.abs(p!.lat - 48.856612345678) <= 0.5e-7 && Math.abs(p!.lon - 2.352212345678) <= 0.5e-7, `${p!.lat}, ${p!.lon}`);
  });

  it('a report more than 2^32 ms (49.7 days) after the drone\'s first one starts its track again', () => {
    const t = new FleetTracker({ stream: {} as Stream, trackLength: 5 });
    t.apply(record('d', 0, 1, 1));
    t.apply(record('d', 1, 2, 1));
    const limit = 2 ** 32 - 1;
    t.apply(record('d', limit / 60_000, 3, 1)); // exactly 2^32 - 1 ms after the first: still one track
    assert.deepEqual(t.track('d').map((p) => p.lat), [1, 2, 3]);
    assert.equal(t.track('d')[2]!.ts, Date.UTC(2026, 11, 7, 3, 0) + limit);
    t.apply(record('d', limit / 60_000 + 1, 4, 1));
    assert.deepEqual(t.track('d').map((p) => [p.lat, p.ts]), [[4, Date.UTC(2026, 11, 7, 3, 0) + limit + 60_000]]);
  });

  it('skips a position outside the WGS 84 ranges instead of storing a wrapped one', () => {
    const t = new FleetTracker({ stream: {} as Stream });
    t.apply(record('d', 0, 91, 2));
    t.apply(record('e', 0, 48, 181));
    t.apply(record('f', 0, 48, Number.NaN));
    assert.equal(t.stats().drones, 0);
    assert.equal(t.stats().reportsSkipped, 3);
  });
});
