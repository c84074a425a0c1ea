/** The analysis HTTP API over a real socket (disconnects, cut answers), and its tenants and time ranges. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { buildServer } from '../../src/server/index.ts';
import { archiveReports, arrayBufferOf, parseCsv, readParquet } from '../analysis/helpers.ts';
import { SampleFleet } from '../lake/fixtures/sample.ts';
import { analysisApiFixture, assertError, ENDLESS, eventually, steadily, type Envelope, type ErrorBody } from './analysis-api-fixture.ts';

describe('analysis HTTP API over a socket, tenants and ranges (issue 3)', () => {
  const fx = analysisApiFixture('dw-analysis-api-socket-');
  const { root, reports, inject, query } = fx;

  describe('over a real socket', () => {
    let url: string;
    let server: FastifyInstance;
    before(async () => {
      server = await buildServer({ analysis: fx.svc });
      await server.listen({ port: 0, host: '127.0.0.1' });
      url = `http://127.0.0.1:${(server.server.address() as AddressInfo).port}`;
    });
    after(async () => server?.close());

    it('an error after the answer has started cuts the connection: a partial answer never passes for a complete one', async () => {
      // Tens of thousands of good rows, then a conversion error: the first rows are sent before it happens.
      const failsLate = `SELECT range AS n, CASE WHEN range < 50000 THEN 'ok' ELSE CAST(CAST(range AS VARCHAR) || 'x' AS INTEGER)::VARCHAR END AS v
        FROM range(100000)`;
      for (const format of ['csv', 'ndjson', 'json']) {
        const res = await fetch(`${url}/v1/export`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sql: failsLate, format }) });
        if (res.status !== 200) {
          // The error came before the first byte: then it is an ordinary error answer.
          assert.equal(res.status, 400, `${format}: status`);
          assert.equal(((await res.json()) as ErrorBody).code, 'DW_QUERY_FAILED', `${format}: code`);
          continue;
        }
        await assert.rejects(res.text(), (e: Error) => e instanceof TypeError, `${format}: the body ends in an error, not in a clean end`);
      }
      await eventually(() => fx.svc.running === 0, 'connections released');
    });

    for (const format of ['json', 'parquet']) {
      it(`a client that disconnects mid-query gets the query interrupted (${format})`, async () => {
        assert.equal(fx.svc.running, 0, 'idle before');
        const ac = new AbortController();
        // No timeout applies here (analysis.timeoutSeconds is 120): only the disconnect can end the query early.
        const pending = fetch(`${url}/v1/query`, {
          method: 'POST', signal: ac.signal, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sql: ENDLESS, format }),
        });
        pending.catch(() => {});
        try {
          // Parquet checks the SQL on a connection of its own first, then opens the exporter: wait for the query itself.
          await steadily(() => fx.svc.running === 1, 'the query to be running', 300);
        } finally {
          ac.abort();
        }
        await assert.rejects(pending, (e: Error) => e.name === 'AbortError', 'the client sees its own abort');
        await eventually(() => fx.svc.running === 0, 'the query connection to be released after the disconnect', 5_000);
        const after = await fetch(`${url}/v1/query`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sql: 'SELECT 1 AS one' }) });
        assert.deepEqual(((await after.json()) as Envelope).rows, [[1]], 'the server still answers');
      });
    }
  });

  describe('tenants and time ranges', () => {
    // Another police force's reports in the same lake, and a server whose requests all belong to it.
    const lyon = new SampleFleet({ drones: 3, seed: 4, citizens: 50, start: Date.UTC(2025, 0, 16, 0, 10), intervalMs: 60_000, tenant: 'lyon' }).reports(60)
      .map((r) => ({ ...r, droneId: `lyon-${r.droneId}`, reportId: `lyon-${r.reportId}` }));
    let lyonApp: FastifyInstance;
    before(async () => {
      await archiveReports(root, lyon, reports.length);
      lyonApp = await buildServer({ analysis: fx.svc, tenant: 'lyon' });
    });
    after(async () => {
      await lyonApp?.close();
    });

    it('each server\'s tenant sees its own rows, statistics and saved queries only', async () => {
      const mine = await lyonApp.inject({ method: 'POST', url: '/v1/query', payload: { sql: 'SELECT DISTINCT tenant, count(*) OVER () FROM reports' } });
      assert.deepEqual((mine.json() as Envelope).rows, [['lyon', lyon.length]], mine.body);
      const theirs = await query({ sql: 'SELECT count(*) FROM reports WHERE drone_id LIKE \'lyon-%\' OR tenant = \'lyon\'' });
      assert.deepEqual((theirs.json() as Envelope).rows, [[0]], 'the default tenant sees nothing of lyon');
      const stat = await lyonApp.inject({ method: 'GET', url: '/v1/stats/reports-daily' });
      assert.deepEqual((stat.json() as Envelope).rows.map((r) => r[1]), [lyon.length], stat.body);
      assert.equal((await inject({ method: 'POST', url: '/v1/queries', payload: { name: 'only-default', sql: 'SELECT 1' } })).statusCode, 201);
      assertError(await lyonApp.inject({ method: 'GET', url: '/v1/queries/only-default' }), 404, 'DW_SAVED_QUERY_NOT_FOUND', 'another tenant\'s saved query');
      assert.deepEqual((await lyonApp.inject({ method: 'GET', url: '/v1/queries' })).json(), { queries: [] });
      assert.equal((await inject({ method: 'DELETE', url: '/v1/queries/only-default' })).statusCode, 204);
    });

    it('from/to read only the hour partitions of the range (rows of the boundary hours included)', async () => {
      const hour = reports.filter((r) => r.timestamp.startsWith('2025-01-16T00')).length;
      assert.ok(hour > 0 && hour < reports.length, 'the hour holds some of the reports');
      const res = await query({ sql: 'SELECT count(*) FROM reports', from: '2025-01-16T00:30:00Z', to: '2025-01-16T00:59:59Z' });
      assert.deepEqual((res.json() as Envelope).rows, [[hour]], res.body);
      const csv = await inject({ method: 'POST', url: '/v1/export', payload: { sql: 'SELECT report_id FROM reports', format: 'csv', from: '2025-01-16T00:00:00Z', to: '2025-01-16T00:10:00Z' } });
      assert.equal(parseCsv(csv.body).length - 1, hour, 'the export is pruned the same way');
      const pq = await query({ sql: 'SELECT count(*) AS n FROM reports', format: 'parquet', from: '2025-01-16T00:00:00Z', to: '2025-01-16T00:00:01Z' });
      assert.equal(Number((await readParquet(arrayBufferOf(pq.rawPayload))).rows[0]!.n), hour, 'Parquet answers too');
      const bad = assertError(await query({ sql: 'SELECT 1', from: 'yesterday' }), 400, 'DW_CONFIG_INVALID', 'a bad instant');
      assert.deepEqual(bad.errors?.map((e) => e.field), ['from']);
      assertError(await query({ sql: 'SELECT 1', from: '2025-01-17', to: '2025-01-16' }), 400, 'DW_CONFIG_INVALID', 'from after to');
    });
  });
});
