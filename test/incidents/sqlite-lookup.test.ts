import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { SqliteIncidentStore } from '../../src/backend/incidents.ts';
import type { IncidentLookup } from '../../src/incidents/grouping.ts';
import { alertEvent, GROUPING } from './helpers.ts';

describe('SQLite incident store: the lookup of incidents near a sighting', () => {
  it('reads only the incidents active within the window when given one, and still groups as before', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'dw-inc-lookup-'));
    const store = new SqliteIncidentStore({ dir, grouping: GROUPING });
    try {
      const T0 = 1_750_000_000_000;
      const place = { lat: 48.8566, lon: 2.3522 };
      // An incident at the place an hour earlier (still open: only an officer resolves it), and one active now.
      store.applyAlertEvents([alertEvent('default', { citizen: 'old', ts: T0 - 3_600_000, at: place })]);
      store.applyAlertEvents([alertEvent('default', { citizen: 'recent', ts: T0 - 60_000, at: { lat: place.lat + 0.0001, lon: place.lon } })]);
      const lookup = (store as unknown as { lookup: IncidentLookup }).lookup;
      const all = lookup.near('default', place.lat, place.lon);
      assert.equal(all.length, 2, 'without a window: every live incident of the cells');
      const active = lookup.near('default', place.lat, place.lon, { lastAtFrom: T0 - GROUPING.windowMs, firstAtTo: T0 + GROUPING.windowMs });
      assert.deepEqual(active.map((r) => r.members[0]!.citizen), ['recent']);
      // The sighting joins the active incident, not the hour-old one.
      const events = store.applyAlertEvents([alertEvent('default', { citizen: 'new', ts: T0, at: place })]);
      assert.equal(events.length, 1);
      assert.equal(events[0]!.type, 'updated');
      assert.deepEqual(store.get(events[0]!.incident.incidentId)!.members.map((m) => m.citizen).sort(), ['new', 'recent']);
    } finally {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
