import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { ArchiveWorker } from '../../src/archive/index.ts';
import { LakeWriter, listLiveFiles } from '../../src/lake/index.ts';
import { TOPICS } from '../../src/stream/index.ts';
import { tempDir } from '../../src/testkit/index.ts';
import { SampleFleet, sampleAlertEvents } from '../lake/fixtures/sample.ts';
import { alertEventsInLake, byId, countRows, lakeRows, reportsInLake } from '../lake/helpers.ts';
import { publishAll, totalLag, waitFor } from './helpers.ts';
import { SqliteStream } from '../../src/backend/index.ts';

describe('archive worker (real SQLite stream, real lake)', () => {
  const tmp = tempDir('dw-archive-');
  after(() => tmp.cleanup());
  let n = 0;
  const fresh = async (): Promise<{ stream: SqliteStream; lake: string }> => {
    const dir = path.join(tmp.dir, `case-${++n}`);
    return { stream: await SqliteStream.open(path.join(dir, 'stream.db')), lake: path.join(dir, 'lake') };
  };

  it('archives reports and alert events exactly, in batches, and commits the group', async () => {
    const { stream, lake } = await fresh();
    const reports = new SampleFleet({ drones: 40, seed: 1 }).reports(3000);
    const events = sampleAlertEvents(reports, 20);
    await publishAll(stream, reports, events);
    const worker = new ArchiveWorker({ stream, lakeRoot: lake, maxBatchRecords: 400, maxBatchAgeMs: 60_000, compactMinFiles: 0 });
    await worker.start();
    // Size-triggered batches only (the age limit is far away): 4 partitions x ~750 reports = one batch of 400 each.
    await waitFor('size-triggered batches', () => worker.stats().rowsWritten >= 1600, 15_000);
    assert.ok(worker.stats().buffered > 0, 'the rest waits for a full batch');
    await worker.stop();
    const s = worker.stats();
    assert.equal(s.rowsWritten, reports.length + events.length);
    assert.equal(s.buffered, 0);
    assert.equal(await totalLag(stream), 0);
    assert.deepStrictEqual(byId(await reportsInLake(lake), (r) => r.reportId), byId(reports, (r) => r.reportId));
    assert.deepStrictEqual(await alertEventsInLake(lake), byId(events, (e) => e.eventId));
    // Batch files hold at most maxBatchRecords rows, and each is named by the offsets it holds.
    const files = await listLiveFiles(lake, 'reports', { tenant: 'default' });
    const db = await DuckDBInstance.create(':memory:');
    const conn = await db.connect();
    const perFile = (await conn.runAndReadAll(`SELECT filename, count(*) AS n FROM read_parquet(['${files.join("','")}']) GROUP BY filename`)).getRowObjectsJS();
    conn.closeSync();
    db.closeSync();
    assert.equal(perFile.length, files.length);
    for (const f of perFile) {
      const m = /-(\d+)-(\d+)\.parquet$/.exec(String(f.filename))!;
      assert.ok(Number(f.n) <= 400 && Number(f.n) <= Number(m[2]) - Number(m[1]) + 1, `${f.filename}: ${f.n} rows`);
    }
    await stream.close();
  });

  it('writes a partition when its oldest record reaches maxBatchAgeMs', async () => {
    const { stream, lake } = await fresh();
    const reports = new SampleFleet({ drones: 10, seed: 2 }).reports(50);
    await publishAll(stream, reports);
    const worker = new ArchiveWorker({ stream, lakeRoot: lake, maxBatchRecords: 100_000, maxBatchAgeMs: 300, compactMinFiles: 0, topics: ['reports'] });
    await worker.start();
    await waitFor('an age-triggered batch', async () => (await listLiveFiles(lake, 'reports', { tenant: 'default' })).length > 0 && (await totalLagOf(stream, TOPICS.reports)) === 0, 10_000);
    assert.equal(await countRows(lake, 'reports'), 50);
    await worker.stop();
    await stream.close();
  });

  it('writes the event topics on their own, longer batch age (maxEventBatchAgeMs)', async () => {
    const { stream, lake } = await fresh();
    const reports = new SampleFleet({ drones: 10, seed: 5 }).reports(200);
    const events = sampleAlertEvents(reports, 10);
    await publishAll(stream, reports, events);
    const worker = new ArchiveWorker({ stream, lakeRoot: lake, maxBatchRecords: 100_000, maxBatchAgeMs: 200, maxEventBatchAgeMs: 6_000, compactMinFiles: 0, topics: ['reports', 'alerts'] });
    const t0 = Date.now();
    await worker.start();
    await waitFor('the reports archived', async () => (await totalLagOf(stream, TOPICS.reports)) === 0, 10_000);
    const alertsThen = worker.stats().perTopic.alerts?.rowsWritten ?? -1;
    // Inconclusive only if the machine took longer than the event age to archive the reports.
    if (Date.now() - t0 < 5_000) assert.equal(alertsThen, 0, 'the alert events wait for their own batch age');
    await waitFor('the alert events archived by age', async () => (await totalLagOf(stream, TOPICS.alerts)) === 0, 15_000);
    assert.ok(Date.now() - t0 >= 5_500, `alert events flushed after ${Date.now() - t0} ms`);
    assert.deepStrictEqual(await alertEventsInLake(lake), byId(events, (e) => e.eventId));
    await worker.stop();
    await stream.close();
  });

  it('refuses a batch age that is not a positive integer', () => {
    assert.throws(() => new ArchiveWorker({ stream: undefined as unknown as SqliteStream, lakeRoot: '/nonexistent', maxEventBatchAgeMs: 0 }), /maxEventBatchAgeMs must be a positive integer/);
  });

  it('stop() flushes what is buffered and commits before resolving', async () => {
    const { stream, lake } = await fresh();
    const reports = new SampleFleet({ drones: 10, seed: 3 }).reports(500);
    await publishAll(stream, reports);
    const worker = new ArchiveWorker({ stream, lakeRoot: lake, maxBatchRecords: 100_000, maxBatchAgeMs: 600_000, compactMinFiles: 0 });
    await worker.start();
    await waitFor('records buffered', () => worker.stats().buffered === 500, 10_000);
    assert.deepEqual(await listLiveFiles(lake, 'reports', { tenant: 'default' }), []);
    await worker.stop();
    assert.equal(await countRows(lake, 'reports'), 500);
    assert.equal(await totalLag(stream), 0);
    await stream.close();
  });

  it('resumes after the lake checkpoint when the lake is ahead of the group (crash between steps 4 and 5)', async () => {
    const { stream, lake } = await fresh();
    const reports = new SampleFleet({ drones: 16, seed: 4 }).reports(800);
    await publishAll(stream, reports, [], 2);
    // What a crashed archiver left: partition 0's first records are in the lake, the group committed nothing.
    const head = await stream.read(TOPICS.reports, { partition: 0, from: 'earliest', limit: 150 });
    const w = await LakeWriter.open(lake);
    await w.write('reports', 0, head.map((r) => ({ offset: r.offset, value: r.value })));
    await w.close();
    const worker = new ArchiveWorker({ stream, lakeRoot: lake, maxBatchRecords: 100, maxBatchAgeMs: 200, compactMinFiles: 0, topics: ['reports'] });
    await worker.start();
    await waitFor('catch-up', async () => (await totalLagOf(stream, TOPICS.reports)) === 0, 15_000);
    await worker.stop();
    const [c] = await lakeRows(lake, 'SELECT count(*) AS n, count(DISTINCT report_id) AS d FROM reports');
    assert.deepEqual(c, { n: 800, d: 800 });
    assert.equal(worker.stats().rowsWritten, 650);
    await stream.close();
  });

  it('shares partitions with another member and still stores every record once', async () => {
    const { stream, lake } = await fresh();
    const reports = new SampleFleet({ drones: 60, seed: 5 }).reports(6000);
    await publishAll(stream, reports, [], 6);
    const opts = { stream, lakeRoot: lake, maxBatchRecords: 300, maxBatchAgeMs: 200, compactMinFiles: 0, topics: ['reports'] as const, sessionTimeoutMs: 2000 };
    const a = new ArchiveWorker({ ...opts, memberId: 'a' });
    await a.start();
    await waitFor('a to make progress', () => a.stats().rowsWritten > 0, 10_000);
    const b = new ArchiveWorker({ ...opts, memberId: 'b' });
    await b.start();
    await waitFor('both members to own partitions', () => a.stats().partitions.reports!.length > 0 && b.stats().partitions.reports!.length > 0, 10_000);
    await waitFor('catch-up', async () => (await totalLagOf(stream, TOPICS.reports)) === 0, 20_000);
    await Promise.all([a.stop(), b.stop()]);
    const [c] = await lakeRows(lake, 'SELECT count(*) AS n, count(DISTINCT report_id) AS d FROM reports');
    assert.deepEqual(c, { n: 6000, d: 6000 });
    assert.ok(b.stats().rowsWritten > 0);
    await stream.close();
  });
});

async function totalLagOf(stream: SqliteStream, topic: string): Promise<number> {
  return (await stream.lag(topic, 'archive')).reduce((s, l) => s + l.lag, 0);
}
