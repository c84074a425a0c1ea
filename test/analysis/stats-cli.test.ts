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
});
