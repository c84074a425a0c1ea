/**
 * The KV state's in-memory view (src/backend/shared/alerts/view.ts) answers lists, counts and reaction times like the SQLite
 * store: the same alerts in both, the same queries, the same answers.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compileRules, evaluateReport, type AlertListQuery } from '../../src/alerts/index.ts';
import { AlertView } from '../../src/backend/shared/alerts/view.ts';
import { tempDir } from '../../src/testkit/index.ts';
import { generateReports } from './expected.ts';
import { manualClock } from './helpers.ts';
import { openAlertStore } from '../../src/backend/index.ts';

describe('KV alert view', () => {
  const tmp = tempDir();
  after(() => tmp.cleanup());

  it('lists, counts and times reactions like the SQLite store', () => {
    const clock = manualClock();
    const store = openAlertStore({ dataDir: tmp.dir, dedupWindowMs: 60_000, now: clock.now });
    try {
      const rules = compileRules({ threshold: 20, criticalThreshold: 5, wordRules: [] });
      const reports = generateReports({ count: 3000, drones: 30, stepMs: 30_000, alertRate: 0.05 });
      // Several raisedAt values shared by many alerts: the tie-break on alertId matters.
      for (let i = 0; i < reports.length; i += 100) {
        store.applyReports(reports.slice(i, i + 100).map((r) => ({ report: r, candidates: evaluateReport(r, rules) })));
        clock.advance(1000);
      }
      const all = store.list({ limit: 10_000 });
      assert.ok(all.length > 100, `enough alerts (${all.length})`);
      all.forEach((a, i) => {
        clock.advance(10);
        if (i % 3 === 0) store.acknowledge(a.alertId, 'o');
        if (i % 5 === 0) store.resolve(a.alertId, 'o');
      });
      const view = new AlertView();
      let rev = 0;
      for (const a of store.list({ limit: 10_000 })) view.apply(a.alertId, a, ++rev);
      const stale = all[0]!;
      view.apply(stale.alertId, stale, 1); // an older revision never replaces a newer one
      const queries: AlertListQuery[] = [
        {}, { limit: 7 }, { limit: 10_000 }, { status: 'open' }, { status: ['acknowledged', 'resolved'], limit: 50 },
        { droneId: 'drone-3' }, { citizen: 'bob', limit: 1000 }, { since: all[Math.floor(all.length / 2)]!.raisedAt },
        { bbox: [48.82, 2.32, 48.86, 2.37], limit: 1000 }, { tenant: 'default', status: 'open', limit: 3 }, { tenant: 'other' },
      ];
      for (const q of queries) {
        assert.deepEqual(view.list(q).map((a) => a.alertId), store.list(q).map((a) => a.alertId), `list ${JSON.stringify(q)}`);
      }
      assert.deepEqual(view.countByStatus(), store.countByStatus());
      const from = all[all.length - 1]!.raisedAt;
      const to = all[0]!.raisedAt + 1;
      assert.deepEqual(view.reactionTimes(from, to), store.reactionTimes(from, to));
      assert.deepEqual(view.reactionTimes(from + 2000, to, { tenant: 'default' }), store.reactionTimes(from + 2000, to, { tenant: 'default' }));
    } finally {
      store.close();
    }
  });

  it('forgets alerts past the retention, and a late watch entry of one does not bring it back (bounded memory)', () => {
    const base = { tenant: 'default', droneId: 'd', citizen: 'c', status: 'open' } as const;
    const alert = (id: string, updatedAt: number) => ({ ...base, alertId: id, raisedAt: updatedAt, updatedAt }) as unknown as Parameters<AlertView['apply']>[1];
    const view = new AlertView();
    view.apply('old', alert('old', 1_000), 1);
    view.apply('new', alert('new', 5_000), 2);
    assert.equal(view.evictBefore(2_000), 1, 'one alert past the retention');
    assert.deepEqual(view.list({}).map((a) => a.alertId), ['new']);
    view.apply('old', alert('old', 1_000), 3);
    assert.equal(view.get('old'), undefined, 'a late entry older than the cutoff is ignored');
    view.apply('old', alert('old', 6_000), 4);
    assert.equal(view.get('old')?.updatedAt, 6_000, 'changed again after the cutoff: back in the view');
  });
});

