/**
 * What every IncidentState (SQLite incidents.db, the shared KV buckets on NATS and Kafka) must do, checked only
 * through the interface: grouping (two far gatherings stay two, a moving one stays one, a lone alert is its own
 * incident, a linking alert merges), exactly once (events applied again change nothing, also after a reopen),
 * lifecycle, tenant scoping, listing and the live feed.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AlertEvent } from '../../src/alerts/types.ts';
import type { IncidentState } from '../../src/incidents/state.ts';
import type { IncidentEvent } from '../../src/incidents/types.ts';
import { MIN, PLACE_A, PLACE_B, T0, alertEvent, offset } from './helpers.ts';

export interface IncidentStateFixture {
  state: IncidentState;
  tenant: string;
  /** The same incidents opened again (another process's view). */
  reopen: () => Promise<IncidentState>;
  cleanup: () => Promise<void>;
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

/** A gathering: `citizens` people at `at`, each seen by its own drone, one per 20 s from `from`. */
function gathering(tenant: string, prefix: string, at: { lat: number; lon: number }, citizens: number, from: number): AlertEvent[] {
  return Array.from({ length: citizens }, (_, i) => alertEvent(tenant, {
    citizen: `${prefix}-${i}`, drone: `${prefix}-drone-${i % 3}`, ts: from + i * 20_000, at: offset(at.lat, at.lon, (i % 3) * 40 - 40, (i % 2) * 50),
  }));
}

