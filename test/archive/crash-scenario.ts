/**
 * The archive's exactly-once acceptance scenario, for any lake location (crash.test.ts: a local directory;
 * crash-ceph.test.ts: Ceph RGW): a real SQLite stream, the archiver in a child process killed with SIGKILL again and
 * again (right after each step of the commit protocol, mid-upload right after a decision, at random moments),
 * restarted each time, until it has caught up. Then DuckDB must see every published report and alert event exactly
 * once, with no decided batch left behind.
 */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { LakeFileSource } from '../../src/lake/index.ts';
import { listAll, openObjectStore } from '../../src/objectstore/index.ts';
import { SampleFleet, sampleAlertEvents, mulberry32 } from '../lake/fixtures/sample.ts';
import { lakeRows } from '../lake/helpers.ts';
import { spawnFixture, kill, type Child } from './child.ts';
import { publishAll, totalLag, waitFor } from './helpers.ts';
import { openStream } from '../../src/backend/index.ts';

type Run = { selfCrash: [step: string, atBatch: number] } | { parentKill: 'random' | 'after-marker' };

export interface CrashScenario {
  dataDir: string;
  /** Lake location given to the archiver processes (they inherit this process's environment). */
  lake: string;
  /** How the test reads the lake at the end. */
  files: LakeFileSource;
  reports: number;
  /**
   * `all`: a kill after each protocol step, mid-upload and at random moments (7 runs); `upload`: mid-upload, right
   * after a decision, after a checkpoint and at a random moment (4 runs: each start of an archiver process costs
   * seconds on a loaded 2-core machine).
   */
  runs: 'all' | 'upload';
  /** Children started, for the caller's cleanup. */
  children: Child[];
}

export async function crashScenario(t: TestContext, o: CrashScenario): Promise<void> {
  const stream = await openStream('sqlite', { dataDir: o.dataDir });
  const reports = new SampleFleet({ drones: 500, seed: 77 }).reports(o.reports);
  const events = sampleAlertEvents(reports, 8);
  await publishAll(stream, reports, events, 8);

  const rand = mulberry32(Date.now() & 0xffff);
  const runs: Run[] = o.runs === 'all'
    ? [
        { selfCrash: ['staged', 2] },
        { parentKill: 'random' },
        { selfCrash: ['marker-written', 3] },
        { parentKill: 'after-marker' },
        { selfCrash: ['checkpointed', 2] },
        { parentKill: 'random' },
        { selfCrash: ['stream-committed', 2] },
      ]
    : [
        { parentKill: 'after-marker' },
        { selfCrash: ['marker-written', 2] },
        { selfCrash: ['checkpointed', 2] },
        { parentKill: 'random' },
      ];
  const killed: string[] = [];
  for (const run of runs) {
    const args = 'selfCrash' in run ? [o.dataDir, o.lake, run.selfCrash[0], String(run.selfCrash[1])] : [o.dataDir, o.lake];
    const child = spawnFixture('archiver-process.ts', args);
    o.children.push(child);
    if ('parentKill' in run) {
      // after-marker: the decision is written, the files are being uploaded: a kill mid-upload.
      const seen = (): number => child.lines.filter((l) => l.startsWith(run.parentKill === 'random' ? 'step cleaned' : 'step marker-written')).length;
      await waitFor('the archiver to write a batch', async () => seen() > 0 || child.proc.exitCode !== null || (await totalLag(stream)) === 0, 30_000);
      if (run.parentKill === 'random') await sleep(Math.floor(rand() * 200));
      await kill(child);
    } else {
      // It kills itself at that step; if it catches up before its n-th batch, it is killed anyway.
      await Promise.race([child.exited, waitFor('catch-up', async () => (await totalLag(stream)) === 0, 30_000)]);
      await kill(child);
    }
    const { signal } = await child.exited;
    assert.equal(signal, 'SIGKILL', 'killed');
    killed.push(`${'selfCrash' in run ? run.selfCrash.join('@') : run.parentKill}:${child.lines.filter((l) => l.startsWith('step cleaned')).length}`);
  }
  t.diagnostic(`runs (kind:batches completed): ${killed.join(' ')}`);
  assert.ok(await totalLag(stream) > 0, 'the crashes left work for the last run');

  // The last run is left alone until it has caught up, then stopped cleanly.
  const last = spawnFixture('archiver-process.ts', [o.dataDir, o.lake]);
  o.children.push(last);
  await waitFor('the archiver to catch up', async () => (await totalLag(stream)) === 0, 60_000);
  last.proc.kill('SIGTERM');
  assert.deepEqual(await last.exited, { code: 0, signal: null }, 'a clean stop');

  const [r] = await lakeRows(o.files, 'SELECT count(*) AS n, count(DISTINCT report_id) AS d FROM reports');
  assert.deepEqual(r, { n: reports.length, d: reports.length }, `runs: ${killed.join(' ')}`);
  const [e] = await lakeRows(o.files, 'SELECT count(*) AS n, count(DISTINCT event_id) AS d FROM alert_events');
  assert.deepEqual(e, { n: events.length, d: events.length }, 'alert events');
  const ids = await lakeRows(o.files, 'SELECT report_id FROM reports');
  assert.deepEqual(new Set(ids.map((x) => x.report_id)), new Set(reports.map((x) => x.reportId)), 'the same reports');
  const store = openObjectStore(o.lake);
  try {
    assert.deepEqual((await listAll(store, '_commits/')).objects.map((x) => x.key), [], 'no decided batch left incomplete or unpruned');
  } finally {
    await store.close();
  }
  await stream.close();
}
