import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { SqliteIncidentStore } from '../../src/backend/incidents.ts';
import { nearSql } from '../../src/backend/sqlite/incidents/store.ts';
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

  it('answers the lookup from the live cells\' index, not by reading every recent incident of the tenant', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'dw-inc-plan-'));
    const store = new SqliteIncidentStore({ dir, grouping: GROUPING });
    try {
      // Many recent incidents far apart: with (tenant, cell) alone the planner took the (tenant, last_at) index.
      const T0 = 1_750_000_000_000;
      store.applyAlertEvents(Array.from({ length: 300 }, (_, i) =>
        alertEvent('default', { citizen: `c${i}`, ts: T0 + i, at: { lat: 48 + (i % 30) * 0.05, lon: 2 + Math.floor(i / 30) * 0.05 } })));
      const db = (store as unknown as { db: Database.Database }).db;
      const params = ['default', ...Array.from({ length: 9 }, (_, i) => `cell${i}`), T0 - 60_000, T0 + 60_000];
      const plan = (db.prepare(`EXPLAIN QUERY PLAN ${nearSql(9, true)}`).all(...params) as { detail: string }[]).map((r) => r.detail).join('; ');
      assert.match(plan, /USING (COVERING )?INDEX incidents_live_cells \(tenant=\? AND cell=\? AND last_at>\?\)/, plan);
    } finally {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('decodes an incident again when another process sharing the file changed it (its version moved)', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'dw-inc-known-'));
    const T0 = 1_750_000_000_000;
    const a = new SqliteIncidentStore({ dir, grouping: GROUPING, now: () => T0 });
    const b = new SqliteIncidentStore({ dir, grouping: GROUPING, now: () => T0 });
    try {
      const place = { lat: 48.8566, lon: 2.3522 };
      const [opened] = a.applyAlertEvents([alertEvent('default', { citizen: 'one', ts: T0, at: place })]);
      const id = opened!.incident.incidentId;
      // `a` keeps version 1 decoded; `b` moves the incident to versions 2 and 3.
      b.applyAlertEvents([alertEvent('default', { citizen: 'two', ts: T0 + 1000, at: place })]);
      b.change(id, { action: 'acknowledge' }, 'lucie', 'default');
      const [joined] = a.applyAlertEvents([alertEvent('default', { citizen: 'three', ts: T0 + 2000, at: place })]);
      assert.equal(joined!.incident.incidentId, id);
      const rec = a.get(id)!;
      assert.equal(rec.version, 4);
      assert.equal(rec.incident.status, 'acknowledged', 'the officer\'s acknowledgement, made by the other process, kept');
      assert.deepEqual(rec.members.map((m) => m.citizen).sort(), ['one', 'three', 'two']);
      // And `b`, which knows version 3, reads `a`'s version 4.
      const [fourth] = b.applyAlertEvents([alertEvent('default', { citizen: 'four', ts: T0 + 3000, at: place })]);
      assert.equal(fourth!.incident.incidentId, id);
      assert.deepEqual(b.get(id)!.members.map((m) => m.citizen).sort(), ['four', 'one', 'three', 'two']);
    } finally {
      a.close();
      b.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('replaces the index of an incidents.db written before the activity columns were in it', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'dw-inc-old-index-'));
    try {
      new SqliteIncidentStore({ dir, grouping: GROUPING }).close();
      const old = new Database(path.join(dir, 'incidents.db'));
      old.exec(`DROP INDEX incidents_live_cells; CREATE INDEX incidents_live ON incidents (tenant, cell) WHERE status IN ('open', 'acknowledged')`);
      old.close();
      const store = new SqliteIncidentStore({ dir, grouping: GROUPING });
      const db = (store as unknown as { db: Database.Database }).db;
      const names = (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'incidents_live%'`).all() as { name: string }[]).map((r) => r.name);
      store.close();
      assert.deepEqual(names, ['incidents_live_cells']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
