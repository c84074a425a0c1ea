import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import type { FastifyInstance } from 'fastify';
import type { DwError } from '../../src/errors/index.ts';
import { AnalysisService } from '../../src/analysis/index.ts';
import { QueryAdmission } from '../../src/analysis/admission.ts';
import { validateConfig } from '../../src/config/index.ts';
import { localLakeFiles, type QueryCursor } from '../../src/lake/index.ts';
import { interruptGuard } from '../../src/lake/sandbox-interrupt.ts';
import { buildServer } from '../../src/server/index.ts';
import { tempDir } from '../../src/testkit/index.ts';
import { SampleFleet } from '../lake/fixtures/sample.ts';
import { analysisConfig, archiveReports } from './helpers.ts';

/**
 * Regression: the query time and memory limits did not hold for large values. `select repeat('x',1000000) from
 * range(10000)` with timeoutMs 2000 answered 408 after 17 s with the server at 2.16 GB (DuckDB materialised the whole
 * result ahead of its reader, then a whole 2,048-row chunk was converted to JS before the timer could fire);
 * `string_agg` of 100,000 1 MB strings ran 90 s; DuckDB's memory limit was 80% of the machine; nothing capped the
 * answer's size or the number of queries. Sizes here are small so that the tests run in seconds.
 */

const ENDLESS = 'SELECT sum(range) FROM range(100000000000)';
const MiB = 1024 * 1024;

const rejectsWith = (p: Promise<unknown>, code: string, label: string, message?: RegExp): Promise<void> =>
  assert.rejects(p, (e: Error & { code?: string }) => {
    assert.equal(e.code, code, `${label}: ${e.message}`);
    if (message) assert.match(e.message, message, label);
    return true;
  });

