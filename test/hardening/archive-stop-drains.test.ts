/**
 * Issue 15, item 8: ArchiveWorker.stop() did not drain what it had not read yet (test/cli/up.test.ts on a loaded
 * machine: 32,515 of 47,725 reports in the lake after stop), and each of its sleeps left an abort listener on the
 * worker's signal (`MaxListenersExceededWarning: 11 abort listeners added to [AbortSignal]` after minutes of `up`).
 */
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { ArchiveWorker } from '../../src/archive/index.ts';
import { sleep } from '../../src/archive/worker.ts';
import { SqliteStream } from '../../src/backend/index.ts';
import { tempDir } from '../../src/testkit/index.ts';
import { publishAll, totalLag } from '../archive/helpers.ts';
import { SampleFleet } from '../lake/fixtures/sample.ts';
import { countRows } from '../lake/helpers.ts';

describe('archive worker stop and sleeps (issue 15, item 8)', () => {
  const tmp = tempDir('dw-archive-drain-');
  after(() => tmp.cleanup());

  it('stop() called right after start archives every record published before it', async () => {
    const dir = path.join(tmp.dir, 'drain');
    const stream = await SqliteStream.open(path.join(dir, 'stream.db'));
    const reports = new SampleFleet({ drones: 50, seed: 15 }).reports(40_000);
    await publishAll(stream, reports);
    // Small polls and a far age limit: before the fix, stop() wrote only what the first polls had buffered.
    const worker = new ArchiveWorker({ stream, lakeRoot: path.join(dir, 'lake'), maxBatchRecords: 2000, maxBatchAgeMs: 600_000, compactMinFiles: 0, topics: ['reports'] });
    await worker.start();
    await worker.stop();
    assert.equal(await countRows(path.join(dir, 'lake'), 'reports'), reports.length, 'every published report is in the lake');
    assert.equal(await totalLag(stream), 0);
    await stream.close();
  });

  it('a worker compacting often for a while raises no MaxListenersExceededWarning', async () => {
    const dir = path.join(tmp.dir, 'listeners');
    const stream = await SqliteStream.open(path.join(dir, 'stream.db'));
    await publishAll(stream, new SampleFleet({ drones: 5, seed: 16 }).reports(100));
    const warnings: string[] = [];
    const onWarning = (w: Error): void => { warnings.push(`${w.name}: ${w.message}`); };
    process.on('warning', onWarning);
    // A compaction sleep every 10 ms: before the fix, each left a listener on the worker's signal (11 -> the warning).
    const worker = new ArchiveWorker({ stream, lakeRoot: path.join(dir, 'lake'), compactIntervalMs: 10, compactMinFiles: 100, topics: ['reports'] });
    await worker.start();
    await new Promise((r) => setTimeout(r, 1500));
    await worker.stop();
    await new Promise((r) => setImmediate(r));
    process.off('warning', onWarning);
    assert.deepEqual(warnings.filter((w) => w.includes('MaxListenersExceeded')), []);
    await stream.close();
  });

  it('a sleep that ends by its timer leaves no abort listener behind', async () => {
    const abort = new AbortController();
    for (let i = 0; i < 20; i++) await sleep(1, abort.signal);
    assert.equal(getEventListeners(abort.signal, 'abort').length, 0);
    const pending = sleep(60_000, abort.signal);
    assert.equal(getEventListeners(abort.signal, 'abort').length, 1);
    abort.abort();
    await pending; // an abort ends it at once
    assert.equal(getEventListeners(abort.signal, 'abort').length, 0);
  });
});
