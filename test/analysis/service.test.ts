import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { AnalysisService, type ExportFormat, type ExportProgress } from '../../src/analysis/index.ts';
import { isDwError } from '../../src/errors/index.ts';
import { localLakeFiles, type QueryCursor } from '../../src/lake/index.ts';
import { tempDir } from '../../src/testkit/index.ts';
import { SampleFleet } from '../lake/fixtures/sample.ts';
import { analysisConfig, archiveReports, csvText, fromParquet, parseCsv, readParquet, rowObjects } from './helpers.ts';

/** The tenant of the sample data. */
const T = 'default';

/** Long enough to run for minutes on one thread: only an interrupt ends it within a test. */
const ENDLESS = 'SELECT sum(range) FROM range(100000000000)';

/** `good` rows, then a conversion error: DuckDB has streamed thousands of rows by the time it fails. */
const failsAfter = (good: number): string =>
  `SELECT range AS n, CASE WHEN range < ${good} THEN 'ok' ELSE CAST(CAST(range AS VARCHAR) || 'x' AS INTEGER)::VARCHAR END AS v FROM range(${good * 2})`;

/** Reads a cursor to the end: its batches, and every row. */
async function drain(cursor: QueryCursor | Promise<QueryCursor>): Promise<{ batches: number[]; rows: unknown[][]; truncated: boolean; columns: string[] }> {
  const c = await cursor;
  const batches: number[] = [];
  const rows: unknown[][] = [];
  for await (const batch of c) {
    batches.push(batch.length);
    rows.push(...batch);
  }
  return { batches, rows, truncated: c.truncated, columns: [...c.columns] };
}