describe('the query time and memory limits do not hold for large values', () => {
  const tmp = tempDir('dw-query-limits-');
  const root = path.join(tmp.dir, 'lake');
  let svc: AnalysisService;
  let app: FastifyInstance;

  before(async () => {
    await archiveReports(root, new SampleFleet({ drones: 3, seed: 9, start: Date.UTC(2025, 0, 15, 10) }).reports(30));
    svc = new AnalysisService({
      source: localLakeFiles(root),
      config: analysisConfig({ maxResultBytes: MiB, memoryLimit: '64MB', maxQueriesPerTenant: 1, maxQueries: 2 }),
    });
    app = await buildServer({ analysis: svc });
  });
  after(async () => {
    await app?.close();
    await svc?.close();
    tmp.cleanup();
  });

  it('the limits are configuration, with defaults defined in the schema', () => {
    const a = validateConfig({}).analysis;
    assert.equal(a.memoryLimit, '1GB');
    assert.equal(a.engineMemoryBytes, 2 * 1024 * MiB);
    assert.equal(a.maxResultBytes, 64 * MiB);
    assert.equal(a.maxQueriesPerTenant, 2);
    assert.equal(a.maxQueries, 4);
  });

  it('an answer over maxResultBytes stops with 413 DW_QUERY_TOO_LARGE before the answer starts, having converted ~1 MiB', async () => {
    const res = await app.inject({ method: 'POST', url: '/v1/query', payload: { sql: `SELECT repeat('x', 100000) AS big FROM range(5000)` } });
    assert.equal(res.statusCode, 413, res.body);
    const body = res.json() as { code: string; message: string };
    assert.equal(body.code, 'DW_QUERY_TOO_LARGE');
    assert.match(body.message, /analysis\.maxResultBytes/);
    const rows = Number(/after (\d+) rows/.exec(body.message)?.[1]);
    assert.ok(rows >= 5 && rows <= 11, `stopped at the limit (1 MiB of 100 kB values), not after the chunk: ${body.message}`);
    // Small answers are unaffected; a CSV answer of the same query fails the same way.
    const ok = await app.inject({ method: 'POST', url: '/v1/query', payload: { sql: `SELECT repeat('x', 100) AS s FROM range(5000)` } });
    assert.equal(ok.statusCode, 200, ok.body);
    assert.equal((ok.json() as { rowCount: number }).rowCount, 5000);
    const csv = await app.inject({ method: 'POST', url: '/v1/query', payload: { sql: `SELECT repeat('x', 100000) FROM range(5000)`, format: 'csv' } });
    assert.equal(csv.statusCode, 413, csv.body);
    await waitIdle();
  });

  it('a query needing more than memoryLimit stops with 413 DW_QUERY_TOO_LARGE, not with DuckDB\'s advice to spill', async () => {
    const e = await svc.query('default', `SELECT length(string_agg(repeat('x', 100000), ',')) FROM range(20000)`).then(() => undefined, (x: unknown) => x as Error & { code?: string });
    assert.ok(e, 'refused');
    assert.equal(e.code, 'DW_QUERY_TOO_LARGE', e.message);
    assert.match(e.message, /memory_limit 64MB/);
    assert.doesNotMatch(e.message, /temp_directory|persistent storage/);
    await waitIdle();
  });

  it('DuckDB does not materialise the result ahead of its reader', async () => {
    // 100,000 rows of 20 kB: 2 GB if DuckDB ran ahead (it did, at its default streaming buffer); a few chunks now.
    // DuckDB runs in the query-engine process: the server's and the engine's resident memory together.
    global.gc?.();
    await drain(svc.query('default', 'SELECT 1'));
    const pid = svc.enginePid('default');
    const rss = (): number => process.memoryUsage.rss() + residentOf(pid);
    const before = rss();
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, rss())), 5);
    try {
      const cur = await svc.query('default', `SELECT repeat('y', 20000) AS s FROM range(100000)`, { limit: 10 });
      const rows: unknown[][] = [];
      for await (const b of cur) rows.push(...b);
      assert.equal(rows.length, 10);
      assert.equal(cur.truncated, true);
    } finally {
      clearInterval(sampler);
    }
    peak = Math.max(peak, rss());
    assert.ok(pid !== undefined && residentOf(pid) > 0, 'the engine process was measured');
    assert.ok(peak - before < 1024 * MiB, `resident memory grew by ${Math.round((peak - before) / MiB)} MiB`);
    await waitIdle();
  });

  it('defect 3 itself: repeat(\'x\', 1000000) over 10,000 rows under timeoutMs 2000 answers 408/413 within ~3 s, the server under 600 MB', async () => {
    // It answered 408 after 17 s at 2.16 GB; in the server's own DuckDB (issue 15) still 2.9-4.8 s at 2.1 GB, since
    // DuckDB neither counts a chunk's 2,048 1 MB strings nor stops within one. Now the query-engine process (its own
    // memory limit, analysis.engineMemoryBytes) takes them, and is killed if it overruns the limit by a second.
    const t0 = performance.now();
    let peak = process.memoryUsage.rss();
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 5);
    let res;
    try {
      res = await app.inject({ method: 'POST', url: '/v1/query', payload: { sql: `SELECT repeat('x', 1000000) AS s FROM range(10000)`, timeoutMs: 2000 } });
    } finally {
      clearInterval(sampler);
    }
    const ms = performance.now() - t0;
    assert.ok([408, 413].includes(res.statusCode), `${res.statusCode}: ${res.body.slice(0, 300)}`);
    assert.ok(['DW_QUERY_TIMEOUT', 'DW_QUERY_TOO_LARGE'].includes((res.json() as { code: string }).code), res.body);
    // 2 s, the engine's second of grace, and the scheduling of a loaded 2-core machine.
    assert.ok(ms < 4000, `answered after ${Math.round(ms)} ms`);
    assert.ok(peak < 600 * MiB, `the server's resident memory peaked at ${Math.round(peak / MiB)} MiB`);
    await waitIdle();
  });

  it('the time limit is checked between rows too, not only by a timer that JS work keeps from firing', async () => {
    const instance = await DuckDBInstance.create(':memory:');
    const conn = await instance.connect();
    try {
      // The guard of a query whose timer cannot fire: the thread is busy past the limit (converting rows).
      const guard = interruptGuard(conn, { timeoutMs: 20 }, (e) => e as DwError);
      const busyUntil = performance.now() + 60;
      while (performance.now() < busyUntil) { /* no timer fires meanwhile */ }
      assert.throws(() => guard.check(), (e: Error & { code?: string }) => e.code === 'DW_QUERY_TIMEOUT');
      guard.dispose();
    } finally {
      conn.closeSync();
      instance.closeSync();
    }
  });

  it('a tenant over maxQueriesPerTenant is answered 429 DW_QUERY_TOO_MANY with Retry-After; others still run; the slot comes back', async () => {
    const ac = new AbortController();
    const endless = svc.query('default', ENDLESS, { signal: ac.signal }).then((c) => c, (e: unknown) => e);
    await until(() => svc.running === 1, 'the endless query runs');
    try {
      const res = await app.inject({ method: 'POST', url: '/v1/query', payload: { sql: 'SELECT 1' } });
      assert.equal(res.statusCode, 429, res.body);
      assert.equal((res.json() as { code: string }).code, 'DW_QUERY_TOO_MANY');
      assert.match((res.json() as { message: string }).message, /maxQueriesPerTenant/);
      assert.ok(Number(res.headers['retry-after']) >= 1, `retry-after ${String(res.headers['retry-after'])}`);
      // Another tenant has its own share, within the service's total of 2.
      const other = await svc.query('other', 'SELECT 42 AS x');
      const rows: unknown[][] = [];
      for await (const b of other) rows.push(...b);
      assert.deepEqual(rows, [[42]]);
    } finally {
      ac.abort();
    }
    const ended = await endless;
    assert.equal((ended as { code?: string }).code, 'DW_QUERY_CANCELLED');
    await waitIdle();
    const again = await app.inject({ method: 'POST', url: '/v1/query', payload: { sql: 'SELECT 1 AS one' } });
    assert.equal(again.statusCode, 200, `the slot came back: ${again.body}`);
  });

  it('the service as a whole is capped at maxQueries, a query waiting briefly for a slot before it is refused', async () => {
    const admission = new QueryAdmission({ perTenant: 5, total: 2, waitMs: 200 });
    const a = await admission.enter('a');
    const b = await admission.enter('b');
    await rejectsWith(admission.enter('c'), 'DW_QUERY_TOO_MANY', 'third tenant', /analysis\.maxQueries\b/);
    // A query that waits gets the first slot given back, in order of arrival.
    const waiting = admission.enter('c');
    a();
    a(); // giving back twice changes nothing
    const c = await waiting;
    assert.equal(admission.size, 2);
    await rejectsWith(admission.enter('d'), 'DW_QUERY_TOO_MANY', 'still full');
    b();
    c();
    assert.equal(admission.size, 0);
  });

  async function waitIdle(): Promise<void> {
    await until(() => svc.running === 0, 'no query left running');
  }
});

/** VmRSS of a process in bytes (0 once it is gone). */
function residentOf(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    return Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

async function drain(cur: Promise<QueryCursor>): Promise<unknown[][]> {
  const rows: unknown[][] = [];
  for await (const b of await cur) rows.push(...b);
  return rows;
}

async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
