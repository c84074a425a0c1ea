/**
 * Determinism of the grouping: replaying the same alert events gives the same incidents, ids and all (only the wall
 * clock fields differ, and they are pinned here), whatever the batching; and the geometry it relies on.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { AlertEvent } from '../../src/alerts/types.ts';
import { SqliteIncidentStore } from '../../src/backend/incidents.ts';
import { cellOf, cellsAround, distanceM } from '../../src/incidents/geo.ts';
import { tempDir } from '../../src/testkit/index.ts';
import { GROUPING, MIN, PLACE_A, T0, alertEvent, offset } from './helpers.ts';

function scene(): AlertEvent[] {
  // Three gatherings (one marching), scattered lone alerts, and updates of earlier alerts.
  let x = 3;
  const rnd = (): number => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const events: AlertEvent[] = [];
  const firsts = new Map<string, AlertEvent>();
  for (let m = 0; m < 30; m++) {
    for (let g = 0; g < 3; g++) {
      for (let c = 0; c < 4; c++) {
        const citizen = `g${g}-c${(m + c) % 7}`;
        const key = `${citizen}/d${g}${c % 2}`;
        const first = firsts.get(key);
        const e = alertEvent('default', {
          citizen, drone: `d${g}${c % 2}`, ts: T0 + m * MIN + c * 1000,
          at: offset(PLACE_A.lat, PLACE_A.lon, g * 2500 + rnd() * 80, (g === 1 ? m * 60 : 0) + rnd() * 80),
          ...(first && m * MIN - (first.alert.firstSeenTs - T0) < 8 * MIN ? { first } : {}),
        });
        if (!first || e.type === 'raised') firsts.set(key, e);
        events.push(e);
      }
    }
    events.push(alertEvent('default', { citizen: `lone-${m}`, drone: 'dl', ts: T0 + m * MIN, at: offset(PLACE_A.lat, PLACE_A.lon, -4000 - rnd() * 3000, rnd() * 8000) }));
  }
  return events;
}

describe('grouping', () => {
  const tmp = tempDir('dw-grouping-');
  after(() => tmp.cleanup());

  it('is deterministic: the same events give the same incidents, in one batch or one by one', () => {
    const events = scene();
    const run = (name: string, batch: number) => {
      const s = new SqliteIncidentStore({ dir: `${tmp.dir}/${name}`, grouping: GROUPING, now: () => 0 });
      for (let i = 0; i < events.length; i += batch) s.applyAlertEvents(events.slice(i, i + batch));
      const all = s.list({ limit: 1000 }).map((i) => s.get(i.incidentId));
      s.close();
      return all;
    };
    const a = run('a', events.length);
    const b = run('b', 1);
    const c = run('c', 7);
    assert.deepEqual(b, a);
    assert.deepEqual(c, a);
    const live = a.filter((r) => r!.incident.status !== 'merged' && r!.incident.citizenCount >= 3);
    assert.equal(live.length, 3, 'three gatherings, the marching one included');
  });

  it('finds every cell within reach: cellsAround covers all points within twice the cell size', () => {
    let x = 9;
    const rnd = (): number => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 2 ** 32);
    for (const lat of [0.1, 48.85, -33.9, 64.1, 78]) {
      for (let i = 0; i < 300; i++) {
        const p = { lat: lat + rnd() * 0.01, lon: 2 + rnd() * 0.01 };
        const q = offset(p.lat, p.lon, (rnd() - 0.5) * 1200, (rnd() - 0.5) * 1200);
        if (distanceM(p, q) > 600) continue;
        assert.ok(cellsAround(p.lat, p.lon, 300).includes(cellOf(q.lat, q.lon, 300)), `${JSON.stringify(p)} -> ${JSON.stringify(q)}`);
      }
    }
  });
});
