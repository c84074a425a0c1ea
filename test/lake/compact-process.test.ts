import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { ArchiveWorker } from '../../src/archive/index.ts';
import { SqliteStream } from '../../src/backend/index.ts';
import { LakeWriter, listLiveFiles } from '../../src/lake/index.ts';
import { compactLakeInChild } from '../../src/lake/compact-process.ts';
import { planCompaction } from '../../src/lake/compact-plan.ts';
import { LocalObjectStore } from '../../src/objectstore/index.ts';
import { tempDir, waitUntil } from '../../src/testkit/index.ts';
import { parquetOnDisk, twoRecentHoursLake } from './fixtures/crossing.ts';
import { SampleFleet } from './fixtures/sample.ts';
import { byId, recordsOf, reportsInLake } from './helpers.ts';

/**
 * Compaction in a child process (src/lake/compact-process.ts; the archive worker's default since issue 14's soak: a
 * closed hour's merge left its DuckDB and allocator memory in the platform's RSS). The same merges as in-process,
 * every report once; a stop kills the child in the middle of a merge and nothing of it is switched.
 */

/** A logger whose JSON lines are kept. */
function capture(): { logger: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString('utf8').split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, sink), lines };
}

/** An archive worker compacting `root` every 50 ms, files of 2 or more, at any age (its scratch in `dir`). */
function compactingWorker(stream: SqliteStream, dir: string, root: string, logger: pino.Logger): ArchiveWorker {
  return new ArchiveWorker({ stream, lakeRoot: root, scratchDir: path.join(dir, 'scratch'), topics: ['reports'], compactMinFiles: 2, compactIntervalMs: 50, compactOlderThanMs: 0, logger });
}

