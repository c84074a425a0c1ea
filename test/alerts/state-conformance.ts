/**
 * The alert state conformance suite: what every AlertState (SQLite alerts.db, JetStream KV, and any later backend)
 * must do, checked only through the AlertState interface. Views that a shared state serves from a followed copy
 * (list, counts, reaction times) are read with `eventually`: they may lag a write by the watch's latency.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { compileRules, evaluateReport, type AlertEvent, type AlertState, type ReportCandidates } from '../../src/alerts/index.ts';
import type { AcceptedReport } from '../../src/contract/types.ts';
import { report } from './helpers.ts';

export interface AlertStateFixture {
  state: AlertState;
  /** The tenant whose alerts this state holds (a shared state is opened for one tenant). */
  tenant: string;
  /** The dedup window the state was opened with. */
  windowMs: number;
  /** Opens the same alerts again (after `state` was closed by the test). */
  reopen: () => Promise<AlertState>;
  /** Closes whatever is still open and removes the data. */
  cleanup: () => Promise<void>;
}

export type AlertStateFactory = () => Promise<AlertStateFixture>;

const rules = compileRules({ threshold: 20, criticalThreshold: 5, wordRules: [] });
const T0 = 1_750_000_000_000;
let seq = 0;

/** A report of one drone at `ts` seeing `citizens`, with a stream position unique in the run (the KV state's idempotency key). */
function sighting(tenant: string, o: { drone?: string; ts: number; citizens: { name: string; score: number }[]; lat?: number; lon?: number }): ReportCandidates {
  const r: AcceptedReport = report({
    droneId: o.drone ?? 'drone-1', ts: o.ts, citizens: o.citizens, tenant, position: { lat: o.lat ?? 48.85, lon: o.lon ?? 2.35 },
  });
  return { report: r, candidates: evaluateReport(r, rules), position: { partition: 0, offset: ++seq } };
}

async function eventually<T>(what: string, read: () => T | Promise<T>, ok: (v: T) => boolean, timeoutMs = 5000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (ok(v) || Date.now() > until) {
      assert.ok(ok(v), `${what}: got ${JSON.stringify(v).slice(0, 400)}`);
      return v;
    }
    await sleep(25);
  }
}

const types = (events: readonly AlertEvent[]): string[] => events.map((e) => `${e.type}:${e.alert.citizen}`);