export function runIncidentStateConformance(name: string, factory: () => Promise<IncidentStateFixture>): void {
  async function withState(fn: (f: IncidentStateFixture) => Promise<void>): Promise<void> {
    const f = await factory();
    try {
      await fn(f);
    } finally {
      await f.cleanup();
    }
  }

  describe(`incident state conformance: ${name}`, () => {
    it('a lone alert is its own incident, with its alert\'s severity', () => withState(async ({ state, tenant }) => {
      const e = alertEvent(tenant, { citizen: 'lone', ts: T0, at: PLACE_A, severity: 'critical', score: 3 });
      const out = await state.applyAlertEvents([e]);
      assert.deepEqual(out.map((x) => x.type), ['opened']);
      const inc = out[0]!.incident;
      assert.equal(inc.citizenCount, 1);
      assert.equal(inc.alertCount, 1);
      assert.equal(inc.severity, 'critical');
      assert.equal(inc.lowestScore, 3);
      assert.equal(inc.growing, false);
      const rec = await state.get(inc.incidentId, tenant);
      assert.deepEqual(rec?.members.map((m) => m.alertId), [e.alert.alertId]);
      assert.deepEqual(rec?.timeline.map((t) => t.type), ['opened']);
    }));

    it('two gatherings far apart stay two; a citizen seen by several drones counts once', () => withState(async ({ state, tenant }) => {
      const a = gathering(tenant, 'a', PLACE_A, 4, T0);
      const b = gathering(tenant, 'b', PLACE_B, 3, T0);
      // The same citizen a-0 seen by another drone at the same place: a second alert, not a second citizen.
      const twice = alertEvent(tenant, { citizen: 'a-0', drone: 'other-drone', ts: T0 + 90_000, at: PLACE_A });
      await state.applyAlertEvents([...a.slice(0, 2), ...b, ...a.slice(2), twice]);
      const list = await state.list({ tenant });
      assert.equal(list.length, 2, JSON.stringify(list.map((i) => i.centroid)));
      const atA = list.find((i) => Math.abs(i.centroid.lon - PLACE_A.lon) < 0.005)!;
      const atB = list.find((i) => Math.abs(i.centroid.lon - PLACE_B.lon) < 0.005)!;
      assert.equal(atA.citizenCount, 4);
      assert.equal(atA.alertCount, 5);
      assert.equal(atA.droneCount, 4);
      assert.equal(atA.severity, 'warning');
      assert.equal(atB.citizenCount, 3);
      assert.equal(atB.alertCount, 3);
    }));

    it('one gathering moving across the city stays one incident', () => withState(async ({ state, tenant }) => {
      // 6 citizens walking east at 80 m a minute for 25 minutes (2 km), each seen once a minute.
      const firsts = new Map<string, AlertEvent>();
      const events: AlertEvent[] = [];
      for (let minute = 0; minute < 25; minute++) {
        for (let c = 0; c < 6; c++) {
          const citizen = `walker-${c}`;
          const e = alertEvent(tenant, {
            citizen, drone: `d${c}`, ts: T0 + minute * MIN + c * 1000, at: offset(PLACE_A.lat, PLACE_A.lon, c * 20, minute * 80 + c * 10),
            ...(firsts.has(citizen) ? { first: firsts.get(citizen)! } : {}),
          });
          if (!firsts.has(citizen)) firsts.set(citizen, e);
          events.push(e);
        }
      }
      await state.applyAlertEvents(events);
      const live = await state.list({ tenant, status: ['open', 'acknowledged'] });
      assert.equal(live.length, 1, JSON.stringify(live.map((i) => [i.incidentId, i.centroid])));
      const inc = live[0]!;
      assert.equal(inc.citizenCount, 6);
      assert.equal(inc.severity, 'critical');
      assert.ok(inc.centroid.lon > offset(PLACE_A.lat, PLACE_A.lon, 0, 1500).lon, 'the centroid followed the gathering');
      assert.ok(inc.bbox[3] - inc.bbox[1] > 0.02, 'the extent covers the path');
    }));

    it('growing: five citizens in two minutes is growing and critical', () => withState(async ({ state, tenant }) => {
      const out = await state.applyAlertEvents(gathering(tenant, 'g', PLACE_A, 6, T0));
      const last = out.at(-1)!.incident;
      assert.equal(last.growing, true);
      assert.ok(last.growth.citizensPerMinute >= 1, JSON.stringify(last.growth));
      assert.equal(last.severity, 'critical');
      const rec = await state.get(last.incidentId, tenant);
      assert.ok(rec!.timeline.some((t) => t.type === 'growing'));
      assert.equal(rec!.timeline.filter((t) => t.type === 'alert-joined').length, 5);
    }));

    it('an alert within reach of two incidents merges them into the older', () => withState(async ({ state, tenant }) => {
      const west = alertEvent(tenant, { citizen: 'w', ts: T0, at: PLACE_A });
      const east = alertEvent(tenant, { citizen: 'e', ts: T0 + 10_000, at: offset(PLACE_A.lat, PLACE_A.lon, 0, 500) });
      await state.applyAlertEvents([west, east]);
      assert.equal((await state.list({ tenant })).length, 2);
      const link = alertEvent(tenant, { citizen: 'm', ts: T0 + 20_000, at: offset(PLACE_A.lat, PLACE_A.lon, 0, 250) });
      const out = await state.applyAlertEvents([link]);
      assert.deepEqual(out.map((e) => e.type).sort(), ['merged', 'updated']);
      const survivor = out.find((e) => e.type === 'updated')!.incident;
      const merged = out.find((e) => e.type === 'merged')!.incident;
      assert.equal(merged.mergedInto, survivor.incidentId);
      assert.equal(survivor.firstAt, T0, 'the older one survives');
      assert.equal(survivor.citizenCount, 3);
      // An update of the absorbed incident's alert lands in the survivor.
      await state.applyAlertEvents([alertEvent(tenant, { citizen: 'e', ts: T0 + 60_000, at: offset(PLACE_A.lat, PLACE_A.lon, 0, 480), first: east })]);
      const live = await state.list({ tenant, status: ['open'] });
      assert.deepEqual(live.map((i) => i.incidentId), [survivor.incidentId]);
      assert.equal(live[0]!.lastAt, T0 + 60_000);
      assert.equal((await state.get(merged.incidentId, tenant))!.incident.status, 'merged');
    }));

    it('exactly once: applying the same events again changes nothing, also in another process', () => withState(async ({ state, tenant, reopen }) => {
      const events = [...gathering(tenant, 'x', PLACE_A, 4, T0), ...gathering(tenant, 'y', PLACE_B, 2, T0)];
      const first = await state.applyAlertEvents(events);
      assert.ok(first.length >= 6);
      const before = await state.list({ tenant });
      assert.deepEqual(await state.applyAlertEvents(events), []);
      assert.deepEqual(await state.applyAlertEvents(events.slice(2, 5)), []);
      const other = await reopen();
      try {
        assert.deepEqual(await other.applyAlertEvents(events), []);
        assert.deepEqual(await eventually('list in another process', () => other.list({ tenant }), (l) => l.length === 2), before);
      } finally {
        await other.close();
      }
      assert.deepEqual(await state.list({ tenant }), before);
    }));

    it('lifecycle: acknowledge, assign, resolve in the caller\'s name; refused transitions; a later alert opens a new incident', () => withState(async ({ state, tenant }) => {
      const [opened] = await state.applyAlertEvents([alertEvent(tenant, { citizen: 'c1', ts: T0, at: PLACE_A })]);
      const id = opened!.incident.incidentId;
      const ack = await state.change(id, { action: 'acknowledge', note: 'on it' }, 'lucie', tenant);
      assert.equal(ack.type, 'acknowledged');
      assert.equal(ack.by, 'lucie');
      assert.equal(ack.incident.acknowledgedBy, 'lucie');
      await assert.rejects(Promise.resolve().then(() => state.change(id, { action: 'acknowledge' }, 'lucie', tenant)), { code: 'DW_INCIDENT_BAD_TRANSITION' });
      // An acknowledged incident keeps growing.
      await state.applyAlertEvents([alertEvent(tenant, { citizen: 'c2', ts: T0 + MIN, at: PLACE_A })]);
      assert.equal((await state.get(id, tenant))!.incident.citizenCount, 2);
      const asg = await state.change(id, { action: 'assign', assignee: 'team-7' }, 'lucie', tenant);
      assert.equal(asg.incident.assignee, 'team-7');
      const res = await state.change(id, { action: 'resolve' }, 'marc', tenant);
      assert.equal(res.incident.status, 'resolved');
      assert.equal(res.incident.resolvedBy, 'marc');
      const rec = await state.get(id, tenant);
      assert.deepEqual(rec!.timeline.filter((t) => t.by !== null).map((t) => `${t.type}:${t.by}`), ['acknowledged:lucie', 'assigned:lucie', 'resolved:marc']);
      await assert.rejects(Promise.resolve().then(() => state.change(id, { action: 'resolve' }, 'marc', tenant)), { code: 'DW_INCIDENT_BAD_TRANSITION' });
      await assert.rejects(Promise.resolve().then(() => state.change('i0000000000000000', { action: 'resolve' }, 'marc', tenant)), { code: 'DW_INCIDENT_NOT_FOUND' });
      const [again] = await state.applyAlertEvents([alertEvent(tenant, { citizen: 'c3', ts: T0 + 2 * MIN, at: PLACE_A })]);
      assert.equal(again!.type, 'opened');
      assert.notEqual(again!.incident.incidentId, id);
      const rt = await state.reactionTimes(0, Date.now() + 1000, { tenant });
      assert.equal(rt.incidents, 2);
      assert.equal(rt.toAcknowledge.count, 1);
      assert.equal(rt.toResolve.count, 1);
    }));

    it('another tenant\'s incident is not found, listed nor changed', () => withState(async ({ state, tenant }) => {
      const [opened] = await state.applyAlertEvents([alertEvent(tenant, { citizen: 'c1', ts: T0, at: PLACE_A })]);
      const id = opened!.incident.incidentId;
      assert.equal(await state.get(id, 'intruder'), undefined);
      assert.deepEqual(await state.list({ tenant: 'intruder' }), []);
      await assert.rejects(Promise.resolve().then(() => state.change(id, { action: 'acknowledge' }, 'x', 'intruder')), { code: 'DW_INCIDENT_NOT_FOUND' });
      assert.equal((await state.get(id, tenant))!.incident.status, 'open');
    }));

    it('lists by status, since, bbox and limit, latest activity first', () => withState(async ({ state, tenant }) => {
      await state.applyAlertEvents([
        alertEvent(tenant, { citizen: 'p', ts: T0, at: PLACE_A }),
        alertEvent(tenant, { citizen: 'q', ts: T0 + 10 * MIN, at: PLACE_B }),
      ]);
      const all = await state.list({ tenant });
      assert.deepEqual(all.map((i) => i.lastAt), [T0 + 10 * MIN, T0]);
      assert.equal((await state.list({ tenant, since: T0 + MIN })).length, 1);
      assert.equal((await state.list({ tenant, limit: 1 })).length, 1);
      const box = [PLACE_A.lat - 0.01, PLACE_A.lon - 0.01, PLACE_A.lat + 0.01, PLACE_A.lon + 0.01] as const;
      assert.deepEqual((await state.list({ tenant, bbox: box })).map((i) => i.lastAt), [T0]);
      await state.change(all[1]!.incidentId, { action: 'acknowledge' }, 'lucie', tenant);
      assert.deepEqual((await eventually('acknowledged listed', () => state.list({ tenant, status: ['acknowledged'] }), (l) => l.length === 1))[0]!.incidentId, all[1]!.incidentId);
      assert.equal((await state.list({ tenant, status: ['open'] })).length, 1);
    }));

    it('the live feed carries changes made here and in another process', () => withState(async ({ state, tenant, reopen }) => {
      const seen: IncidentEvent[] = [];
      const off = state.subscribe((e) => seen.push(e));
      const other = await reopen();
      try {
        const [opened] = await state.applyAlertEvents([alertEvent(tenant, { citizen: 'c', ts: T0, at: PLACE_A })]);
        assert.equal(seen[0]?.type, 'opened');
        await other.change(opened!.incident.incidentId, { action: 'acknowledge' }, 'remote', tenant);
        const got = await eventually('the other process\'s change', () => seen.map((e) => `${e.type}:${e.by}`), (s) => s.includes('acknowledged:remote'));
        assert.equal(got.filter((x) => x === 'opened:null').length, 1, 'each change once');
      } finally {
        off();
        await other.close();
      }
    }));
  });
}
