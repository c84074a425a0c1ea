import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import type Database from 'better-sqlite3';
import { SqliteIncidentStore } from '../../src/backend/incidents.ts';
import { alertEvent, GROUPING, offset, PLACE_A, T0 } from './helpers.ts';

// An incident's members are rows of their own in incidents.db (src/backend/sqlite/incidents/schema.ts): an alert joining
// a crowd writes its own member, not the crowd's (a riot of 3,000 alerts cost ~O(members) an alert when the record
// was one row: docs/incidents.md, "Cost on the alert path").

function withStore(run: (store: SqliteIncidentStore, db: Database.Database, dir: string) => void): void {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'dw-inc-members-'));
  const store = new SqliteIncidentStore({ dir, grouping: GROUPING, now: () => T0 });
  try {
    run(store, (store as unknown as { db: Database.Database }).db, dir);
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const crowd = (i: number) => alertEvent('default', { citizen: `c${i}`, drone: `d${i % 7}`, ts: T0 + i * 100, at: offset(PLACE_A.lat, PLACE_A.lon, (i % 9) * 5, (i % 4) * 5) });
const changes = (db: Database.Database): number => (db.prepare('SELECT total_changes() AS n').get() as { n: number }).n;

describe('SQLite incident store: members in rows of their own', () => {
  it('keeps the body without members, one row a member, and reads them back in the record\'s order', () => {
    withStore((store, db) => {
      for (let i = 0; i < 50; i++) store.applyAlertEvents([crowd(i)]);
      const rows0 = db.prepare('SELECT incident_id AS id, body FROM incidents').all() as { id: string; body: string }[];
      assert.equal(rows0.length, 1, 'the crowd is one incident');
      const { id, body } = rows0[0]!;
      assert.equal((JSON.parse(body) as { members?: unknown }).members, undefined);
      const rows = db.prepare('SELECT count(*) AS n FROM incident_members WHERE incident_id = ?').get(id) as { n: number };
      assert.equal(rows.n, 50);
      const rec = store.get(id)!;
      assert.equal(rec.members.length, 50);
      assert.equal(rec.incident.alertCount, 50);
      const ids = rec.members.map((m) => m.alertId);
      assert.deepEqual(ids, [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    });
  });

  it('writes only what an alert changes: its member, the incident and the alert\'s holder', () => {
    withStore((store, db) => {
      for (let i = 0; i < 200; i++) store.applyAlertEvents([crowd(i)]);
      const before = changes(db);
      const first = crowd(200);
      store.applyAlertEvents([first]);
      assert.equal(changes(db) - before, 3, 'a member row, the incident row, the incident_alerts row');
      // The same alert seen again later: its member is updated in place, nothing else of the crowd is written.
      const again = alertEvent('default', { citizen: 'c200', drone: 'd4', ts: T0 + 30_000, at: PLACE_A, first });
      const mid = changes(db);
      store.applyAlertEvents([again]);
      assert.equal(changes(db) - mid, 3);
      const rec = store.get(store.list({ limit: 1 })[0]!.incidentId)!;
      assert.equal(rec.members.length, 201);
      assert.equal(rec.members.find((m) => m.citizen === 'c200')!.lastSeenTs, T0 + 30_000);
    });
  });

  it('reads a body written before members had rows, and moves its members into rows on its next write', () => {
    withStore((store, db, dir) => {
      for (let i = 0; i < 20; i++) store.applyAlertEvents([crowd(i)]);
      const id = store.list({ limit: 1 })[0]!.incidentId;
      const whole = store.get(id)!;
      // As a store of the previous version left it: the members inside the body, no rows.
      db.prepare('UPDATE incidents SET body = ? WHERE incident_id = ?').run(JSON.stringify(whole), id);
      db.prepare('DELETE FROM incident_members').run();
      const reopened = new SqliteIncidentStore({ dir, grouping: GROUPING, now: () => T0 });
      try {
        assert.deepEqual(reopened.get(id)!.members, whole.members);
        reopened.applyAlertEvents([crowd(20)]);
        const rec = reopened.get(id)!;
        assert.equal(rec.members.length, 21);
        assert.deepEqual(rec.members.filter((m) => m.citizen !== 'c20'), whole.members);
        const rows = db.prepare('SELECT count(*) AS n FROM incident_members WHERE incident_id = ?').get(id) as { n: number };
        assert.equal(rows.n, 21);
        const body = (db.prepare('SELECT body FROM incidents WHERE incident_id = ?').get(id) as { body: string }).body;
        assert.equal((JSON.parse(body) as { members?: unknown }).members, undefined);
      } finally {
        reopened.close();
      }
    });
  });
});
