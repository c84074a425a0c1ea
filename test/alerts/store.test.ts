import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { alertIdOf, compileRules, evaluateReport, type AlertEvent } from '../../src/alerts/index.ts';
import { isDwError } from '../../src/errors/index.ts';
import { tempDir } from '../../src/testkit/index.ts';
import { alertsConfig, manualClock, report } from './helpers.ts';
import { AlertStore, openAlertStore } from '../../src/backend/index.ts';

const rules = compileRules(alertsConfig);
const W = alertsConfig.dedupWindowMs;
const T0 = 1_700_000_000_000;

function sighting(store: AlertStore, opts: Parameters<typeof report>[0]): AlertEvent[] {
  const r = report(opts);
  return store.applyReport(r, evaluateReport(r, rules));
}

function rejects(fn: () => unknown, code: string, status: number): void {
  assert.throws(fn, (e: unknown) => isDwError(e) && e.code === code && e.status === status);
}

describe('alert store', () => {
  const tmp = tempDir();
  let n = 0;
  let store: AlertStore;
  let clock: ReturnType<typeof manualClock>;
  beforeEach(() => {
    store?.close();
    clock = manualClock();
    store = openAlertStore({ dataDir: path.join(tmp.dir, `s${n++}`), dedupWindowMs: W, now: clock.now });
  });
  after(() => {
    store?.close();
    tmp.cleanup();
  });

  it('raises an alert with a deterministic id and a raised event', () => {
    const [e, ...rest] = sighting(store, { ts: T0, citizens: [{ name: 'ann', score: 12 }], words: ['x'] });
    assert.equal(rest.length, 0);
    assert.equal(e!.type, 'raised');
    assert.equal(e!.by, null);
    assert.equal(e!.at, clock.now());
    const a = e!.alert;
    assert.equal(a.alertId, alertIdOf('default', `drone-1:${T0}`, 'ann'));
    assert.match(a.alertId, /^[0-9a-f]{16}$/);
    assert.deepEqual(store.get(a.alertId), a);
    assert.equal(a.status, 'open');
    assert.equal(a.occurrences, 1);
    assert.equal(a.severity, 'warning');
    assert.equal(a.firstReportId, a.lastReportId);
    assert.deepEqual(a.words, ['x']);
  });

  it('updates the open alert when the same drone sees the citizen again within the window', () => {
    const [raised] = sighting(store, { ts: T0, citizens: [{ name: 'ann', score: 12 }] });
    clock.advance(1000);
    const [upd] = sighting(store, { ts: T0 + W, citizens: [{ name: 'ann', score: 3 }], words: ['w'], position: { lat: 1, lon: 2 } });
    assert.equal(upd!.type, 'updated');
    const a = upd!.alert;
    assert.equal(a.alertId, raised!.alert.alertId);
    assert.equal(a.occurrences, 2);
    assert.equal(a.score, 3);
    assert.equal(a.severity, 'critical', 'severity escalates');
    assert.deepEqual(a.position, { lat: 1, lon: 2 });
    assert.deepEqual(a.words, ['w']);
    assert.equal(a.lastReportId, `drone-1:${T0 + W}`);
    assert.equal(a.lastSeenTs, T0 + W);
    assert.equal(a.firstSeenTs, T0);
    assert.equal(a.raisedAt, raised!.at);
    assert.equal(a.updatedAt, clock.now());
    // A milder later sighting neither lowers the severity nor raises the score.
    const [upd2] = sighting(store, { ts: T0 + W + 10, citizens: [{ name: 'ann', score: 15 }] });
    assert.equal(upd2!.alert.severity, 'critical');
    assert.equal(upd2!.alert.score, 3);
    assert.equal(upd2!.alert.occurrences, 3);
    assert.equal(store.list().length, 1);
  });

  it('opens a new alert after the window, for another drone, and after resolution', () => {
    const [first] = sighting(store, { ts: T0, citizens: [{ name: 'ann', score: 12 }] });
    const [late] = sighting(store, { ts: T0 + W + 1, citizens: [{ name: 'ann', score: 12 }] });
    assert.equal(late!.type, 'raised');
    assert.notEqual(late!.alert.alertId, first!.alert.alertId);
    const [other] = sighting(store, { droneId: 'drone-2', ts: T0 + W + 2, citizens: [{ name: 'ann', score: 12 }] });
    assert.equal(other!.type, 'raised');
    store.resolve(late!.alert.alertId, 'officer');
    const [afterResolve] = sighting(store, { ts: T0 + W + 3, citizens: [{ name: 'ann', score: 12 }] });
    assert.equal(afterResolve!.type, 'raised');
    assert.equal(store.list().length, 4);
    assert.equal(store.get(first!.alert.alertId)!.occurrences, 1);
  });

  it('keeps updating an acknowledged alert', () => {
    const [raised] = sighting(store, { ts: T0, citizens: [{ name: 'ann', score: 12 }] });
    store.acknowledge(raised!.alert.alertId, 'officer');
    const [upd] = sighting(store, { ts: T0 + 10, citizens: [{ name: 'ann', score: 12 }] });
    assert.equal(upd!.type, 'updated');
    assert.equal(upd!.alert.status, 'acknowledged');
  });

  it('counts a late (out-of-order) sighting without replacing the latest position', () => {
    sighting(store, { ts: T0, citizens: [{ name: 'ann', score: 12 }], position: { lat: 1, lon: 1 } });
    sighting(store, { ts: T0 + 20_000, citizens: [{ name: 'ann', score: 12 }], position: { lat: 2, lon: 2 } });
    const [late] = sighting(store, { ts: T0 + 5_000, citizens: [{ name: 'ann', score: 11 }], position: { lat: 9, lon: 9 } });
    assert.equal(late!.type, 'updated');
    assert.equal(late!.alert.occurrences, 3);
    assert.equal(late!.alert.score, 11);
    assert.deepEqual(late!.alert.position, { lat: 2, lon: 2 });
    assert.equal(late!.alert.lastSeenTs, T0 + 20_000);
  });

  it('changes nothing when the same report is applied again (redelivery)', () => {
    const r1 = report({ ts: T0, citizens: [{ name: 'ann', score: 12 }, { name: 'bob', score: 2 }] });
    const r2 = report({ ts: T0 + 1000, citizens: [{ name: 'ann', score: 10 }] });
    const batch = [r1, r2].map((r) => ({ report: r, candidates: evaluateReport(r, rules) }));
    const events = store.applyReports(batch);
    assert.deepEqual(events.map((e) => e.type), ['raised', 'raised', 'updated']);
    const before = store.list();
    const pending = store.pendingEvents();
    clock.advance(5000);
    assert.deepEqual(store.applyReports(batch), []);
    assert.deepEqual(store.applyReports(batch.slice(1)), []);
    assert.deepEqual(store.list(), before);
    assert.deepEqual(store.pendingEvents(), pending);
  });

  it('gives the same ids for the same input in another store', () => {
    const other = openAlertStore({ dataDir: path.join(tmp.dir, `other${n++}`), dedupWindowMs: W, now: clock.now });
    try {
      const input = [{ ts: T0, citizens: [{ name: 'ann', score: 12 }] }, { ts: T0 + 1, citizens: [{ name: 'ann', score: 1 }] }];
      const a = input.flatMap((i) => sighting(store, i)).map((e) => e.eventId);
      const b = input.flatMap((i) => sighting(other, i)).map((e) => e.eventId);
      assert.deepEqual(a, b);
      assert.equal(new Set(a).size, 2);
    } finally {
      other.close();
    }
  });

  describe('lifecycle', () => {
    let id: string;
    beforeEach(() => {
      id = sighting(store, { ts: T0, citizens: [{ name: 'ann', score: 12 }] })[0]!.alert.alertId;
    });

    it('open -> acknowledged -> resolved', () => {
      clock.advance(10);
      const ack = store.acknowledge(id, 'maria', 'on it');
      assert.equal(ack.type, 'acknowledged');
      assert.equal(ack.by, 'maria');
      assert.equal(ack.alert.status, 'acknowledged');
      assert.equal(ack.alert.acknowledgedBy, 'maria');
      assert.equal(ack.alert.acknowledgedAt, clock.now());
      assert.equal(ack.alert.note, 'on it');
      clock.advance(10);
      const res = store.resolve(id, 'paul');
      assert.equal(res.alert.status, 'resolved');
      assert.equal(res.alert.resolvedBy, 'paul');
      assert.equal(res.alert.resolvedAt, clock.now());
      assert.equal(res.alert.note, 'on it', 'note kept when none given');
      assert.deepEqual(store.get(id), res.alert);
    });

    it('open -> resolved', () => {
      assert.equal(store.resolve(id, 'paul', 'false positive').alert.status, 'resolved');
    });

    it('assigns while not resolved; each change has its own event id', () => {
      const a1 = store.assign(id, 'unit-7', 'maria');
      const a2 = store.assign(id, 'unit-9', 'maria');
      assert.equal(a2.alert.assignee, 'unit-9');
      assert.equal(a2.alert.status, 'open');
      assert.notEqual(a1.eventId, a2.eventId);
    });

    it('refuses other transitions with DW_ALERT_BAD_TRANSITION (409)', () => {
      store.acknowledge(id, 'maria');
      rejects(() => store.acknowledge(id, 'maria'), 'DW_ALERT_BAD_TRANSITION', 409);
      store.resolve(id, 'maria');
      rejects(() => store.resolve(id, 'maria'), 'DW_ALERT_BAD_TRANSITION', 409);
      rejects(() => store.acknowledge(id, 'maria'), 'DW_ALERT_BAD_TRANSITION', 409);
      rejects(() => store.assign(id, 'unit-7', 'maria'), 'DW_ALERT_BAD_TRANSITION', 409);
      assert.equal(store.get(id)!.status, 'resolved');
    });

    it('answers DW_ALERT_NOT_FOUND (404) for an unknown id', () => {
      rejects(() => store.acknowledge('nope', 'maria'), 'DW_ALERT_NOT_FOUND', 404);
      rejects(() => store.resolve('nope', 'maria'), 'DW_ALERT_NOT_FOUND', 404);
      rejects(() => store.assign('nope', 'x', 'maria'), 'DW_ALERT_NOT_FOUND', 404);
      assert.equal(store.get('nope'), undefined);
    });
  });

  it('lists newest first with filters', () => {
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      clock.advance(1000);
      const drone = i % 2 === 0 ? 'even' : 'odd';
      ids.push(sighting(store, { droneId: drone, ts: T0 + i, citizens: [{ name: `c${i}`, score: 1 }], position: { lat: i, lon: i } })[0]!.alert.alertId);
    }
    store.acknowledge(ids[1]!, 'x');
    store.resolve(ids[2]!, 'x');
    assert.deepEqual(store.list().map((a) => a.alertId), ids.slice().reverse());
    assert.deepEqual(store.list({ limit: 2 }).map((a) => a.alertId), [ids[5], ids[4]]);
    assert.deepEqual(store.list({ droneId: 'odd' }).map((a) => a.alertId), [ids[5], ids[3], ids[1]]);
    assert.deepEqual(store.list({ status: 'open' }).map((a) => a.alertId), [ids[5], ids[4], ids[3], ids[0]]);
    assert.deepEqual(store.list({ status: ['acknowledged', 'resolved'] }).map((a) => a.alertId), [ids[2], ids[1]]);
    const raised3 = store.get(ids[3]!)!.raisedAt;
    assert.deepEqual(store.list({ since: raised3 }).map((a) => a.alertId), [ids[5], ids[4], ids[3]]);
    assert.deepEqual(store.list({ bbox: [0.5, 0.5, 3, 3] }).map((a) => a.alertId), [ids[3], ids[2], ids[1]]);
    assert.deepEqual(store.list({ tenant: 'other' }), []);
    assert.deepEqual(store.countByStatus(), { open: 4, acknowledged: 1, resolved: 1 });
  });

  it('keeps every event in the outbox until published', () => {
    const events = [
      ...sighting(store, { ts: T0, citizens: [{ name: 'ann', score: 12 }] }),
      ...sighting(store, { ts: T0 + 1, citizens: [{ name: 'ann', score: 12 }] }),
    ];
    events.push(store.acknowledge(events[0]!.alert.alertId, 'x'));
    assert.deepEqual(store.pendingEvents(), events);
    assert.equal(store.pendingCount(), 3);
    assert.deepEqual(store.pendingEvents({ olderThanMs: 1 }), []);
    store.markPublished([events[0]!.eventId, events[2]!.eventId]);
    assert.deepEqual(store.pendingEvents(), [events[1]]);
  });

  it('forgets applied sightings after the retention', () => {
    const s = openAlertStore({ dataDir: path.join(tmp.dir, `p${n++}`), dedupWindowMs: W, appliedRetentionMs: 1000, now: clock.now });
    try {
      sighting(s, { ts: T0, citizens: [{ name: 'ann', score: 12 }] });
      assert.equal(s.prune(), 0);
      clock.advance(1001);
      assert.equal(s.prune(), 1);
    } finally {
      s.close();
    }
  });

  describe('shared by two connections (processes)', () => {
    const dir = path.join(tmp.dir, 'shared');
    let a: AlertStore;
    let b: AlertStore;
    before(() => {
      a = openAlertStore({ dataDir: dir, dedupWindowMs: W });
      b = openAlertStore({ dataDir: dir, dedupWindowMs: W });
    });
    after(() => {
      a.close();
      b.close();
    });

    it('sees the other connection\'s writes and never applies a sighting twice', () => {
      const r = report({ ts: T0, citizens: [{ name: 'ann', score: 12 }] });
      const c = evaluateReport(r, rules);
      assert.equal(a.applyReport(r, c).length, 1);
      assert.equal(b.applyReport(r, c).length, 0);
      const id = a.list()[0]!.alertId;
      b.acknowledge(id, 'x');
      assert.equal(a.get(id)!.status, 'acknowledged');
      assert.equal(path.basename(a.file), 'alerts.db');
    });
  });
});