export function runAlertStateConformance(name: string, factory: AlertStateFactory): void {
  async function withState(fn: (f: AlertStateFixture) => Promise<void>): Promise<void> {
    const f = await factory();
    try {
      await fn(f);
    } finally {
      await f.cleanup();
    }
  }

  describe(`alert state conformance: ${name}`, { timeout: 120_000 }, () => {
    it('a low score raises one alert with the citizen, the drone, the position and the severity', () => withState(async ({ state, tenant }) => {
      const { events } = await state.applySightings([
        sighting(tenant, { ts: T0, citizens: [{ name: 'Ada Low', score: 3 }, { name: 'Ben Fine', score: 80 }], lat: 48.86, lon: 2.34 }),
      ]);
      assert.deepEqual(types(events), ['raised:Ada Low'], 'only the low score raises');
      const a = events[0]!.alert;
      assert.equal(a.status, 'open');
      assert.equal(a.severity, 'critical', 'score 3 is under the critical threshold 5');
      assert.equal(a.tenant, tenant);
      assert.equal(a.droneId, 'drone-1');
      assert.deepEqual(a.position, { lat: 48.86, lon: 2.34 });
      assert.equal(a.occurrences, 1);
      assert.deepEqual(await state.get(a.alertId), a, 'get returns what was raised');
      assert.equal(await state.get('no-such-alert'), undefined);
      await eventually('list holds it', () => state.list({ tenant }), (l) => l.length === 1 && l[0]!.alertId === a.alertId);
      await eventually('counts', () => state.countByStatus(), (c) => c.open === 1 && c.acknowledged === 0 && c.resolved === 0);
    }));

    it('sightings within the dedup window update the alert; outside it, or by another drone, raise another', () => withState(async ({ state, tenant, windowMs }) => {
      const first = await state.applySightings([sighting(tenant, { ts: T0, citizens: [{ name: 'Cleo', score: 15 }] })]);
      const again = await state.applySightings([sighting(tenant, { ts: T0 + windowMs / 2, citizens: [{ name: 'Cleo', score: 4 }], lat: 48.9 })]);
      assert.deepEqual(types(again.events), ['updated:Cleo']);
      const updated = again.events[0]!.alert;
      assert.equal(updated.alertId, first.events[0]!.alert.alertId, 'the same alert');
      assert.equal(updated.occurrences, 2);
      assert.equal(updated.score, 4, 'the lowest score');
      assert.equal(updated.severity, 'critical', 'escalated by the lower score');
      assert.equal(updated.position.lat, 48.9, 'the latest position');
      const later = await state.applySightings([sighting(tenant, { ts: T0 + windowMs * 3, citizens: [{ name: 'Cleo', score: 15 }] })]);
      assert.deepEqual(types(later.events), ['raised:Cleo'], 'past the window: a new alert');
      const other = await state.applySightings([sighting(tenant, { drone: 'drone-2', ts: T0, citizens: [{ name: 'Cleo', score: 15 }] })]);
      assert.deepEqual(types(other.events), ['raised:Cleo'], 'another drone: its own alert');
      const ids = new Set([updated.alertId, later.events[0]!.alert.alertId, other.events[0]!.alert.alertId]);
      assert.equal(ids.size, 3);
      await eventually('three alerts listed', () => state.list({ tenant, limit: 10 }), (l) => l.length === 3);
    }));

    it('a redelivered report changes nothing and announces nothing again', () => withState(async ({ state, tenant }) => {
      const s = sighting(tenant, { ts: T0, citizens: [{ name: 'Dan', score: 10 }, { name: 'Eve', score: 12 }] });
      const first = await state.applySightings([s]);
      assert.deepEqual(types(first.events).sort(), ['raised:Dan', 'raised:Eve']);
      const again = await state.applySightings([s]);
      assert.equal(again.events.length, 0, 'no new event for a report already applied');
      for (const e of again.republish) assert.ok(first.events.some((f) => f.eventId === e.eventId), 'a republished event has its first id');
      for (const e of first.events) {
        const a = await state.get(e.alert.alertId);
        assert.equal(a?.occurrences, 1, 'counted once');
      }
    }));

    it('officers acknowledge, assign and resolve; a status that does not allow a change is refused', () => withState(async ({ state, tenant }) => {
      const { events } = await state.applySightings([sighting(tenant, { ts: T0, citizens: [{ name: 'Fay', score: 9 }] })]);
      const id = events[0]!.alert.alertId;
      const ack = await state.acknowledge(id, 'lucie', 'on it');
      assert.equal(ack.type, 'acknowledged');
      assert.equal(ack.by, 'lucie');
      assert.equal(ack.alert.status, 'acknowledged');
      assert.equal(ack.alert.acknowledgedBy, 'lucie');
      assert.equal(ack.alert.note, 'on it');
      await assert.rejects(Promise.resolve().then(() => state.acknowledge(id, 'marc')), { code: 'DW_ALERT_BAD_TRANSITION' }, 'acknowledged twice');
      const assigned = await state.assign(id, 'Brigade 12', 'lucie');
      assert.equal(assigned.type, 'assigned');
      assert.equal(assigned.alert.assignee, 'Brigade 12');
      assert.equal(assigned.alert.status, 'acknowledged', 'assigning keeps the status');
      const resolved = await state.resolve(id, 'marc', 'dispersed');
      assert.equal(resolved.alert.status, 'resolved');
      assert.equal(resolved.alert.resolvedBy, 'marc');
      await assert.rejects(Promise.resolve().then(() => state.resolve(id, 'marc')), { code: 'DW_ALERT_BAD_TRANSITION' });
      await assert.rejects(Promise.resolve().then(() => state.assign(id, 'x', 'marc')), { code: 'DW_ALERT_BAD_TRANSITION' });
      await assert.rejects(Promise.resolve().then(() => state.acknowledge('no-such-alert', 'marc')), { code: 'DW_ALERT_NOT_FOUND' });
      const stored = await state.get(id);
      assert.equal(stored?.status, 'resolved');
      assert.equal(stored?.assignee, 'Brigade 12');
      const after = await state.applySightings([sighting(tenant, { ts: T0 + 1000, citizens: [{ name: 'Fay', score: 9 }] })]);
      assert.deepEqual(types(after.events), ['raised:Fay'], 'a sighting after the resolution opens a new alert');
      assert.notEqual(after.events[0]!.alert.alertId, id);
      await eventually('counts by status', () => state.countByStatus(), (c) => c.open === 1 && c.resolved === 1);
    }));

    it('lists newest first, filtered by status, drone, citizen, time and area, up to a limit', () => withState(async ({ state, tenant }) => {
      const batch = [
        sighting(tenant, { drone: 'd-a', ts: T0, citizens: [{ name: 'G1', score: 10 }], lat: 48.80, lon: 2.30 }),
        sighting(tenant, { drone: 'd-b', ts: T0 + 1000, citizens: [{ name: 'G2', score: 10 }], lat: 48.90, lon: 2.40 }),
        sighting(tenant, { drone: 'd-c', ts: T0 + 2000, citizens: [{ name: 'G3', score: 10 }], lat: 48.95, lon: 2.45 }),
      ];
      const ids: string[] = [];
      for (const s of batch) {
        ids.push((await state.applySightings([s])).events[0]!.alert.alertId);
        await sleep(5); // distinct raisedAt
      }
      await state.acknowledge(ids[1]!, 'lucie');
      await eventually('all three', () => state.list({ tenant }), (l) => l.length === 3);
      const all = await state.list({ tenant });
      assert.deepEqual(all.map((a) => a.citizen), ['G3', 'G2', 'G1'], 'newest first');
      assert.deepEqual((await eventually('open', () => state.list({ tenant, status: 'open' }), (l) => l.length === 2)).map((a) => a.citizen), ['G3', 'G1']);
      assert.equal((await state.list({ tenant, status: ['open', 'acknowledged'] })).length, 3);
      assert.deepEqual((await state.list({ tenant, droneId: 'd-b' })).map((a) => a.citizen), ['G2']);
      assert.deepEqual((await state.list({ tenant, citizen: 'G1' })).map((a) => a.citizen), ['G1']);
      assert.deepEqual((await state.list({ tenant, bbox: [48.85, 2.35, 48.92, 2.42] })).map((a) => a.citizen), ['G2']);
      const g2 = all.find((a) => a.citizen === 'G2')!;
      assert.deepEqual((await state.list({ tenant, since: g2.raisedAt })).map((a) => a.citizen), ['G3', 'G2']);
      assert.equal((await state.list({ tenant, limit: 1 })).length, 1);
      assert.equal((await state.list({ tenant: 'another-force' })).length, 0, 'another tenant sees none of them');
    }));

    it('reaction times count the alerts acknowledged and resolved in a period', () => withState(async ({ state, tenant }) => {
      const from = Date.now() - 1000;
      const { events } = await state.applySightings([sighting(tenant, { ts: T0, citizens: [{ name: 'H1', score: 10 }, { name: 'H2', score: 11 }] })]);
      await state.acknowledge(events[0]!.alert.alertId, 'lucie');
      await state.resolve(events[1]!.alert.alertId, 'lucie');
      const rt = await eventually('reaction times', () => state.reactionTimes(from, Date.now() + 60_000, { tenant }),
        (r) => r.alerts === 2 && r.toAcknowledge.count === 1 && r.toResolve.count === 1);
      assert.ok(rt.toAcknowledge.p50Ms !== null && rt.toAcknowledge.p50Ms >= 0);
    }));

    it('keeps its alerts across a close and reopen', () => withState(async ({ state, tenant, reopen }) => {
      const { events } = await state.applySightings([sighting(tenant, { ts: T0, citizens: [{ name: 'Ivy', score: 7 }] })]);
      const id = events[0]!.alert.alertId;
      await state.acknowledge(id, 'lucie');
      await state.close();
      const again = await reopen();
      const a = await eventually('the alert after reopening', () => again.get(id), (x) => x !== undefined);
      assert.equal(a?.status, 'acknowledged');
      assert.equal(a?.acknowledgedBy, 'lucie');
      const next = await again.applySightings([sighting(tenant, { ts: T0 + 1000, citizens: [{ name: 'Ivy', score: 6 }] })]);
      assert.deepEqual(types(next.events), ['updated:Ivy'], 'the dedup window holds across the reopen');
    }));
  });
}
