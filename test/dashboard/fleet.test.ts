import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FleetTracker, RateCounter, type DronePosition } from '../../src/fleet/index.ts';
import { DEFAULT_TOPIC_CONFIG, TOPICS, type Stream } from '../../src/stream/index.ts';
import { tempDir } from '../../src/testkit/index.ts';
import { openStream } from '../../src/backend/index.ts';

const enc = new TextEncoder();
const T0 = Date.parse('2026-11-27T10:00:00Z');

function reportRecord(droneId: string, minute: number, lat: number, lon: number, tenant = 'default') {
  const ts = T0 + minute * 60_000;
  return { key: droneId, id: `${droneId}:${ts}`, value: enc.encode(JSON.stringify({ droneId, ts, reportId: `${droneId}:${ts}`, tenant, position: { lat, lon }, citizens: [], words: [] })) };
}

function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const tick = (): void => {
      if (cond()) resolve();
      else if (Date.now() > deadline) reject(new Error(`condition not met within ${ms} ms`));
      else setTimeout(tick, 20);
    };
    tick();
  });
}

/** The live fleet state behind the dashboard's map and health page, on a real embedded stream. */
describe('FleetTracker (reports topic consumer)', () => {
  const tmp = tempDir('dw-fleet-');
  let stream: Stream;
  const trackers: FleetTracker[] = [];
  const track = (t: FleetTracker): FleetTracker => (trackers.push(t), t);

  before(async () => {
    stream = await openStream('sqlite', { dataDir: tmp.dir });
    await stream.ensureTopic(TOPICS.reports, DEFAULT_TOPIC_CONFIG.reports);
  });
  after(async () => {
    for (const t of trackers) await t.stop();
    await stream.close();
    tmp.cleanup();
  });

  it('keeps each drone\'s last position and a bounded recent track, oldest first', async () => {
    // Six decimals, as drones send them (the map keeps 1e-7 degree: 48.85 + 0.011 would come back as 48.861).
    const latAt = (m: number): number => Math.round((48.85 + m / 1000) * 1e6) / 1e6;
    const t = track(new FleetTracker({ stream, trackLength: 5, lookbackMs: 0, flushIntervalMs: 20, statsIntervalMs: 50 }));
    await t.start();
    const records = [];
    for (let m = 0; m < 12; m++) records.push(reportRecord('drone-a', m, latAt(m), 2.35));
    records.push(reportRecord('drone-b', 3, 48.80, 2.30));
    await stream.publish(TOPICS.reports, records);
    await waitFor(() => t.stats().reportsRead === 13);
    const a = t.track('drone-a');
    assert.equal(a.length, 5, 'the track holds trackLength positions');
    assert.deepEqual(a.map((p) => p.ts), [7, 8, 9, 10, 11].map((m) => T0 + m * 60_000), 'the newest five, oldest first');
    assert.equal(a[4]!.lat, latAt(11), 'the last position is the newest report\'s');
    const positions = new Map(t.positions().map((p) => [p.droneId, p]));
    assert.equal(positions.size, 2, 'two drones tracked');
    assert.equal(positions.get('drone-b')!.lat, 48.80, 'drone-b at its only position');
    assert.deepEqual(t.track('drone-nope'), [], 'an unknown drone has an empty track');

    // A late report (older than the newest) does not move the drone back.
    await stream.publish(TOPICS.reports, [{ ...reportRecord('drone-a', 2, 10, 10), id: 'late-one' }]);
    await waitFor(() => t.stats().reportsRead === 14);
    assert.equal(t.track('drone-a').at(-1)!.lat, latAt(11), 'late report ignored for the live position');
    await waitFor(() => t.stats().lag === 0, 3000);
  });

  it('hands the drones that moved to listeners, batched', async () => {
    const t = track(new FleetTracker({ stream, lookbackMs: 0, flushIntervalMs: 30 }));
    await t.start();
    const batches: DronePosition[][] = [];
    t.onPositions((c) => batches.push([...c]));
    await stream.publish(TOPICS.reports, [reportRecord('drone-c', 100, 48.1, 2.1), reportRecord('drone-c', 101, 48.2, 2.2), reportRecord('drone-d', 100, 48.3, 2.3)]);
    await waitFor(() => batches.flat().length >= 2);
    const last = new Map(batches.flat().map((p) => [p.droneId, p]));
    assert.deepEqual([...last.keys()].sort(), ['drone-c', 'drone-d'], 'each drone that moved, once per batch');
    assert.equal(last.get('drone-c')!.lat, 48.2, 'with its newest position');
    assert.ok(batches.every((b) => new Set(b.map((p) => p.droneId)).size === b.length), 'no drone twice in one batch');
  });

  it('reads the reports of the look-back window on start', async () => {
    const before = track(new FleetTracker({ stream, lookbackMs: 60_000 }));
    await before.start();
    await waitFor(() => before.stats().drones >= 4);
    assert.ok(before.positions().some((p) => p.droneId === 'drone-a'), 'reports appended before the start are on the map');
    const fresh = track(new FleetTracker({ stream, lookbackMs: 0 }));
    await fresh.start();
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(fresh.stats().drones, 0, 'lookback 0: only new reports');
  });

  it('skips malformed records and other tenants, counting them', () => {
    const t = new FleetTracker({ stream, tenant: 'default' });
    t.apply({ value: enc.encode('not json'), timestamp: Date.now() });
    t.apply({ value: enc.encode('{"droneId":"x","ts":1}'), timestamp: Date.now() });
    t.apply({ ...reportRecord('drone-x', 0, 1, 1, 'other-force'), timestamp: Date.now() });
    t.apply({ ...reportRecord('drone-y', 0, 1, 1), timestamp: Date.now() });
    const s = t.stats();
    assert.equal(s.reportsRead, 4, 'every record counted as read');
    assert.equal(s.reportsSkipped, 3, 'not JSON, no position, other tenant');
    assert.deepEqual(t.positions().map((p) => p.droneId), ['drone-y'], 'only the usable report is on the map');
  });

  it('forgets the drone that reported least recently beyond maxDrones', () => {
    const t = new FleetTracker({ stream, maxDrones: 2 });
    for (const [id, m] of [['d1', 0], ['d2', 1], ['d1', 2], ['d3', 3]] as const) t.apply({ ...reportRecord(id, m, 1, 1), timestamp: Date.now() });
    assert.deepEqual(t.positions().map((p) => p.droneId).sort(), ['d1', 'd3'], 'd2 reported least recently and was dropped');
  });

  it('calls a drone silent after silentAfterMs of report time behind the fleet, or of wall-clock time', () => {
    let now = 1_000_000_000_000;
    const t = new FleetTracker({ stream, silentAfterMs: 5 * 60_000, now: () => now });
    t.apply({ ...reportRecord('quiet', 0, 48.8, 2.3), timestamp: now });
    t.apply({ ...reportRecord('busy', 0, 48.9, 2.4), timestamp: now });
    t.apply({ ...reportRecord('busy', 6, 48.9, 2.4), timestamp: now });
    let s = t.stats();
    assert.deepEqual(s.silent.map((d) => d.droneId), ['quiet'], 'six minutes of report time behind the fleet\'s newest report');
    assert.equal(s.silent[0]!.silentForMs, 6 * 60_000, 'silent for the report-time gap');
    assert.equal(s.silentCount, 1, 'counted');
    now += 10 * 60_000;
    s = t.stats();
    assert.deepEqual(s.silent.map((d) => [d.droneId, d.silentForMs]), [['busy', 10 * 60_000], ['quiet', 10 * 60_000]],
      'nothing for ten wall-clock minutes: every drone is silent (the larger of the two gaps; ties by id)');
  });

  it('counts reports per second by append time over the last whole seconds', () => {
    const r = new RateCounter(5);
    const base = 1_700_000_000_000;
    for (let s = 0; s < 10; s++) r.add(base + s * 1000 + 10, 100 * (s + 1));
    // At second 10 the window is seconds 5..9: 600+700+800+900+1000 over 5 s.
    assert.equal(r.perSecond(base + 10_000 + 500), 800, 'mean over the five whole seconds before now');
    assert.equal(r.perSecond(base + 60_000), 0, 'nothing recent: zero');
  });

  it('reports the rate of the stream while it reads behind it, and 0 once the stream is quiet', () => {
    let now = 1_700_000_000_000;
    const t = new FleetTracker({ stream, now: () => now });
    // The tracker reads, 30 s late, records appended at 1,000 a second (the health page showed 0 reports/s here).
    const appendedFrom = now - 30_000;
    for (let i = 0; i < 8000; i++) t.apply({ ...reportRecord(`d${i % 1000}`, Math.floor(i / 1000), 48.8, 2.3), timestamp: appendedFrom + i });
    assert.equal(t.stats().reportsPerSecond, 1000, 'the rate of the seconds it read, not 0');
    assert.equal(t.stats('default').reportsPerSecond, 1000, 'per tenant too');
    now += 3000;
    assert.equal(t.stats().reportsPerSecond, 0, 'nothing read for 3 s: the stream is quiet');
  });
});
