/**
 * The dry run over a lake with known content (real Parquet files, real DuckDB through the analysis service): exact
 * counts per day and per zone for the proposed rules and the rules in force, and nothing written or announced.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { AnalysisService } from '../../src/analysis/index.ts';
import { SqliteRuleStore } from '../../src/backend/sqlite/rules.ts';
import { isDwError } from '../../src/errors/index.ts';
import { localLakeFiles } from '../../src/lake/index.ts';
import { RuleService } from '../../src/rules/service.ts';
import { tempDir } from '../../src/testkit/index.ts';
import { analysisConfig, archiveReports } from '../analysis/helpers.ts';
import { GROUPING, incidentReports, knownReports, PROPOSED } from './dry-run-fixture.ts';

describe('dry run over the lake', () => {
  const tmp = tempDir('dw-dry-run-');
  let svc: AnalysisService;
  let rules: RuleService;
  let store: SqliteRuleStore;
  before(async () => {
    await archiveReports(path.join(tmp.dir, 'lake'), knownReports());
    svc = new AnalysisService({ source: localLakeFiles(path.join(tmp.dir, 'lake')), config: analysisConfig() });
    store = new SqliteRuleStore(path.join(tmp.dir, 'data'));
    rules = new RuleService(store, { threshold: 20, criticalThreshold: 5, wordRules: [], dedupWindowMs: 600_000, grouping: GROUPING });
  });
  after(async () => {
    await svc.close();
    await store.close();
    tmp.cleanup();
  });

  it('gives exact counts per day and per zone, for the proposed rules and the rules in force', async () => {
    const progress: number[] = [];
    const r = await rules.dryRun(svc, 'paris', { ...PROPOSED, from: '2026-11-01T00:00:00Z', to: '2026-11-03T00:00:00Z' }, { onProgress: (n) => progress.push(n) });
    assert.equal(r.reports, 46, 'every report of the period');
    assert.equal(r.replayed, 6, 'only those some rule could fire on');
    assert.deepEqual({ ...r.proposed }, {
      alerts: 4, sightings: 5,
      perDay: { '2026-11-01': 3, '2026-11-02': 1 },
      perZone: { cite: 3, '(none)': 1 },
      perSeverity: { warning: 4 },
      // e (15, inside) fires both at warning: the tie goes to the rule listed first.
      perRule: { 'near-cite': 2, base: 2 },
      // Each alert its own incident: a's second alert comes 2 h after the first (outside the 5-minute window), c is
      // 1.9 km from the Cité.
      incidents: { incidents: 4, merged: 0, gatherings: 0, perDay: { '2026-11-01': 3, '2026-11-02': 1 }, perZone: { cite: 3, '(none)': 1 } },
    });
    assert.deepEqual({ ...r.inForce }, {
      version: 1, alerts: 2, sightings: 2,
      perDay: { '2026-11-01': 1, '2026-11-02': 1 },
      perZone: { cite: 1, '(none)': 1 },
      perSeverity: { warning: 2 },
      perRule: { 'score-below-threshold': 2 },
      incidents: { incidents: 2, merged: 0, gatherings: 0, perDay: { '2026-11-01': 1, '2026-11-02': 1 }, perZone: { cite: 1, '(none)': 1 } },
    });
    // Nothing was written: the rule store holds only the configuration's version 1 the comparison read.
    assert.deepEqual((await store.versions('paris')).map((v) => v.version), [1]);
  });

  it('another tenant replays its own reports only (none here)', async () => {
    const r = await rules.dryRun(svc, 'lyon', { ...PROPOSED, from: '2026-11-01T00:00:00Z', to: '2026-11-03T00:00:00Z' });
    assert.deepEqual([r.reports, r.replayed, r.proposed.alerts], [0, 0, 0]);
  });

  it('refuses a bad period or rule set naming the field', async () => {
    const refused = async (input: Record<string, unknown>, field: string): Promise<void> => {
      await assert.rejects(rules.dryRun(svc, 'paris', { ...PROPOSED, from: '2026-11-01T00:00:00Z', to: '2026-11-03T00:00:00Z', ...input } as never),
        (e: unknown) => isDwError(e) && e.code === 'DW_RULES_INVALID' && e.details?.[0]?.field === field);
    };
    await refused({ to: '2026-10-01T00:00:00Z' }, 'to');
    await refused({ to: '2027-01-01T00:00:00Z' }, 'to');
    await refused({ from: 'yesterday' }, 'from');
    await refused({ rules: [{ id: 'x', kind: 'score', threshold: 500, criticalThreshold: 1 }] }, 'rules[0].threshold');
  });
});

describe('dry run: incidents per day and per zone', () => {
  const tmp = tempDir('dw-dry-run-incidents-');
  let svc: AnalysisService;
  let rules: RuleService;
  let store: SqliteRuleStore;
  before(async () => {
    await archiveReports(path.join(tmp.dir, 'lake'), incidentReports());
    svc = new AnalysisService({ source: localLakeFiles(path.join(tmp.dir, 'lake')), config: analysisConfig() });
    store = new SqliteRuleStore(path.join(tmp.dir, 'data'));
    rules = new RuleService(store, { threshold: 20, criticalThreshold: 5, wordRules: [], dedupWindowMs: 600_000, grouping: GROUPING });
  });
  after(async () => {
    await svc.close();
    await store.close();
    tmp.cleanup();
  });

  it('groups each set\'s alerts as the workers do: a gathering, a merge, lone alerts; exact counts', async () => {
    const r = await rules.dryRun(svc, 'paris', { ...PROPOSED, from: '2026-11-05T00:00:00Z', to: '2026-11-07T00:00:00Z' });
    assert.deepEqual([r.reports, r.proposed.alerts, r.inForce.alerts], [8, 8, 6]);
    assert.deepEqual(r.proposed.incidents, {
      // The Cité's gathering (x1, x2, x3), the merged pair outside (y1, y2 joined by y3), z1, w1.
      incidents: 4, merged: 1, gatherings: 2,
      perDay: { '2026-11-05': 2, '2026-11-06': 2 },
      perZone: { cite: 2, '(none)': 2 },
    });
    assert.deepEqual(r.inForce.incidents, {
      // The same without x3 (the gathering is x1 and x2) and without w1.
      incidents: 3, merged: 1, gatherings: 2,
      perDay: { '2026-11-05': 2, '2026-11-06': 1 },
      perZone: { cite: 1, '(none)': 2 },
    });
  });

  it('an incident out of reach for a while is joined again once one of its alerts is seen again', async () => {
    const r = await rules.dryRun(svc, 'paris', { ...PROPOSED, from: '2026-11-07T00:00:00Z', to: '2026-11-08T00:00:00Z' });
    // v1 and u1 in one incident (a gathering), t1 alone: as the worker groups them, whose lookups see every incident.
    assert.deepEqual(r.inForce.incidents, { incidents: 2, merged: 0, gatherings: 1, perDay: { '2026-11-07': 2 }, perZone: { cite: 1, '(none)': 1 } });
  });

  it('a wider grouping radius groups more (the configuration\'s, not a fixed one)', async () => {
    const wide = new RuleService(store, { threshold: 20, criticalThreshold: 5, wordRules: [], dedupWindowMs: 600_000, grouping: { ...GROUPING, radiusM: 1000 } });
    const r = await wide.dryRun(svc, 'paris', { ...PROPOSED, from: '2026-11-05T00:00:00Z', to: '2026-11-07T00:00:00Z' });
    // y2 (500 m from y1) joins y1's incident directly: nothing left to merge.
    assert.deepEqual([r.inForce.incidents.incidents, r.inForce.incidents.merged], [3, 0]);
  });
});
