import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import path from 'node:path';
import { AnalysisService, listStats } from '../../src/analysis/index.ts';
import { localLakeFiles } from '../../src/lake/index.ts';
import { buildServer } from '../../src/server/index.ts';
import { analysisConfig, arrayBufferOf, csvText, fromParquet, parseCsv, readParquet } from '../analysis/helpers.ts';
import { analysisApiFixture, assertError, ENDLESS, eventually, MAX_ROWS, type Envelope, type ErrorBody } from './analysis-api-fixture.ts';

describe('analysis HTTP API (issue 3)', () => {
  const fx = analysisApiFixture('dw-analysis-api-');
  const { root, reports, droneRows, PER_DRONE, inject, query } = fx;

  it('the fixture spans two days with more reports than maxRows', () => {
    const days = new Set(reports.map((r) => r.timestamp.slice(0, 10)));
    assert.equal(days.size, 2, 'two days');
    assert.ok(reports.length > MAX_ROWS * 5, 'far more reports than maxRows');
  });

  describe('statistics', () => {
    const daily = (from?: string, to?: string): unknown[][] => {
      const inRange = reports.filter((r) => (!from || r.ts >= Date.parse(from)) && (!to || r.ts < Date.parse(to)));
      const days = [...new Set(inRange.map((r) => r.timestamp.slice(0, 10)))].sort();
      return days.map((d) => {
        const rs = inRange.filter((r) => r.timestamp.startsWith(d));
        const drones = new Set(rs.map((r) => r.droneId)).size;
        return [d, rs.length, drones, rs.length / drones];
      });
    };

    it('GET /v1/stats lists every statistic with its description and options', async () => {
      const res = await inject({ method: 'GET', url: '/v1/stats' });
      assert.equal(res.statusCode, 200, res.body);
      const { stats } = res.json() as { stats: { name: string; description: string; options: string[] }[] };
      assert.deepEqual(stats.map((s) => s.name), listStats().map((s) => s.name), 'names');
      assert.ok(stats.every((s) => s.description.length > 10 && Array.isArray(s.options)), 'descriptions and options');
      assert.deepEqual(stats.find((s) => s.name === 'hotspots')?.options, ['cell'], 'hotspots takes cell');
    });

    it('GET /v1/stats/:name answers a JSON envelope with the counts computed in TypeScript', async () => {
      const res = await inject({ method: 'GET', url: '/v1/stats/reports-daily' });
      assert.equal(res.statusCode, 200, res.body);
      assert.match(String(res.headers['content-type']), /^application\/json/, 'content type');
      assert.equal(res.headers['x-dronewatch-row-limit'], String(MAX_ROWS), 'row limit header');
      const body = res.json() as Envelope;
      assert.deepEqual(body.columns, ['day', 'reports', 'drones', 'avg_per_drone'], 'columns');
      assert.equal(body.columnTypes.length, 4, 'column types');
      assert.deepEqual(body.rows, daily(), 'rows');
      assert.equal(body.rowCount, 2, 'rowCount');
      assert.equal(body.truncated, false, 'not truncated');
      assert.equal(typeof body.elapsedMs, 'number', 'elapsedMs');

      const period = await inject({ method: 'GET', url: '/v1/stats/reports-daily?from=2025-01-16T00:00:00Z&to=2025-01-16T00:30:00Z' });
      assert.equal(period.statusCode, 200, period.body);
      const want = daily('2025-01-16T00:00:00Z', '2025-01-16T00:30:00Z');
      assert.equal(want.length, 1, 'one day in the period');
      assert.deepEqual((period.json() as Envelope).rows, want, 'rows of the period');
    });

    it('answers CSV (format or Accept) and Parquet, and a download with a file name', async () => {
      const want = [['day', 'reports', 'drones', 'avg_per_drone'], ...daily().map((r) => r.map(csvText))];
      for (const opts of [{ url: '/v1/stats/reports-daily?format=csv' }, { url: '/v1/stats/reports-daily', headers: { accept: 'text/csv' } }]) {
        const res = await inject({ method: 'GET', ...opts });
        assert.equal(res.statusCode, 200, res.body);
        assert.match(String(res.headers['content-type']), /^text\/csv/, `${opts.url}: content type`);
        assert.deepEqual(parseCsv(res.body), want, `${opts.url}: rows`);
      }
      const pq = await inject({ method: 'GET', url: '/v1/stats/reports-daily?format=parquet' });
      assert.equal(pq.statusCode, 200, pq.body);
      assert.equal(pq.headers['content-type'], 'application/vnd.apache.parquet', 'parquet content type');
      assert.equal(pq.headers['x-dronewatch-row-count'], '2', 'row count header');
      const read = await readParquet(arrayBufferOf(pq.rawPayload));
      assert.deepEqual(read.columns, ['day', 'reports', 'drones', 'avg_per_drone'], 'parquet columns');
      // hyparquet reads a DATE as a Date at midnight UTC.
      assert.deepEqual(read.rows.map((r) => [String(fromParquet(r.day)).slice(0, 10), fromParquet(r.reports), fromParquet(r.drones), r.avg_per_drone]), daily(), 'parquet rows');

      const dl = await inject({ method: 'GET', url: '/v1/stats/reports-daily?format=csv&download=true' });
      assert.equal(dl.statusCode, 200, dl.body);
      assert.equal(dl.headers['content-disposition'], 'attachment; filename="reports-daily.csv"', 'download name');
    });

    it('refuses bad parameters with 400 naming the field, and an unknown statistic with 404', async () => {
      const cases: [string, string][] = [
        ['/v1/stats/hotspots?cell=abc', 'cell'],
        ['/v1/stats/hotspots?cell=-1', 'cell'],
        ['/v1/stats/reports-daily?from=soon', 'from'],
        ['/v1/stats/reports-daily?to=2025-13-45', 'to'],
        ['/v1/stats/reports-daily?from=2025-02-01&to=2025-01-01', 'from'],
        ['/v1/stats/reports-daily?limit=3', 'limit'],
        ['/v1/stats/top-drones?limit=0', 'limit'],
        ['/v1/stats/silent-drones?minutes=x', 'minutes'],
        ['/v1/stats/reports-daily?format=xml', 'format'],
      ];
      for (const [url, field] of cases) {
        const res = await inject({ method: 'GET', url });
        assert.equal(res.statusCode, 400, `${url}: status (${res.body})`);
        const body = res.json() as ErrorBody;
        assert.ok(body.code === 'DW_CONFIG_INVALID' || body.code === 'DW_REQUEST_INVALID', `${url}: code ${body.code}`);
        assert.deepEqual(body.errors?.map((e) => e.field), [field], `${url}: the field (body ${res.body})`);
        assert.ok(!/\n\s+at /.test(res.body), `${url}: no stack`);
      }
      const unknown = assertError(await inject({ method: 'GET', url: '/v1/stats/nope' }), 404, 'DW_QUERY_FAILED', 'unknown statistic');
      assert.match(unknown.message, /"nope"/, 'names the statistic');
      assertError(await inject({ method: 'GET', url: '/v1/stats/nope?format=parquet' }), 404, 'DW_QUERY_FAILED', 'unknown statistic as parquet');
    });
  });

  describe('POST /v1/query', () => {
    it('answers a JSON envelope by default, with the counts computed in TypeScript', async () => {
      const res = await query({ sql: PER_DRONE });
      assert.equal(res.statusCode, 200, res.body);
      const body = res.json() as Envelope;
      assert.deepEqual(body.columns, ['drone_id', 'n'], 'columns');
      assert.deepEqual(body.columnTypes, ['VARCHAR', 'BIGINT'], 'column types');
      assert.deepEqual(body.rows, droneRows, 'rows');
      assert.equal(body.rowCount, droneRows.length, 'rowCount');
      assert.equal(body.truncated, false, 'not truncated');
    });

    it('answers CSV, JSON lines and Parquet, by format or by Accept header (format wins)', async () => {
      const csvWant = [['drone_id', 'n'], ...droneRows.map((r) => r.map(csvText))];
      const ndWant = droneRows.map(([drone_id, n]) => ({ drone_id, n }));
      const cases: [string, Record<string, unknown>, Record<string, string>, string][] = [
        ['format csv', { format: 'csv' }, {}, 'csv'],
        ['Accept text/csv', {}, { accept: 'text/csv' }, 'csv'],
        ['format ndjson', { format: 'ndjson' }, {}, 'ndjson'],
        ['Accept application/x-ndjson', {}, { accept: 'application/x-ndjson' }, 'ndjson'],
        ['format parquet', { format: 'parquet' }, {}, 'parquet'],
        ['Accept parquet', {}, { accept: 'application/vnd.apache.parquet' }, 'parquet'],
        ['Accept */*', {}, { accept: '*/*' }, 'json'],
        ['format json over Accept csv', { format: 'json' }, { accept: 'text/csv' }, 'json'],
        ['format csv over Accept parquet', { format: 'csv' }, { accept: 'application/vnd.apache.parquet' }, 'csv'],
      ];
      for (const [label, extra, headers, kind] of cases) {
        const res = await query({ sql: PER_DRONE, ...extra }, headers);
        assert.equal(res.statusCode, 200, `${label}: ${res.body}`);
        const type = String(res.headers['content-type']);
        if (kind === 'csv') {
          assert.match(type, /^text\/csv/, `${label}: content type`);
          assert.deepEqual(parseCsv(res.body), csvWant, `${label}: rows`);
        } else if (kind === 'ndjson') {
          assert.match(type, /^application\/x-ndjson/, `${label}: content type`);
          assert.deepEqual(res.body.trimEnd().split('\n').map((l) => JSON.parse(l) as unknown), ndWant, `${label}: rows`);
        } else if (kind === 'parquet') {
          assert.equal(type, 'application/vnd.apache.parquet', `${label}: content type`);
          const read = await readParquet(arrayBufferOf(res.rawPayload));
          assert.deepEqual(read.rows.map((r) => fromParquet(r)), ndWant, `${label}: rows`);
        } else {
          assert.match(type, /^application\/json/, `${label}: content type`);
          assert.deepEqual((res.json() as Envelope).rows, droneRows, `${label}: rows`);
        }
      }
    });

    it('stops at the limit and says so; a limit above analysis.maxRows is capped', async () => {
      const ten = await query({ sql: 'SELECT report_id FROM reports', limit: 10 });
      assert.equal(ten.statusCode, 200, ten.body);
      assert.equal(ten.headers['x-dronewatch-row-limit'], '10', 'row limit header');
      const t = ten.json() as Envelope;
      assert.equal(t.rows.length, 10, 'rows');
      assert.equal(t.rowCount, 10, 'rowCount');
      assert.equal(t.truncated, true, 'truncated');

      const exact = await query({ sql: PER_DRONE, limit: droneRows.length });
      assert.equal((exact.json() as Envelope).truncated, false, 'exactly `limit` rows: not truncated');

      const capped = await query({ sql: 'SELECT report_id FROM reports', limit: 100_000 });
      assert.equal(capped.headers['x-dronewatch-row-limit'], String(MAX_ROWS), 'capped row limit header');
      const c = capped.json() as Envelope;
      assert.equal(c.rows.length, MAX_ROWS, 'capped at maxRows');
      assert.equal(c.truncated, true, 'truncated');

      const none = await query({ sql: 'SELECT report_id FROM reports', format: 'csv' });
      assert.equal(none.headers['x-dronewatch-row-limit'], String(MAX_ROWS), 'default row limit header');
      assert.equal(parseCsv(none.body).length, MAX_ROWS + 1, 'maxRows rows and a header');

      const pq = await query({ sql: 'SELECT report_id FROM reports', format: 'parquet', limit: 100_000 });
      assert.equal(pq.statusCode, 200, pq.body);
      assert.equal(pq.headers['x-dronewatch-row-count'], String(MAX_ROWS), 'parquet: capped too');
      assert.equal((await readParquet(arrayBufferOf(pq.rawPayload))).rows.length, MAX_ROWS, 'parquet rows');
    });

    it('answers 400 DW_QUERY_FAILED with DuckDB\'s message for bad SQL, and for SQL that is not a read of the lake', async () => {
      const syntax = assertError(await query({ sql: 'SELEC 1' }), 400, 'DW_QUERY_FAILED', 'syntax error');
      assert.match(syntax.message, /syntax error at or near "SELEC"/, 'DuckDB\'s parser message');
      const column = assertError(await query({ sql: 'SELECT nope FROM reports' }), 400, 'DW_QUERY_FAILED', 'unknown column');
      assert.match(column.message, /nope/, 'DuckDB\'s binder message names the column');
      const runtime = assertError(await query({ sql: `SELECT CAST('x' || drone_id AS INTEGER) FROM reports` }), 400, 'DW_QUERY_FAILED', 'conversion error');
      assert.match(runtime.message, /[Cc]onver/, 'DuckDB\'s conversion message');
      const forbidden: [string, string][] = [
        ['read_csv of /etc/passwd', `SELECT * FROM read_csv('/etc/passwd')`],
        ['COPY', `COPY (SELECT 1) TO '${path.join(fx.tmpDir, 'copied.csv')}'`],
        ['ATTACH', `ATTACH '${path.join(fx.tmpDir, 'x.db')}' AS x`],
        ['SET', 'SET enable_external_access = true'],
        ['two statements', 'SELECT 1; SELECT 2'],
      ];
      for (const [label, sql] of forbidden) {
        for (const format of ['json', 'csv', 'parquet']) assertError(await query({ sql, format }), 400, 'DW_QUERY_FAILED', `${label} (${format})`);
      }
      const invalid = assertError(await query({ sql: 'SELECT 1', limit: 0 }), 400, 'DW_REQUEST_INVALID', 'limit 0');
      assert.deepEqual(invalid.errors?.map((e) => e.field), ['limit'], 'names the field');
      assertError(await query({ format: 'csv' }), 400, 'DW_REQUEST_INVALID', 'no sql');
      assert.equal(fx.svc.running, 0, 'no connection left open');
    });

    it('answers 408 DW_QUERY_TIMEOUT when timeoutMs runs out, in every format', async () => {
      for (const format of ['json', 'csv', 'parquet']) {
        const res = await query({ sql: ENDLESS, timeoutMs: 300, format });
        const body = assertError(res, 408, 'DW_QUERY_TIMEOUT', `timeoutMs (${format})`);
        assert.match(body.message, /300 ms/, 'gives the limit');
      }
      await eventually(() => fx.svc.running === 0, 'connections released');
    });

    // The timeout bounds a regression (a query without its time limit would run for minutes).
    it('applies analysis.timeoutSeconds to a request without timeoutMs or with a larger one, in every format', { timeout: 30_000 }, async () => {
      const strict = new AnalysisService({ source: localLakeFiles(root), config: analysisConfig({ maxRows: MAX_ROWS, timeoutSeconds: 0.4 }) });
      const strictApp = await buildServer({ analysis: strict });
      try {
        for (const format of ['json', 'csv', 'parquet']) {
          for (const extra of [{}, { timeoutMs: 3_600_000 }]) {
            const res = await strictApp.inject({ method: 'POST', url: '/v1/query', payload: { sql: ENDLESS, format, ...extra } });
            assertError(res, 408, 'DW_QUERY_TIMEOUT', `${format} ${JSON.stringify(extra)}`);
          }
        }
        const stat = await strictApp.inject({ method: 'GET', url: `/v1/stats/reports-daily?format=parquet` });
        assert.equal(stat.statusCode, 200, `a quick statistic still answers: ${stat.body}`);
      } finally {
        await strictApp.close();
        await strict.close();
      }
    });
  });

  describe('POST /v1/export', () => {
    const sql = 'SELECT report_id, drone_id, ts FROM reports ORDER BY report_id';
    const want = [...reports].sort((a, b) => (a.reportId < b.reportId ? -1 : 1)).map((r) => ({ report_id: r.reportId, drone_id: r.droneId, ts: r.timestamp }));

    it('gives the whole result (more rows than maxRows) as an attachment, in every format', async () => {
      for (const format of ['csv', 'json', 'ndjson', 'parquet'] as const) {
        const res = await inject({ method: 'POST', url: '/v1/export', payload: { sql, format, filename: 'all-reports' } });
        assert.equal(res.statusCode, 200, `${format}: ${res.body.slice(0, 300)}`);
        assert.equal(res.headers['content-disposition'], `attachment; filename="all-reports.${format}"`, `${format}: content-disposition`);
        assert.equal(res.headers['x-dronewatch-row-limit'], undefined, `${format}: no row limit`);
        let rows: unknown[];
        if (format === 'csv') {
          const [header, ...lines] = parseCsv(res.body);
          assert.deepEqual(header, ['report_id', 'drone_id', 'ts'], 'csv header');
          rows = lines.map(([report_id, drone_id, ts]) => ({ report_id, drone_id, ts }));
        } else if (format === 'json') {
          rows = JSON.parse(res.body) as unknown[];
        } else if (format === 'ndjson') {
          rows = res.body.trimEnd().split('\n').map((l) => JSON.parse(l) as unknown);
        } else {
          rows = (await readParquet(arrayBufferOf(res.rawPayload))).rows.map((r) => fromParquet(r));
        }
        assert.equal(rows.length, reports.length, `${format}: every row, beyond maxRows`);
        assert.deepEqual(rows, want, `${format}: the reports`);
      }
      const dflt = await inject({ method: 'POST', url: '/v1/export', payload: { sql, format: 'csv' } });
      assert.equal(dflt.headers['content-disposition'], 'attachment; filename="export.csv"', 'default file name');
    });

    it('refuses bad requests: no format, a file name with a path, bad SQL', async () => {
      const noFormat = assertError(await inject({ method: 'POST', url: '/v1/export', payload: { sql } }), 400, 'DW_REQUEST_INVALID', 'no format');
      assert.match(noFormat.message, /format/, 'names format');
      const badName = assertError(await inject({ method: 'POST', url: '/v1/export', payload: { sql, format: 'csv', filename: '../x' } }), 400, 'DW_REQUEST_INVALID', 'file name');
      assert.deepEqual(badName.errors?.map((e) => e.field), ['filename'], 'names the field');
      for (const format of ['csv', 'parquet']) {
        assertError(await inject({ method: 'POST', url: '/v1/export', payload: { sql: `SELECT * FROM read_csv('/etc/passwd')`, format } }), 400, 'DW_QUERY_FAILED', `forbidden (${format})`);
      }
    });
  });

  describe('saved queries', () => {
    const sql = PER_DRONE;

    it('runs the whole lifecycle: create, refuse duplicates and bad input, list, get, replace, run, delete', async () => {
      const created = await inject({ method: 'POST', url: '/v1/queries', payload: { name: 'per-drone', sql, description: 'reports per drone' } });
      assert.equal(created.statusCode, 201, created.body);
      const c = created.json() as { name: string; sql: string; description: string; createdAt: string; updatedAt: string };
      assert.equal(c.name, 'per-drone', 'name');
      assert.equal(c.sql, sql, 'sql');
      assert.equal(c.description, 'reports per drone', 'description');
      assert.ok(!Number.isNaN(Date.parse(c.createdAt)), 'createdAt');

      assertError(await inject({ method: 'POST', url: '/v1/queries', payload: { name: 'per-drone', sql: 'SELECT 1' } }), 409, 'DW_SAVED_QUERY_EXISTS', 'duplicate');
      for (const name of ['Bad Name', '-dash-first', 'x'.repeat(65), '']) {
        const bad = assertError(await inject({ method: 'POST', url: '/v1/queries', payload: { name, sql: 'SELECT 1' } }), 400, 'DW_REQUEST_INVALID', `name ${JSON.stringify(name)}`);
        assert.deepEqual(bad.errors?.map((e) => e.field), ['name'], `name ${JSON.stringify(name)}: the field`);
      }
      for (const bad of ['SELEC 1', 'SELECT nope FROM reports', 'SET threads = 1', `SELECT * FROM read_csv('/etc/passwd')`]) {
        assertError(await inject({ method: 'POST', url: '/v1/queries', payload: { name: 'broken', sql: bad } }), 400, 'DW_QUERY_FAILED', `invalid SQL ${bad}`);
      }
      assertError(await inject({ method: 'GET', url: '/v1/queries/broken' }), 404, 'DW_SAVED_QUERY_NOT_FOUND', 'refused SQL was not saved');

      const list = await inject({ method: 'GET', url: '/v1/queries' });
      assert.equal(list.statusCode, 200, list.body);
      assert.deepEqual((list.json() as { queries: { name: string }[] }).queries.map((q) => q.name), ['per-drone'], 'list');
      const got = await inject({ method: 'GET', url: '/v1/queries/per-drone' });
      assert.equal(got.statusCode, 200, got.body);
      assert.deepEqual(got.json(), c, 'get');

      const newSql = `SELECT drone_id, count(*) AS n FROM reports WHERE drone_id <> 'drone-00000' GROUP BY drone_id ORDER BY drone_id`;
      assertError(await inject({ method: 'PUT', url: '/v1/queries/per-drone', payload: { name: 'other', sql: newSql } }), 400, 'DW_REQUEST_INVALID', 'PUT with another name');
      assertError(await inject({ method: 'PUT', url: '/v1/queries/per-drone', payload: { sql: 'DROP VIEW reports' } }), 400, 'DW_QUERY_FAILED', 'PUT with forbidden SQL');
      const replaced = await inject({ method: 'PUT', url: '/v1/queries/per-drone', payload: { sql: newSql, description: 'without drone 0' } });
      assert.equal(replaced.statusCode, 200, replaced.body);
      const r = replaced.json() as typeof c;
      assert.equal(r.sql, newSql, 'replaced sql');
      assert.equal(r.description, 'without drone 0', 'replaced description');
      assert.equal(r.createdAt, c.createdAt, 'createdAt kept');
      assert.ok(r.updatedAt >= c.updatedAt, 'updatedAt moves on');

      const result = await inject({ method: 'GET', url: '/v1/queries/per-drone/result?format=csv' });
      assert.equal(result.statusCode, 200, result.body);
      assert.match(String(result.headers['content-type']), /^text\/csv/, 'csv');
      const wantRows = droneRows.filter(([d]) => d !== 'drone-00000');
      assert.equal(wantRows.length, droneRows.length - 1, 'drone-00000 is in the fixture');
      assert.deepEqual(parseCsv(result.body), [['drone_id', 'n'], ...wantRows.map((x) => x.map(csvText))], 'result rows');
      const limited = await inject({ method: 'GET', url: '/v1/queries/per-drone/result?limit=2' });
      const l = limited.json() as Envelope;
      assert.deepEqual([l.rows.length, l.truncated], [2, true], 'limit and truncated');
      const dl = await inject({ method: 'GET', url: '/v1/queries/per-drone/result?format=ndjson&download=true' });
      assert.equal(dl.headers['content-disposition'], 'attachment; filename="per-drone.ndjson"', 'download');

      const del = await inject({ method: 'DELETE', url: '/v1/queries/per-drone' });
      assert.equal(del.statusCode, 204, del.body);
      assert.equal(del.body, '', 'no body');
      assertError(await inject({ method: 'GET', url: '/v1/queries/per-drone' }), 404, 'DW_SAVED_QUERY_NOT_FOUND', 'gone');
      assertError(await inject({ method: 'GET', url: '/v1/queries/per-drone/result' }), 404, 'DW_SAVED_QUERY_NOT_FOUND', 'no result');
      assertError(await inject({ method: 'DELETE', url: '/v1/queries/per-drone' }), 404, 'DW_SAVED_QUERY_NOT_FOUND', 'delete twice');
      assert.deepEqual((await inject({ method: 'GET', url: '/v1/queries' })).json(), { queries: [] }, 'empty list');
    });
  });
});
