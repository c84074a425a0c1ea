import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { AnalysisService, listStats, runStat, type StatParams } from '../../src/analysis/index.ts';
import { validateConfig } from '../../src/config/index.ts';
import { localLakeFiles, openLakeQuery, type LakeQuery } from '../../src/lake/index.ts';
import { readSparkCsv, runSparkStats, sparkOrSkip, tempDir } from '../../src/testkit/index.ts';
import { sameField } from '../../src/testkit/spark-answers.ts';
import { writeFileSync } from 'node:fs';
import { SCORE, writeRuleVersionLake } from './rule-version-fixture.ts';

// alerts-by-rule-version on a lake of known alert events (rule-version-fixture.ts): old files without the columns,
// versions 1 and 2, silenced alerts, an escalation by a later version, a stored copy of a raised event, a replayed
// report, another tenant's alert. The answers below are counted by hand from the fixture's comments.
const T = (day: number, hhmm: string): string => `2026-11-0${2 + day}T${hhmm}:00.000Z`;
const COLUMNS = ['day', 'rule_version', 'rule', 'alerts', 'silenced', 'citizens', 'first_raised_at', 'last_raised_at'];

const WHOLE_UTC = [
  // o1, o2 (citizen A), o3 (B): stored before the columns, so version and silenced are unknown (NULL).
  ['2026-11-02', null, SCORE, 3, null, 2, T(0, '09:00'), T(0, '23:30')],
  // n1 (C), n2 (D, silenced), n4 (C; later escalated by version 2's near-cite: still version 1's score rule).
  ['2026-11-02', 1, SCORE, 3, 1, 2, T(0, '12:00'), T(0, '14:00')],
  ['2026-11-02', 1, 'words-bombe', 1, 0, 1, T(0, '12:20'), T(0, '12:20')],
  ['2026-11-03', 2, 'near-cite', 1, 0, 1, T(1, '09:00'), T(1, '09:00')],
  // n5, n6 (E, both silenced), n8 (G, stored twice, counted once), n10 (H, replayed: the day raised, not seen).
  ['2026-11-03', 2, SCORE, 4, 2, 3, T(1, '08:00'), T(1, '23:30')],
];
const WHOLE_PARIS = [
  ['2026-11-02', null, SCORE, 2, null, 1, T(0, '09:00'), T(0, '09:30')],
  ['2026-11-02', 1, SCORE, 3, 1, 2, T(0, '12:00'), T(0, '14:00')],
  ['2026-11-02', 1, 'words-bombe', 1, 0, 1, T(0, '12:20'), T(0, '12:20')],
  // o3 at 23:30 UTC is 00:30 in Paris: the old alert's row moves to day 1, before the version 2 rows.
  ['2026-11-03', null, SCORE, 1, null, 1, T(0, '23:30'), T(0, '23:30')],
  ['2026-11-03', 2, 'near-cite', 1, 0, 1, T(1, '09:00'), T(1, '09:00')],
  ['2026-11-03', 2, SCORE, 3, 2, 2, T(1, '08:00'), T(1, '09:10')],
  ['2026-11-04', 2, SCORE, 1, 0, 1, T(1, '23:30'), T(1, '23:30')],
];
// [12:05 day 0, 09:00 day 1): n1 (12:00) and n7 (09:00) left out, o1/o2 too (before).
const PERIOD: StatParams = { from: T(0, '12:05'), to: T(1, '09:00') };
const PERIOD_UTC = [
  ['2026-11-02', null, SCORE, 1, null, 1, T(0, '23:30'), T(0, '23:30')],
  ['2026-11-02', 1, SCORE, 2, 1, 2, T(0, '12:10'), T(0, '14:00')],
  ['2026-11-02', 1, 'words-bombe', 1, 0, 1, T(0, '12:20'), T(0, '12:20')],
  ['2026-11-03', 2, SCORE, 2, 2, 1, T(1, '08:00'), T(1, '08:30')],
];

