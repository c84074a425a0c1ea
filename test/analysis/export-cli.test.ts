import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { type SavedQuery } from '../../src/analysis/index.ts';
import { tempDir } from '../../src/testkit/index.ts';
import { runCli, type CliResult } from '../cli/helpers.ts';
import { SampleFleet } from '../lake/fixtures/sample.ts';
import { archiveReports, fromParquet, parseCsv, readParquet } from './helpers.ts';
import { openSavedQueryStore } from '../../src/backend/index.ts';

/** Each CLI run starts a process (~2 s of CPU): independent runs go in parallel, and each checks several things. */
describe('dronewatch export, queries and query --limit (issue 3)', () => {
  const tmp = tempDir('dw-export-cli-');
  const root = path.join(tmp.dir, 'lake');
  const data = path.join(tmp.dir, 'data');
  const out = path.join(tmp.dir, 'out');
  const reports = new SampleFleet({ drones: 7, seed: 3, citizens: 200, start: Date.UTC(2025, 0, 15, 23, 50), intervalMs: 60_000 }).reports(3000);
  const cli = (args: string[]): Promise<CliResult> => runCli(['--lake', root, '--data', data, ...args], { env: { DRONEWATCH_LOG_LEVEL: 'warn' } });
  const SQL = 'SELECT report_id, drone_id, ts, citizen_count FROM reports ORDER BY report_id';
  const want = [...reports].sort((a, b) => (a.reportId < b.reportId ? -1 : 1))
    .map((r) => ({ report_id: r.reportId, drone_id: r.droneId, ts: r.timestamp, citizen_count: r.citizens.length }));
  const daily = (): string[][] => {
    const days = [...new Set(reports.map((r) => r.timestamp.slice(0, 10)))].sort();
    return days.map((d) => {
      const rs = reports.filter((r) => r.timestamp.startsWith(d));
      const drones = new Set(rs.map((r) => r.droneId)).size;
      return [d, String(rs.length), String(drones), String(rs.length / drones)];
    });
  };

  /** The saved queries as the store holds them (read in-process: one CLI run less). */
  const savedQueries = (): SavedQuery[] => {
    const store = openSavedQueryStore(data);
    try {
      return store.list('default');
    } finally {
      store.close();
    }
  };

  before(async () => {
    await archiveReports(root, reports);
    mkdirSync(out);
  });
  after(() => tmp.cleanup());

  it('exports --sql to .parquet, .csv, .json and .ndjson (format from the extension), with progress lines on stderr', async () => {
    const formats = ['parquet', 'csv', 'json', 'ndjson'] as const;
    const runs = await Promise.all(formats.map((f) => cli(['export', '--sql', SQL, '--out', path.join(out, `all.${f}`)])));
    for (const [i, f] of formats.entries()) {
      const r = runs[i]!;
      const file = path.join(out, `all.${f}`);
      assert.equal(r.code, 0, `${f}: ${r.stderr}`);
      assert.equal(r.stdout, `${file}: ${reports.length.toLocaleString('en-US')} rows, ${statSync(file).size.toLocaleString('en-US')} bytes (${f})\n`, `${f}: summary line`);
      let rows: unknown[];
      if (f === 'parquet') rows = (await readParquet(file)).rows.map((x) => fromParquet(x));
      else if (f === 'json') rows = JSON.parse(readFileSync(file, 'utf8')) as unknown[];
      else if (f === 'ndjson') rows = readFileSync(file, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as unknown);
      else {
        const [header, ...lines] = parseCsv(readFileSync(file, 'utf8'));
        assert.deepEqual(header, ['report_id', 'drone_id', 'ts', 'citizen_count'], 'csv header');
        rows = lines.map(([report_id, drone_id, ts, n]) => ({ report_id, drone_id, ts, citizen_count: Number(n) }));
      }
      assert.deepEqual(rows, want, `${f}: the reports, read back`);
      // stderr is a pipe here, not a terminal: plain lines, no cursor movement, ending with "done".
      const lines = r.stderr.split('\n').filter((l) => l !== '');
      const unit = f === 'parquet' ? 'bytes' : 'rows';
      assert.ok(lines.length >= 1, `${f}: progress on stderr`);
      assert.ok(!/[\r\x1b]/.test(r.stderr), `${f}: no terminal control characters: ${JSON.stringify(r.stderr)}`);
      assert.ok(lines.every((l) => l.startsWith(`export all.${f} (${unit}): `)), `${f}: every line is progress: ${JSON.stringify(lines)}`);
      const total = f === 'parquet' ? statSync(file).size : reports.length;
      assert.match(lines.at(-1)!, new RegExp(`: done, ${total.toLocaleString('en-US')} in `), `${f}: the last line says done with the total`);
    }
    assert.deepEqual(readdirSync(out).sort(), formats.map((f) => `all.${f}`).sort(), 'no temporary file left');
  });

  it('refuses an unknown extension or a missing directory (one line, exit 2), exports a statistic, stops `query` at --limit', async () => {
    const [unknownExt, missingDir, stat, limited] = await Promise.all([
      cli(['export', '--sql', SQL, '--out', path.join(out, 'x.txt')]),
      cli(['export', '--sql', SQL, '-o', path.join(out, 'nope', 'x.csv')]),
      cli(['export', '--stat', 'reports-daily', '--out', path.join(out, 'daily.csv')]),
      cli(['query', 'SELECT report_id FROM reports ORDER BY report_id', '--limit', '5', '--format', 'csv']),
    ]);
    assert.equal(unknownExt.code, 2, `unknown extension: ${unknownExt.stderr}`);
    assert.match(unknownExt.stderr, /^error: --out .*x\.txt: cannot tell the format from the extension.* \[DW_CONFIG_INVALID\]\n$/, 'one line');
    assert.equal(existsSync(path.join(out, 'x.txt')), false, 'no file');
    assert.equal(missingDir.code, 2, `missing directory: ${missingDir.stderr}`);
    assert.match(missingDir.stderr, /^error: --out .*x\.csv: the directory .*nope does not exist \[DW_CONFIG_INVALID\]\n$/, 'one line naming the directory');

    assert.equal(stat.code, 0, stat.stderr);
    assert.equal(readFileSync(path.join(out, 'daily.csv'), 'utf8'), [['day', 'reports', 'drones', 'avg_per_drone'], ...daily()].map((r) => `${r.join(',')}\r\n`).join(''), 'the statistic, as counted in TypeScript, byte for byte');

    assert.equal(limited.code, 0, limited.stderr);
    assert.deepEqual(parseCsv(limited.stdout), [['report_id'], ...want.slice(0, 5).map((w) => [w.report_id])], 'five rows');
    assert.match(limited.stderr, /^note: stopped at 5 rows \(--limit\)/, 'a truncation note on stderr');
    assert.deepEqual(readdirSync(out).filter((f) => !f.startsWith('all.')), ['daily.csv'], 'no other file, no temporary file');
  });

  it('--to is the end of the period, as in `stats`: --from/--to select the days of a statistic; the file is --out', async () => {
    const [period, oldFile, until] = await Promise.all([
      cli(['export', '--stat', 'reports-daily', '--from', '2025-01-16T00:00:00Z', '--to', '2025-01-17T00:00:00Z', '--out', path.join(out, 'one-day.csv'), '--no-progress']),
      cli(['export', '--stat', 'reports-daily', '--to', path.join(out, 'old.csv')]),
      cli(['export', '--stat', 'reports-daily', '--until', '2025-01-17T00:00:00Z', '--out', path.join(out, 'old.csv')]),
    ]);
    assert.equal(period.code, 0, period.stderr);
    const day = daily().find((r) => r[0] === '2025-01-16')!;
    assert.equal(readFileSync(path.join(out, 'one-day.csv'), 'utf8'), `day,reports,drones,avg_per_drone\r\n${day.join(',')}\r\n`, 'one day');
    assert.equal(oldFile.code, 2);
    assert.match(oldFile.stderr, /^error: export: give the output file with --out <file>; --to .*old\.csv is the end of the period, so write --out .*old\.csv \[DW_CONFIG_INVALID\]\n$/, 'the old usage gets a hint');
    assert.equal(until.code, 2);
    assert.match(until.stderr, /--until is now --to/);
    assert.equal(existsSync(path.join(out, 'old.csv')), false);
  });

  it('round-trips saved queries: save, list, show, run, export --saved, delete', async () => {
    const sql = `SELECT drone_id, count(*) AS n FROM reports GROUP BY drone_id ORDER BY drone_id`;
    const perDrone = new Map<string, number>();
    for (const r of reports) perDrone.set(r.droneId, (perDrone.get(r.droneId) ?? 0) + 1);
    const droneRows = [...perDrone].sort(([a], [b]) => (a < b ? -1 : 1)).map(([d, n]) => [d, String(n)]);

    const saved = await cli(['queries', 'save', 'per-drone', sql, '--description', 'reports per drone']);
    assert.equal(saved.code, 0, saved.stderr);
    assert.equal(saved.stdout, 'saved per-drone\n', 'save');

    const target = path.join(out, 'per-drone.csv');
    // (SQL refused at save time is checked over HTTP, test/server/analysis-api.test.ts: the same validate().)
    const [list, show, run, exported] = await Promise.all([
      cli(['queries', 'list', '--format', 'json']),
      cli(['queries', 'show', 'per-drone']),
      cli(['queries', 'run', 'per-drone', '--format', 'csv']),
      cli(['export', '--saved', 'per-drone', '--out', target, '--no-progress']),
    ]);
    assert.equal(list.code, 0, list.stderr);
    const listed = JSON.parse(list.stdout) as { name: string; description: string; sql: string }[];
    assert.deepEqual(listed.map((q) => [q.name, q.description, q.sql]), [['per-drone', 'reports per drone', sql]], 'list');
    assert.equal(show.code, 0, show.stderr);
    assert.equal(show.stdout, `${sql}\n`, 'show prints the SQL');
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(parseCsv(run.stdout), [['drone_id', 'n'], ...droneRows], 'run');
    assert.equal(exported.code, 0, exported.stderr);
    assert.deepEqual(parseCsv(readFileSync(target, 'utf8')), [['drone_id', 'n'], ...droneRows], 'export --saved');
    assert.equal(exported.stderr, '', '--no-progress: nothing on stderr');
    assert.deepEqual(savedQueries().map((q) => [q.name, q.sql, q.description]), [['per-drone', sql, 'reports per drone']], 'in the store');

    const deleted = await cli(['queries', 'delete', 'per-drone']);
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.equal(deleted.stdout, 'deleted per-drone\n', 'delete');
    assert.deepEqual(savedQueries(), [], 'gone from the store');

    // Every consultation from the host is in the audit log, with the SQL it ran, under the OS account.
    const trail = await cli(['audit', 'list', '--format', 'json', '--limit', '1000']);
    assert.equal(trail.code, 0, trail.stderr);
    const entries = JSON.parse(trail.stdout) as { actor: string; action: string; target: string | null; details: { sql?: string } | string }[];
    const details = (e: (typeof entries)[number]): { sql?: string } => (typeof e.details === 'string' ? JSON.parse(e.details) as { sql?: string } : e.details);
    assert.ok(entries.some((e) => e.action === 'saved-query.run' && e.target === 'per-drone' && details(e).sql === sql && e.actor.startsWith('cli:')), JSON.stringify(entries));
    assert.ok(entries.some((e) => e.action === 'export' && e.target === 'per-drone'), 'export --saved audited');
  });
});
