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
import { knownReports, PROPOSED } from './dry-run-fixture.ts';

describe('dry run over the lake', () => {
  const tmp = tempDir('dw-dry-run-');
  let svc: AnalysisService;
  let rules: RuleService;
  let store: SqliteRuleStore;
  before(async () => {
    await archiveReports(path.join(tmp.dir, 'lake'), knownReports());
    svc = new AnalysisService({ source: localLakeFiles(path.join(tmp.dir, 'lake')), config: analysisConfig() });
    store = new SqliteRuleStore(path.join(tmp.dir, 'data'));
    rules = new RuleService(store, { threshold: 20, criticalThreshold: 5, wordRules: [], dedupWindowMs: 600_000 });
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
    });
    assert.deepEqual({ ...r.inForce }, {
      version: 1, alerts: 2, sightings: 2,
      perDay: { '2026-11-01': 1, '2026-11-02': 1 },
      perZone: { cite: 1, '(none)': 1 },
      perSeverity: { warning: 2 },
      perRule: { 'score-below-threshold': 2 },
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