describe('compaction in a child process', { timeout: 120_000 }, () => {
  const tmp = tempDir('dw-lake-compact-process-');
  after(() => tmp.cleanup());

  it('merges each closed hour in another process, its log lines relayed: one file per hour, every report once', async () => {
    const root = path.join(tmp.dir, 'merge');
    const reports = await twoRecentHoursLake(root);
    const { logger, lines } = capture();
    let childPid: number | undefined;
    const r = await compactLakeInChild(root, { table: 'reports', minFiles: 2, olderThanMs: 0, scratchDir: path.join(tmp.dir, 'scratch') }, {
      logger, onSpawn: (c) => { childPid = c.pid; },
    });
    assert.equal(r.merged, 2, JSON.stringify(r));
    assert.equal(r.hours, 2, JSON.stringify(r));
    assert.equal(r.rows, reports.length);
    assert.ok(childPid && childPid !== process.pid);
    const compacted = lines.filter((l) => l.msg === 'lake: compacted');
    assert.equal(compacted.length, 2, JSON.stringify(lines));
    assert.ok(compacted.every((l) => l.compactorPid === childPid), JSON.stringify(compacted));
    const live = await listLiveFiles(root, 'reports', { tenant: 'default' });
    assert.equal(live.length, 2, live.join(' '));
    assert.ok(live.every((f) => path.basename(f).startsWith('m-')), live.join(' '));
    assert.equal(parquetOnDisk(root).length, 2, parquetOnDisk(root).join(' '));
    assert.deepStrictEqual(byId(await reportsInLake(root), (x) => x.reportId), byId(reports, (x) => x.reportId));
  });

  it('merges the plan it is given, without planning again', async () => {
    const root = path.join(tmp.dir, 'given-plan');
    const reports = await twoRecentHoursLake(root);
    const opts = { table: 'reports' as const, minFiles: 2, olderThanMs: 0, scratchDir: path.join(tmp.dir, 'scratch-plan') };
    const plan = await planCompaction(new LocalObjectStore(root), opts);
    assert.equal(plan.groups.length, 2, 'two closed hours to merge');
    // Only the first hour's merge is given: a child that planned again would merge both.
    const r = await compactLakeInChild(root, { ...opts, plan: { ...plan, groups: plan.groups.slice(0, 1) } });
    assert.equal(r.merged, 1, JSON.stringify(r));
    const live = await listLiveFiles(root, 'reports', { tenant: 'default' });
    const merged = live.filter((f) => path.basename(f).startsWith('m-'));
    assert.ok(merged.length === 1 && merged[0]!.includes(plan.groups[0]!.dir), `one merged file, in the given hour: ${live.join(' ')}`);
    assert.deepStrictEqual(byId(await reportsInLake(root), (x) => x.reportId), byId(reports, (x) => x.reportId));
  });

  it('a failure in the child rejects with its message', async () => {
    await assert.rejects(
      compactLakeInChild(path.join(tmp.dir, 'bad'), { table: 'reports', minFiles: 2, olderThanMs: 0, closedAfterMs: -1 }),
      /closedAfterMs must be a positive number/,
    );
  });

  it('a stop kills the child in the middle of a merge: nothing switched, its scratch removed, the next pass merges', async () => {
    const root = path.join(tmp.dir, 'stopped');
    const scratch = path.join(tmp.dir, 'scratch-stopped');
    const reports = await twoRecentHoursLake(root);
    const before = parquetOnDisk(root).sort();
    const abort = new AbortController();
    let child: import('node:child_process').ChildProcess | undefined;
    const steps: string[] = [];
    const t0 = Date.now();
    const r = await compactLakeInChild(root, { table: 'reports', minFiles: 2, olderThanMs: 0, scratchDir: scratch }, {
      signal: abort.signal,
      // The child holds itself right after building its first merge (before the switch) for up to 2 minutes.
      env: { ...process.env, DW_TEST_COMPACT_CHILD_PAUSE_AFTER: 'staged' },
      onSpawn: (c) => { child = c; },
      onStep: (step) => {
        steps.push(step);
        if (step === 'staged') abort.abort();
      },
    });
    assert.equal(r.stopped, true, JSON.stringify(r));
    assert.equal(r.merged, 0);
    assert.ok(Date.now() - t0 < 60_000, 'the stop did not wait for the paused child');
    assert.deepEqual(steps, ['staged']);
    assert.equal(child!.signalCode, 'SIGKILL');
    assert.deepEqual(parquetOnDisk(root).sort(), before, 'nothing switched');
    assert.deepEqual(existsSync(scratch) ? readdirSync(scratch) : [], [], 'the killed child\'s scratch directory is removed');
    assert.deepStrictEqual(byId(await reportsInLake(root), (x) => x.reportId), byId(reports, (x) => x.reportId));
    const next = await compactLakeInChild(root, { table: 'reports', minFiles: 2, olderThanMs: 0, scratchDir: scratch });
    assert.equal(next.hours, 2, JSON.stringify(next));
    assert.deepStrictEqual(byId(await reportsInLake(root), (x) => x.reportId), byId(reports, (x) => x.reportId));
  });

  it('the archive worker compacts in a child by default, and its stop() kills a merge in progress', async () => {
    const dir = path.join(tmp.dir, 'worker');
    const root = path.join(dir, 'lake');
    const reports = await twoRecentHoursLake(root);
    const stream = await SqliteStream.open(path.join(dir, 'stream.db'));
    const { logger, lines } = capture();
    const previous = process.env.DW_TEST_COMPACT_CHILD_PAUSE_AFTER;
    // The worker's children inherit this process's environment: its first merge holds after being built.
    process.env.DW_TEST_COMPACT_CHILD_PAUSE_AFTER = 'staged';
    try {
      const worker = compactingWorker(stream, dir, root, logger);
      await worker.start();
      let t0: number;
      try {
        // The merge is built (the child logs nothing until the switch): wait for its scratch output, then stop.
        await waitUntil('a merge built in a child', () => existsSync(path.join(dir, 'scratch')) && readdirSync(path.join(dir, 'scratch'), { recursive: true }).map(String).some((f) => f.endsWith('merged.parquet')), 60_000);
      } finally {
        t0 = Date.now();
        await worker.stop();
      }
      assert.ok(Date.now() - t0 < 30_000, `stop() took ${Date.now() - t0} ms: it waited for the paused merge`);
      assert.equal(worker.stats().compactions, 0);
      assert.deepEqual(lines.filter((l) => l.msg === 'lake: compacted'), []);
      assert.deepEqual(readdirSync(path.join(dir, 'scratch')).filter((n) => n.startsWith('dw-lake-') && !n.startsWith(`dw-lake-${process.pid}-`)), [], 'the child\'s scratch is gone');
      assert.deepStrictEqual(byId(await reportsInLake(root), (x) => x.reportId), byId(reports, (x) => x.reportId));
    } finally {
      if (previous === undefined) delete process.env.DW_TEST_COMPACT_CHILD_PAUSE_AFTER;
      else process.env.DW_TEST_COMPACT_CHILD_PAUSE_AFTER = previous;
    }
    // Without the pause: the worker's merges run in another process.
    const worker = compactingWorker(stream, dir, root, logger);
    await worker.start();
    try {
      await waitUntil('two merges', () => worker.stats().compactions >= 2, 60_000);
    } finally {
      await worker.stop();
      await stream.close();
    }
    const compacted = lines.filter((l) => l.msg === 'lake: compacted');
    assert.equal(compacted.length, 2, JSON.stringify(compacted));
    assert.ok(compacted.every((l) => typeof l.compactorPid === 'number' && l.compactorPid !== process.pid), JSON.stringify(compacted));
    assert.deepStrictEqual(byId(await reportsInLake(root), (x) => x.reportId), byId(reports, (x) => x.reportId));
  });

  it('the archive worker merges an open hour\'s files of a partition in a child too', async () => {
    const dir = path.join(tmp.dir, 'open-hour');
    const root = path.join(dir, 'lake');
    // Three files on partition 0 of reports made in the last minute: an open hour (it closes 10 minutes after its end).
    const reports = new SampleFleet({ drones: 20, seed: 23, start: Date.now() - 60_000, intervalMs: 1_000 }).reports(60);
    const w = await LakeWriter.open(root);
    for (let b = 0; b < 3; b++) await w.write('reports', 0, recordsOf(reports.slice(b * 20, (b + 1) * 20), b * 20));
    await w.close();
    const stream = await SqliteStream.open(path.join(dir, 'stream.db'));
    const { logger, lines } = capture();
    const worker = compactingWorker(stream, dir, root, logger);
    await worker.start();
    try {
      await waitUntil('a merge', () => worker.stats().compactions >= 1, 60_000);
    } finally {
      await worker.stop();
      await stream.close();
    }
    const compacted = lines.filter((l) => l.msg === 'lake: compacted');
    assert.ok(compacted.length >= 1 && compacted.every((l) => l.kind === 'partition'), JSON.stringify(compacted));
    assert.ok(compacted.every((l) => typeof l.compactorPid === 'number' && l.compactorPid !== process.pid), JSON.stringify(compacted));
    assert.deepStrictEqual(byId(await reportsInLake(root), (x) => x.reportId), byId(reports, (x) => x.reportId));
  });
});