/** Waits until `cond` holds (polled every 20 ms), failing with `what` after `ms`. */
async function eventually(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const hasCode = (code: string) => (e: unknown): boolean => {
  assert.ok(isDwError(e), `expected a DwError with ${code}, got ${String(e)}`);
  assert.equal(e.code, code, `error code (message: ${e.message})`);
  return true;
};

describe('AnalysisService over a real lake (issue 3)', () => {
  const tmp = tempDir('dw-analysis-service-');
  const root = path.join(tmp.dir, 'lake');
  const reports = new SampleFleet({ drones: 20, seed: 5, citizens: 500, start: Date.UTC(2025, 0, 15, 10, 0) }).reports(3000);
  let svc: AnalysisService;

  before(async () => {
    await archiveReports(root, reports);
    svc = new AnalysisService({ source: localLakeFiles(root), config: analysisConfig() });
  });
  after(async () => {
    await svc?.close();
    tmp.cleanup();
  });

  it('streams a result of more than 2,048 rows in several chunks, holding a connection only while it is read', async () => {
    const cursor = await svc.query(T, 'SELECT report_id FROM reports');
    assert.equal(svc.running, 1, 'the open cursor holds one connection');
    const { batches, rows } = await drain(cursor);
    assert.ok(batches.length > 1, `more than one batch, got ${JSON.stringify(batches)}`);
    assert.ok(batches.every((n) => n > 0 && n <= 2048), `batches of at most 2,048 rows, got ${JSON.stringify(batches)}`);
    assert.equal(rows.length, reports.length, 'every row');
    assert.deepEqual(rows.map((r) => r[0]).sort(), reports.map((r) => r.reportId).sort(), 'the report ids archived');
    assert.equal(svc.running, 0, 'the connection is released once the cursor is read');
  });

  it('stops at the row limit: truncated only when more rows exist', async () => {
    const cases: [rows: number, limit: number, truncated: boolean][] = [
      [reports.length, 100, true],
      [reports.length, reports.length, false],
      [reports.length, reports.length - 1, true],
      [reports.length, reports.length + 1, false],
    ];
    for (const [n, limit, truncated] of cases) {
      const r = await drain(svc.query(T, 'SELECT report_id FROM reports', { limit }));
      assert.equal(r.rows.length, Math.min(n, limit), `rows of ${n} with limit ${limit}`);
      assert.equal(r.truncated, truncated, `truncated for ${n} rows with limit ${limit}`);
    }
    // At a chunk boundary the answer needs a look at the next chunk.
    for (const [n, limit, truncated] of [[2048, 2048, false], [2049, 2048, true], [4096, 4096, false], [4097, 4096, true], [10, 10, false]] as const) {
      const r = await drain(svc.query(T, `SELECT range FROM range(${n})`, { limit }));
      assert.equal(r.rows.length, Math.min(n, limit), `range(${n}) limit ${limit}: rows`);
      assert.equal(r.truncated, truncated, `range(${n}) limit ${limit}: truncated`);
      assert.deepEqual(r.rows.map((x) => x[0]), Array.from({ length: Math.min(n, limit) }, (_, i) => i), `range(${n}) limit ${limit}: values`);
    }
    assert.equal(svc.running, 0, 'no connection left open');
  });

  it('caps a request\'s row limit and time limit at the configuration', async () => {
    const capped = new AnalysisService({ source: localLakeFiles(root), config: analysisConfig({ maxRows: 50, timeoutSeconds: 0.3 }) });
    try {
      const r = await drain(capped.query(T, 'SELECT report_id FROM reports', { limit: 1000 }));
      assert.equal(r.rows.length, 50, 'maxRows caps the limit');
      assert.equal(r.truncated, true, 'and says so');
      const noLimit = await drain(capped.query(T, 'SELECT report_id FROM reports'));
      assert.equal(noLimit.rows.length, 50, 'no limit = maxRows');
      await assert.rejects(drain(capped.query(T, ENDLESS, { timeoutMs: 3_600_000 })), hasCode('DW_QUERY_TIMEOUT'));
      assert.equal(capped.running, 0, 'the timed-out query released its connection');
    } finally {
      await capped.close();
    }
  });

  it('interrupts a long query at its time limit with DW_QUERY_TIMEOUT, well before it would finish', async () => {
    const started = Date.now();
    await assert.rejects(drain(svc.query(T, ENDLESS, { timeoutMs: 300 })), (e: unknown) => {
      hasCode('DW_QUERY_TIMEOUT')(e);
      assert.match((e as Error).message, /300 ms/, 'the message gives the limit');
      return true;
    });
    // The query needs minutes on one thread; an interrupt ends it within a few seconds at most.
    assert.ok(Date.now() - started < 15_000, `interrupted after ${Date.now() - started} ms`);
    assert.equal(svc.running, 0, 'connection released');
    assert.equal((await drain(svc.query(T, 'SELECT count(*) FROM reports'))).rows[0]![0], reports.length, 'the service still answers');
  });

  it('cancels with an AbortSignal (DW_QUERY_CANCELLED), and with cursor.cancel() between two reads', async () => {
    const ac = new AbortController();
    const running = drain(svc.query(T, ENDLESS, { signal: ac.signal }));
    running.catch(() => {});
    try {
      await eventually(() => svc.running === 1, 'the query to start');
    } finally {
      ac.abort(); // whatever happens: the query would run for minutes
    }
    await assert.rejects(running, hasCode('DW_QUERY_CANCELLED'));
    assert.equal(svc.running, 0, 'connection released after abort');

    const aborted = new AbortController();
    aborted.abort();
    await assert.rejects(drain(svc.query(T, 'SELECT 1', { signal: aborted.signal })), hasCode('DW_QUERY_CANCELLED'));
    assert.equal(svc.running, 0, 'an already-aborted signal holds no connection');

    const cursor = await svc.query(T, 'SELECT range FROM range(100000)', { limit: 100_000 });
    const it = cursor[Symbol.asyncIterator]();
    const first = await it.next();
    assert.equal(first.done, false, 'a first batch');
    cursor.cancel();
    await assert.rejects(it.next(), hasCode('DW_QUERY_CANCELLED'));
    cursor.cancel();
    assert.equal(svc.running, 0, 'connection released after cancel');

    // A cursor nobody reads (an HTTP client gone before its answer started) is released by cancel() alone.
    const unread = await svc.query(T, 'SELECT report_id FROM reports');
    assert.equal(svc.running, 1, 'the unread cursor holds a connection');
    unread.cancel();
    assert.equal(svc.running, 0, 'cancel() released it');
    await assert.rejects(drain(unread), hasCode('DW_QUERY_CANCELLED'));

    // Between two reads, too: the reader may never come back.
    const paused = await svc.query(T, 'SELECT range FROM range(100000)', { limit: 100_000 });
    const pit = paused[Symbol.asyncIterator]();
    assert.equal((await pit.next()).done, false, 'a first batch');
    paused.cancel();
    assert.equal(svc.running, 0, 'released between two reads');
    await assert.rejects(pit.next(), hasCode('DW_QUERY_CANCELLED'));

    // After the end, cancel() does nothing (the connection is closed: it must not be touched).
    const done = await svc.query(T, 'SELECT 42 AS x');
    assert.deepEqual((await drain(done)).rows, [[42]], 'read to the end');
    done.cancel();
    done.cancel();
    assert.deepEqual((await drain(svc.query(T, 'SELECT 43 AS x'))).rows, [[43]], 'the service still answers');
    assert.equal(svc.running, 0, 'nothing running');
  });

  it('a query that fails while its rows are read throws DW_QUERY_FAILED: it never ends as if complete', async () => {
    for (const good of [50_000, 200_000]) {
      let rows = 0;
      await assert.rejects((async () => {
        // exportCursor: no row limit (maxRows would stop the reading before the error).
        for await (const batch of await svc.exportCursor(T, failsAfter(good))) rows += batch.length;
      })(), (e: unknown) => {
        hasCode('DW_QUERY_FAILED')(e);
        assert.match((e as Error).message, /failed after \d+ rows/, 'says the rows were cut short');
        return true;
      }, `${good} good rows`);
      assert.ok(rows < good * 2, `${good}: fewer rows than the query has (${rows})`);
      assert.equal(svc.running, 0, 'connection released');
    }
  });

  it('runs two cursors at the same time, and a short query while a long one runs', async () => {
    const a = await svc.query(T, 'SELECT range AS n FROM range(6000)');
    const b = await svc.query(T, 'SELECT report_id FROM reports');
    assert.equal(svc.running, 2, 'two connections');
    const ia = a[Symbol.asyncIterator]();
    const ib = b[Symbol.asyncIterator]();
    let na = 0;
    let nb = 0;
    for (;;) {
      // Alternate reads: each cursor advances while the other is open mid-result.
      const [ra, rb] = await Promise.all([ia.next(), ib.next()]);
      if (!ra.done) na += ra.value.length;
      if (!rb.done) nb += rb.value.length;
      if (ra.done && rb.done) break;
    }
    assert.equal(na, 6000, 'all rows of the first');
    assert.equal(nb, reports.length, 'all rows of the second');
    assert.equal(svc.running, 0, 'both released');

    const ac = new AbortController();
    const long = drain(svc.query(T, ENDLESS, { signal: ac.signal }));
    long.catch(() => {});
    try {
      await eventually(() => svc.running === 1, 'the long query to start');
      const short = await drain(svc.query(T, 'SELECT count(DISTINCT drone_id) FROM reports'));
      assert.equal(short.rows[0]![0], new Set(reports.map((r) => r.droneId)).size, 'the short query answers while the long one runs');
      assert.equal(svc.running, 1, 'the long one is still running');
    } finally {
      ac.abort();
    }
    await assert.rejects(long, hasCode('DW_QUERY_CANCELLED'));
    assert.equal(svc.running, 0, 'released');
  });

  describe('exportToFile', () => {
    const sql = `SELECT report_id, drone_id, ts, lat, lon, citizen_count, words, citizens[1].name AS first_citizen, min_score
      FROM reports ORDER BY report_id`;
    let direct: { columns: string[]; rows: unknown[][] };
    const dir = path.join(tmp.dir, 'exports');

    before(async () => {
      mkdirSync(dir);
      const r = await drain(svc.query(T, sql, { limit: 100_000 }));
      direct = { columns: r.columns, rows: r.rows };
    });

    it('the direct answer is the fixture, with NULLs and lists in it', () => {
      assert.equal(direct.rows.length, reports.length, 'every report');
      const firstCitizen = direct.columns.indexOf('first_citizen');
      assert.ok(direct.rows.some((r) => r[firstCitizen] === null), 'some reports see nobody (NULL cells)');
      assert.ok(direct.rows.some((r) => typeof r[firstCitizen] === 'string' && /\s/.test(r[firstCitizen] as string)), 'names with spaces');
    });

    for (const format of ['csv', 'json', 'ndjson', 'parquet'] as const) {
      it(`${format}: the same rows as the direct query, and nothing else in the directory`, async () => {
        const target = path.join(dir, `all.${format}`);
        const progress: ExportProgress[] = [];
        const r = await svc.exportToFile(T, sql, target, format, { onProgress: (p) => progress.push(p) });
        assert.equal(r.rows, reports.length, 'row count');
        assert.equal(r.bytes, readFileSync(target).length, 'byte count is the file size');
        assert.deepEqual(progress.at(-1), { rows: reports.length, bytes: r.bytes }, 'last progress is the final count');
        const want = rowObjects(direct.columns, direct.rows);
        const text = format === 'parquet' ? '' : readFileSync(target, 'utf8');
        if (format === 'csv') {
          const [header, ...rows] = parseCsv(text);
          assert.deepEqual(header, direct.columns, 'header');
          assert.deepEqual(rows, direct.rows.map((row) => row.map(csvText)), 'rows');
        } else if (format === 'json') {
          assert.deepEqual(JSON.parse(text), want, 'one array of row objects');
        } else if (format === 'ndjson') {
          assert.ok(text.endsWith('\n'), 'ends with a newline');
          assert.deepEqual(text.trimEnd().split('\n').map((l) => JSON.parse(l) as unknown), want, 'one object a line');
        } else {
          const pq = await readParquet(target);
          assert.deepEqual(pq.columns, direct.columns, 'columns');
          assert.deepEqual(pq.rows.map((row) => fromParquet(row)), want, 'rows read back by hyparquet');
        }
        assert.deepEqual(readdirSync(dir).filter((f) => !/^all\.(csv|json|ndjson|parquet)$/.test(f)), [], 'no temporary file left');
        assert.equal(svc.running, 0, 'nothing left running');
      });
    }

    it('an export whose query fails leaves no file and no temporary file behind, and keeps an older file intact', async () => {
      const failDir = path.join(tmp.dir, 'failing');
      mkdirSync(failDir);
      const kept = path.join(failDir, 'kept.csv');
      writeFileSync(kept, 'old,content\r\n');
      // Fails at run time: early (before the first row), or late (rows written before the error).
      const failsEarly = failsAfter(5000);
      const failsLate = failsAfter(50_000);
      const attempts: [string, string, ExportFormat, string][] = [];
      for (const f of ['csv', 'json', 'ndjson', 'parquet'] as const) {
        attempts.push(['syntax error', 'SELEC 1', f, 'DW_QUERY_FAILED']);
        attempts.push(['unknown column', 'SELECT nope FROM reports', f, 'DW_QUERY_FAILED']);
        attempts.push(['error before the first row', failsEarly, f, 'DW_QUERY_FAILED']);
        attempts.push(['error after some rows', failsLate, f, 'DW_QUERY_FAILED']);
      }
      for (const [label, q, format, code] of attempts) {
        const target = path.join(failDir, `out.${format}`);
        await assert.rejects(svc.exportToFile(T, q, target, format), (e: unknown) => hasCode(code)(e), `${label} (${format})`);
        assert.equal(existsSync(target), false, `${label} (${format}): no file`);
      }
      await assert.rejects(svc.exportToFile(T, ENDLESS, path.join(failDir, 'slow.parquet'), 'parquet', { timeoutMs: 300 }), hasCode('DW_QUERY_TIMEOUT'));
      await assert.rejects(svc.exportToFile(T, ENDLESS, path.join(failDir, 'slow.csv'), 'csv', { timeoutMs: 300 }), hasCode('DW_QUERY_TIMEOUT'));
      await assert.rejects(svc.exportToFile(T, failsLate, kept, 'csv'), hasCode('DW_QUERY_FAILED'));
      assert.equal(readFileSync(kept, 'utf8'), 'old,content\r\n', 'a failed export does not touch the file it would replace');
      assert.deepEqual(readdirSync(failDir), ['kept.csv'], 'nothing else in the directory');
      await eventually(() => svc.running === 0, 'every connection released');
    });

    it('an export into a directory that does not exist fails and holds no connection', async () => {
      for (const format of ['csv', 'parquet'] as const) {
        const target = path.join(tmp.dir, 'missing-dir', `x.${format}`);
        await assert.rejects(svc.exportToFile(T, 'SELECT report_id FROM reports', target, format), (e: unknown) => e instanceof Error, format);
        assert.equal(existsSync(path.dirname(target)), false, `${format}: nothing created`);
        await eventually(() => svc.running === 0, `${format}: connection released`, 5_000);
      }
    });

    it('the Parquet export cannot be turned into a write elsewhere or a read outside the lake', async () => {
      const exportDir = path.join(tmp.dir, 'export-target');
      const outside = path.join(tmp.dir, 'outside');
      mkdirSync(exportDir);
      mkdirSync(outside);
      const secret = path.join(outside, 'secret.csv');
      writeFileSync(secret, 'secret\nhunter2\n');
      const escaped = path.join(outside, 'x.csv');
      const target = path.join(exportDir, 'result.parquet');
      const lit = (s: string): string => `'${s.replaceAll("'", "''")}'`;
      const attempts: [string, string][] = [
        ['close the COPY early and write a CSV', `SELECT 1) TO ${lit(escaped)} (FORMAT csv); --`],
        ['close the COPY early, /tmp', `SELECT 1) TO '/tmp/x.csv' (FORMAT csv); --`],
        ['close the COPY early over two lines', `SELECT 1\n) TO ${lit(escaped)} (FORMAT csv) --`],
        ['a second statement', `SELECT 1; COPY (SELECT 1) TO ${lit(escaped)} (FORMAT csv)`],
        ['a COPY on its own', `COPY (SELECT 1) TO ${lit(escaped)} (FORMAT csv)`],
        ['an unterminated comment swallowing the target', `SELECT 1 /*`],
        ['an unterminated string', `SELECT 'x`],
        ['an unterminated quoted name', `SELECT 1 AS "x`],
        ['read_csv of /etc/passwd', `SELECT * FROM read_csv('/etc/passwd')`],
        ['read_csv outside the lake', `SELECT * FROM read_csv(${lit(secret)})`],
        ['read_text outside the lake', `SELECT content FROM read_text(${lit(secret)})`],
        ['a replacement scan outside the lake', `SELECT * FROM ${lit(secret)}`],
        ['glob of the export directory', `SELECT * FROM glob(${lit(exportDir + '/*')})`],
        ['glob of the lake', `SELECT * FROM glob(${lit(root + '/**')})`],
        ['query() of a COPY', `SELECT * FROM query(${lit(`COPY (SELECT 1) TO '${escaped}' (FORMAT csv)`)})`],
        ['SET', `SET enable_external_access = true`],
        ['ATTACH', `ATTACH ${lit(path.join(outside, 'x.db'))} AS x`],
      ];
      const succeeded: string[] = [];
      for (const [label, q] of attempts) {
        try {
          await svc.exportToFile(T, q, target, 'parquet');
          succeeded.push(label);
        } catch (e) {
          assert.ok(isDwError(e), `${label}: a DwError, got ${String(e)}`);
          assert.equal(e.code, 'DW_QUERY_FAILED', `${label}: ${e.message}`);
        }
      }
      assert.deepEqual(succeeded, [], 'attempts that went through');
      assert.deepEqual(readdirSync(outside), ['secret.csv'], 'nothing written outside');
      assert.deepEqual(readdirSync(exportDir), [], 'no export, no temporary file');
      const r = await svc.exportToFile(T, 'SELECT count(*) AS n FROM reports', target, 'parquet');
      assert.equal(r.rows, 1, 'a legitimate export still works');
      assert.deepEqual(readdirSync(exportDir), ['result.parquet'], 'the target directory holds the export only');
      assert.deepEqual((await readParquet(target)).rows.map(fromParquet), [{ n: reports.length }], 'its content');
    });
  });
});

describe('AnalysisService snapshot refresh (issue 3)', () => {
  const tmp = tempDir('dw-analysis-refresh-');
  const root = path.join(tmp.dir, 'lake');
  const fleet = new SampleFleet({ drones: 5, seed: 9, citizens: 100, start: Date.UTC(2025, 0, 15, 10, 0) });
  const first = fleet.reports(300);
  const second = fleet.reports(200);
  let fresh: AnalysisService;
  let stale: AnalysisService;

  before(async () => {
    await archiveReports(root, first);
    fresh = new AnalysisService({ source: localLakeFiles(root), config: analysisConfig({ refreshSeconds: 0 }) });
    stale = new AnalysisService({ source: localLakeFiles(root), config: analysisConfig({ refreshSeconds: 3600 }) });
  });
  after(async () => {
    await fresh?.close();
    await stale?.close();
    tmp.cleanup();
  });

  const count = async (s: AnalysisService): Promise<unknown> => (await drain(s.query(T, 'SELECT count(*) FROM reports'))).rows[0]![0];

  it('a file archived after the snapshot shows up once the snapshot is older than refreshSeconds', async () => {
    assert.equal(await count(fresh), first.length, 'fresh: first batch');
    assert.equal(await count(stale), first.length, 'stale: first batch');
    // A cursor open on the old snapshot keeps reading it while the service moves on.
    const open = await fresh.query(T, 'SELECT report_id FROM reports');
    await archiveReports(root, second, first.length);
    assert.equal(await count(fresh), first.length + second.length, 'refreshSeconds 0: the new file is read');
    assert.equal(await count(stale), first.length, 'refreshSeconds 3600: still the snapshot');
    const old = await drain(open);
    assert.equal(old.rows.length, first.length, 'the cursor opened before kept its snapshot');
    assert.equal(fresh.running, 0, 'the retired snapshot released its connection');
  });

  it('validates and queries concurrently while snapshots are rebuilt', async () => {
    const work: Promise<unknown>[] = [];
    for (let i = 0; i < 12; i++) {
      work.push(fresh.validate(T, 'SELECT count(*) FROM reports'));
      work.push(count(fresh));
    }
    const results = await Promise.allSettled(work);
    const failed = results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason));
    assert.deepEqual(failed, [], 'no call failed');
    assert.equal(fresh.running, 0, 'everything released');
  });
});
