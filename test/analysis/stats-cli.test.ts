import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { listStats } from '../../src/analysis/index.ts';
import { LakeWriter } from '../../src/lake/index.ts';
import { tempDir } from '../../src/testkit/index.ts';
import { runCli } from '../cli/helpers.ts';
import { SampleFleet } from '../lake/fixtures/sample.ts';
import { recordsOf } from '../lake/helpers.ts';

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

  it('lists the statistics, name first', async () => {
    const list = await runCli(['stats']);
    assert.equal(list.code, 0, list.stderr);
    const lines = list.stdout.trim().split('\n');
    assert.deepEqual(lines.map((l) => l.split(/\s+/)[0]), listStats().map((s) => s.name));
    assert.equal(lines.length, 15);
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