describe('alerts-by-rule-version: what each rule set version raised, and how much was silenced', () => {
  const tmp = tempDir('dw-rule-version-stats-');
  const root = path.join(tmp.dir, 'lake');
  let q: LakeQuery;
  let svc: AnalysisService;

  before(async () => {
    await writeRuleVersionLake(root);
    q = await openLakeQuery(root, { tenant: 'default' });
    svc = new AnalysisService({ source: localLakeFiles(root), config: validateConfig({}).analysis });
  });
  after(async () => {
    await q?.close();
    await svc?.close();
    tmp.cleanup();
  });

  it('the fixture mixes files without the columns and with them', async () => {
    const r = await q.run(`SELECT count(*) FILTER (WHERE silenced IS NULL), count(*) FILTER (WHERE silenced), count(*) FROM alert_events`);
    assert.deepEqual(r.rows, [[3, 3, 15]], 'old events (NULL), silenced events, all events (one stored twice)');
  });

  it('declares its parameters as the other statistics do', () => {
    const s = listStats().find((x) => x.name === 'alerts-by-rule-version');
    assert.ok(s, 'listed');
    assert.deepEqual(s.options, ['tz']);
    assert.match(s.description, /rule set version/);
  });

  const cases: [string, StatParams, unknown[][]][] = [
    ['whole lake, UTC', {}, WHOLE_UTC],
    ['whole lake, days in Europe/Paris', { tz: 'Europe/Paris' }, WHOLE_PARIS],
    ['a period', PERIOD, PERIOD_UTC],
  ];
  for (const [label, params, want] of cases) {
    it(`exact counts (${label})`, async () => {
      const r = await runStat(q, 'alerts-by-rule-version', params);
      assert.deepEqual(r.columns, COLUMNS);
      assert.deepEqual(r.rows, want);
      // The service prunes alert files from the period's first hour on: the same answer from fewer files.
      const rows: unknown[][] = [];
      for await (const b of await svc.stat('default', 'alerts-by-rule-version', params)) rows.push(...b);
      assert.deepEqual(rows, want, 'through AnalysisService');
    });
  }

  it('counts an escalated alert under what raised it, where the latest state names the escalating version', async () => {
    const latest = await q.run(`SELECT rule_version, rule FROM alerts WHERE alert_id = 'n4'`);
    assert.deepEqual(latest.rows, [[2, 'near-cite']], 'the alerts view: the version that last escalated it');
    const r = await runStat(q, 'alerts-by-rule-version', { from: T(0, '14:00'), to: T(0, '14:01') });
    assert.deepEqual(r.rows, [['2026-11-02', 1, SCORE, 1, 0, 1, T(0, '14:00'), T(0, '14:00')]]);
  });

  // The Spark translation on the same lake (the job's own registration: old files read with the full schema), the
  // three parameter sets in one session; Spark's CSV against the hand-counted rows, field by field.
  it('Spark gives the same rows', { skip: sparkOrSkip(), timeout: 300_000 }, async () => {
    const out = path.join(tmp.dir, 'spark');
    const plan = path.join(tmp.dir, 'plan.json');
    writeFileSync(plan, JSON.stringify(cases.map(([, params], i) => ({ stat: 'alerts-by-rule-version', name: `case-${i}`, ...params }))));
    await runSparkStats({ lake: root, tenant: 'default', out, plan, master: 'local[1]', conf: { 'spark.sql.shuffle.partitions': '1' }, timeoutMs: 280_000 });
    cases.forEach(([label, , want], i) => {
      const spark = readSparkCsv(path.join(out, `case-${i}`));
      assert.deepEqual(spark.columns, COLUMNS, label);
      assert.equal(spark.rows.length, want.length, `${label}: rows`);
      want.forEach((row, r) => row.forEach((v, c) => assert.ok(sameField(spark.rows[r]![c] ?? null, v), `${label} row ${r} ${COLUMNS[c]}: Spark ${JSON.stringify(spark.rows[r])}, want ${JSON.stringify(row)}`)));
    });
  });

  it('never shows another tenant\'s alerts', async () => {
    const other = await openLakeQuery(root, { tenant: 'other' });
    try {
      assert.deepEqual((await runStat(other, 'alerts-by-rule-version')).rows, [['2026-11-02', 1, SCORE, 1, 1, 1, T(0, '12:00'), T(0, '12:00')]]);
    } finally {
      await other.close();
    }
  });
});
