import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { listStats } from '../../src/analysis/index.ts';
import { LakeWriter } from '../../src/lake/index.ts';
import { tempDir } from '../../src/testkit/index.ts';
import { runCli, type CliResult } from '../cli/helpers.ts';
import { SampleFleet } from '../lake/fixtures/sample.ts';
import { recordsOf } from '../lake/helpers.ts';

/**
 * The JSON a run printed; when it is not JSON, everything about the run in the message. A CI run on Node 24 once got
 * an answer that was not JSON (empty, or cut short) from one of two runs started at once, and the test did not say
 * why; it never happened again (docs/runtime.md), so the next occurrence must say how the process ended.
 */
function jsonOf(run: CliResult, what: string): unknown {
  const how = `${what}: exit ${run.code}${run.signal ? `, signal ${run.signal}` : ''}, stdout ${run.stdout.length} bytes ${JSON.stringify(run.stdout.slice(0, 300))}, stderr: ${run.stderr.slice(0, 2000)}`;
  assert.equal(run.code, 0, how);
  try {
    return JSON.parse(run.stdout) as unknown;
  } catch (e) {
    assert.fail(`${how}: ${(e as Error).message}`);
  }
}

describe('dronewatch stats', () => {
  const tmp = tempDir('dw-stats-cli-');
  const root = path.join(tmp.dir, 'lake');
  const reports = new SampleFleet({ drones: 7, seed: 3, citizens: 200, start: Date.UTC(2025, 0, 15, 23, 50), intervalMs: 60_000 }).reports(200);
  before(async () => {
    const w = await LakeWriter.open(root);
    await w.write('reports', 0, recordsOf(reports));
    await w.close();
  });
  after(() => tmp.cleanup());

  it('lists the statistics, name first, the questions in one aligned column', async () => {
    const list = await runCli(['stats']);
    assert.equal(list.code, 0, list.stderr);
    const lines = list.stdout.trimEnd().split('\n');
    assert.deepEqual(lines.map((l) => l.split(/\s+/)[0]), listStats().map((s) => s.name));
    assert.equal(lines.length, 20, 'the 15 statistics of reports and alerts, the 4 of incidents, and alerts-by-rule-version');
    const starts = lines.map((l, i) => l.indexOf(listStats()[i]!.description));
    assert.equal(new Set(starts).size, 1, `every question starts in the same column: ${starts.join(', ')}`);
    assert.equal(starts[0], Math.max(...listStats().map((s) => s.name.length)) + 2);
  });

  it('prints tables rounded to the precision of each column; CSV and JSON keep every digit', async () => {
    const [table, json] = await Promise.all([
      runCli(['--lake', root, 'stats', 'alert-words-lift', '--limit', '5']),
      runCli(['--lake', root, 'stats', 'alert-words-lift', '--limit', '5', '--format', 'json']),
    ]);
    assert.equal(table.code, 0, `table: exit ${table.code}, signal ${table.signal}, stderr: ${table.stderr}`);
    const rows = jsonOf(json, 'stats alert-words-lift --format json') as { word: string; lift: number }[];
    assert.ok(rows.length > 0 && rows.some((r) => !Number.isInteger(r.lift) && String(r.lift).length > 8), `lifts with many digits: ${json.stdout}`);
    const lines = table.stdout.split('\n');
    const liftAt = lines[0]!.split(' | ').indexOf('lift');
    const shown = lines.slice(2, 2 + rows.length).map((l) => l.split(' | ')[liftAt]!.trim());
    const decimals = 3 - Math.floor(Math.log10(Math.max(...rows.map((r) => r.lift))));
    assert.deepEqual(shown, rows.map((r) => r.lift.toFixed(Math.max(1, decimals))), 'about four significant digits, the same decimals in the column');
  });

  it('uses --to for the end of a period in every command: export and audit export write to --out, alerts assign takes --assignee', async () => {
    const [audit, assign] = await Promise.all([
      runCli(['--lake', root, 'audit', 'export', '--to', path.join(tmp.dir, 'audit.csv')]),
      runCli(['--lake', root, 'alerts', 'assign', 'a-1', '--by', 'sup', '--to', 'alice']),
    ]);
    assert.equal(audit.code, 2);
    assert.match(audit.stderr, /^error: audit export: give the output file with --out <file> \(--to .*audit\.csv is now --out/);
    assert.equal(assign.code, 2);
    assert.match(assign.stderr, /^error: alerts assign: give the officer with --assignee <name> \(--to is now --assignee/);
  });

  it('groups by the hours of the clock given with --tz', async () => {
    const [utc, paris] = await Promise.all([
      runCli(['--lake', root, 'stats', 'reports-daily', '--format', 'json']),
      runCli(['--lake', root, 'stats', 'reports-daily', '--tz', 'Europe/Paris', '--format', 'json']),
    ]);

    const byDay = (tz: string): Record<string, number> => {
      const out: Record<string, number> = {};
      for (const r of reports) {
        const d = new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' }).format(r.ts);
        out[d] = (out[d] ?? 0) + 1;
      }
      return out;
    };
    const days = (run: CliResult, what: string): Record<string, number> => Object.fromEntries((jsonOf(run, what) as { day: string; reports: number }[]).map((d) => [d.day, d.reports]));
    assert.deepEqual(days(utc, 'reports-daily'), byDay('UTC'));
    assert.deepEqual(days(paris, 'reports-daily --tz Europe/Paris'), byDay('Europe/Paris'));
    assert.notDeepEqual(byDay('UTC'), byDay('Europe/Paris'), 'the fixture starts at 23:50 UTC, 00:50 in Paris');
  });

  it('runs one, with the same answer as counting in TypeScript', async () => {
    const run = await runCli(['--lake', root, 'stats', 'reports-daily', '--format', 'json']);
    assert.equal(run.code, 0, run.stderr);
    const days = [...new Set(reports.map((r) => new Date(r.ts).toISOString().slice(0, 10)))].sort();
    const want = days.map((d) => {
      const rs = reports.filter((r) => new Date(r.ts).toISOString().startsWith(d));
      const drones = new Set(rs.map((r) => r.droneId)).size;
      return { day: d, reports: rs.length, drones, avg_per_drone: rs.length / drones };
    });
    assert.ok(want.length === 2);
    assert.deepEqual(JSON.parse(run.stdout), want);
  });

  it('refuses unknown statistics and bad parameters with one line', async () => {
    for (const args of [['stats', 'nope'], ['stats', 'hotspots', '--cell', 'abc'], ['stats', 'reports-daily', '--from', 'soon'], ['stats', 'reports-daily', '--limit', '3']]) {
      const r = await runCli(['--lake', root, ...args]);
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.stderr, /^error: .* \[DW_(QUERY_FAILED|CONFIG_INVALID)\]\n$/, args.join(' '));
    }
  });

  it('every analysis command reads one tenant\'s data: --tenant or DRONEWATCH_TENANT; --from/--to prune', async () => {
    const lyon = path.join(tmp.dir, 'two-tenants');
    const w = await LakeWriter.open(lyon);
    await w.write('reports', 0, recordsOf([...reports, ...reports.slice(0, 30).map((r) => ({ ...r, tenant: 'lyon', droneId: `lyon-${r.droneId}` }))]));
    await w.close();
    const count = async (args: string[], env: Record<string, string> = {}): Promise<unknown> => {
      const r = await runCli(['--lake', lyon, ...args, '--format', 'json'], { env });
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout) as unknown;
    };
    const sql = 'SELECT min(tenant) AS t, count(*) AS n FROM reports';
    assert.deepEqual(await count(['query', sql]), [{ t: 'default', n: reports.length }]);
    assert.deepEqual(await count(['query', sql, '--tenant', 'lyon']), [{ t: 'lyon', n: 30 }]);
    assert.deepEqual(await count(['query', sql], { DRONEWATCH_TENANT: 'lyon' }), [{ t: 'lyon', n: 30 }]);
    const daily = (await count(['stats', 'reports-daily', '--tenant', 'lyon'])) as { reports: number }[];
    assert.equal(daily.reduce((n, d) => n + d.reports, 0), 30);
    // Pruned to the first hour (2025-01-15T23): the second day's rows are not even read.
    const firstHour = reports.filter((r) => new Date(r.ts).toISOString().startsWith('2025-01-15T23')).length;
    assert.deepEqual(await count(['query', 'SELECT count(*) AS n FROM reports', '--from', '2025-01-15T23:30:00Z', '--to', '2025-01-15T23:59:00Z']), [{ n: firstHour }]);
    const bad = await runCli(['--lake', lyon, 'query', 'SELECT 1', '--tenant', '../lyon']);
    assert.equal(bad.code, 2, bad.stderr);
  });
});
