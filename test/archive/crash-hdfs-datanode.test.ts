/**
 * A DataNode killed with SIGKILL while the archive writes its lake on HDFS (a NameNode and three DataNodes,
 * replication 3): the archiver (its own process) carries on through the two others, as WebHDFS uploads and reads that
 * hit the dead node are started again on a live one, and every report and alert event is in the lake exactly once.
 * Skipped with an install hint when the Hadoop jars or Java are missing, failing under CI=true.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openStream } from '../../src/backend/index.ts';
import { lakeFilesFor } from '../../src/lake/index.ts';
import { listAll, openObjectStore } from '../../src/objectstore/index.ts';
import { hdfsOrSkip, startHdfs, tempDir, type HdfsTestCluster } from '../../src/testkit/index.ts';
import { SampleFleet, sampleAlertEvents } from '../lake/fixtures/sample.ts';
import { lakeRows } from '../lake/helpers.ts';
import { kill, spawnFixture, type Child } from './child.ts';
import { publishAll, totalLag, waitFor } from './helpers.ts';

describe('archive: a DataNode killed -9 while the archive writes (lake on HDFS)', { skip: hdfsOrSkip() }, () => {
  const tmp = tempDir('dw-archive-hdfs-datanode-');
  const children: Child[] = [];
  let hdfs: HdfsTestCluster;
  let base: string;
  const saved: Record<string, string | undefined> = {};

  before(async () => {
    hdfs = await startHdfs();
    base = await hdfs.lake('datanode-kill');
    for (const [k, v] of Object.entries(hdfs.env)) {
      saved[k] = process.env[k];
      process.env[k] = v;
    }
  }, { timeout: 150_000 });

  after(async () => {
    for (const c of children) await kill(c);
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
    await hdfs?.stop();
    tmp.cleanup();
  }, { timeout: 60_000 });

  it('keeps archiving on the two others, every record exactly once', { timeout: 150_000 }, async (t) => {
    const lake = `${base}/lake`;
    const stream = await openStream('sqlite', { dataDir: tmp.dir });
    const reports = new SampleFleet({ drones: 500, seed: 78 }).reports(8000);
    const events = sampleAlertEvents(reports, 8);
    await publishAll(stream, reports, events, 8);

    const archiver = spawnFixture('archiver-process.ts', [tmp.dir, lake]);
    children.push(archiver);
    const batches = (): number => archiver.lines.filter((l) => l.startsWith('step cleaned')).length;
    await waitFor('the archiver to complete a batch', () => batches() > 0 || archiver.proc.exitCode !== null, 60_000);
    assert.equal(archiver.proc.exitCode, null, 'the archiver runs');
    const atKill = batches();
    await hdfs.killDataNode(1);
    t.diagnostic(`DataNode 2 killed after ${atKill} batches; lag ${await totalLag(stream)}`);
    assert.ok(await totalLag(stream) > 0, 'the DataNode died while there was work left');

    await waitFor('the archiver to catch up', async () => (await totalLag(stream)) === 0 || archiver.proc.exitCode !== null, 100_000);
    assert.equal(archiver.proc.exitCode, null, 'the archiver survived the DataNode');
    t.diagnostic(`batches: ${atKill} before the kill, ${batches() - atKill} after; live DataNodes as the NameNode sees them: ${await hdfs.liveDataNodes()}`);
    assert.ok(batches() > atKill, 'batches were written with the DataNode dead');
    archiver.proc.kill('SIGTERM');
    assert.deepEqual(await archiver.exited, { code: 0, signal: null }, 'a clean stop');

    const files = lakeFilesFor(lake, { cacheDir: path.join(tmp.dir, 'cache') });
    try {
      const [r] = await lakeRows(files, 'SELECT count(*) AS n, count(DISTINCT report_id) AS d FROM reports');
      assert.deepEqual(r, { n: reports.length, d: reports.length });
      const [e] = await lakeRows(files, 'SELECT count(*) AS n, count(DISTINCT event_id) AS d FROM alert_events');
      assert.deepEqual(e, { n: events.length, d: events.length }, 'alert events');
      const ids = await lakeRows(files, 'SELECT report_id FROM reports');
      assert.deepEqual(new Set(ids.map((x) => x.report_id)), new Set(reports.map((x) => x.reportId)), 'the same reports');
    } finally {
      await files.close();
    }
    const store = openObjectStore(lake);
    try {
      assert.deepEqual((await listAll(store, '_commits/')).objects.map((x) => x.key), [], 'no decided batch left incomplete or unpruned');
    } finally {
      await store.close();
    }
    await stream.close();
  });
});
