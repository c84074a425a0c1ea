/**
 * Acceptance test of the archive's exactly-once guarantee: a real SQLite stream, the archiver in a child process
 * killed with SIGKILL again and again (at each step of the commit protocol, and at random moments), restarted each
 * time, until it has caught up. Then DuckDB must see every published report and alert event exactly once.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { openStream } from '../../src/stream/index.ts';
import { tempDir } from '../../src/testkit/index.ts';
import { SampleFleet, sampleAlertEvents, mulberry32 } from '../lake/fixtures/sample.ts';
import { lakeRows } from '../lake/helpers.ts';
import { kill, spawnFixture, type Child } from './child.ts';
import { publishAll, totalLag, waitFor } from './helpers.ts';

type Run = { selfCrash: [step: string, atBatch: number] } | { parentKill: 'random' | 'after-marker' };

describe('archive: kill -9 at any moment', () => {
  const tmp = tempDir('dw-archive-crash-');
  const children: Child[] = [];
  after(async () => {
    for (const c of children) await kill(c);
    tmp.cleanup();
  });

  it('stores every report and alert event exactly once', { timeout: 120_000 }, async (t) => {
    const dataDir = tmp.dir;
    const lake = path.join(tmp.dir, 'lake');
    const stream = await openStream('sqlite', { dataDir });
    const reports = new SampleFleet({ drones: 500, seed: 77 }).reports(20_000);
    const events = sampleAlertEvents(reports, 8);
    await publishAll(stream, reports, events, 8);

    const rand = mulberry32(Date.now() & 0xffff);
    const runs: Run[] = [
      { selfCrash: ['staged', 2] },
      { parentKill: 'random' },
      { selfCrash: ['marker-written', 3] },
      { parentKill: 'after-marker' },
      { selfCrash: ['checkpointed', 2] },
      { parentKill: 'random' },
      { selfCrash: ['stream-committed', 2] },
    ];
    const killed: string[] = [];
    for (const run of runs) {
      const args = 'selfCrash' in run ? [dataDir, lake, run.selfCrash[0], String(run.selfCrash[1])] : [dataDir, lake];
      const child = spawnFixture('archiver-process.ts', args);
      children.push(child);
      if ('parentKill' in run) {
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
      assert.equal(signal, 'SIGKILL');
      killed.push(`${'selfCrash' in run ? run.selfCrash.join('@') : run.parentKill}:${child.lines.filter((l) => l.startsWith('step cleaned')).length}`);
    }
    t.diagnostic(`runs (kind:batches completed): ${killed.join(' ')}`);
    assert.ok(await totalLag(stream) > 0, 'the crashes left work for the last run');

    // The last run is left alone until it has caught up, then stopped cleanly.
    const last = spawnFixture('archiver-process.ts', [dataDir, lake]);
    children.push(last);
    await waitFor('the archiver to catch up', async () => (await totalLag(stream)) === 0, 60_000);
    last.proc.kill('SIGTERM');
    assert.deepEqual(await last.exited, { code: 0, signal: null });

    const [r] = await lakeRows(lake, 'SELECT count(*) AS n, count(DISTINCT report_id) AS d FROM reports');
    assert.deepEqual(r, { n: reports.length, d: reports.length }, `runs: ${killed.join(' ')}`);
    const [e] = await lakeRows(lake, 'SELECT count(*) AS n, count(DISTINCT event_id) AS d FROM alert_events');
    assert.deepEqual(e, { n: events.length, d: events.length });
    const ids = await lakeRows(lake, 'SELECT report_id FROM reports');
    assert.deepEqual(new Set(ids.map((x) => x.report_id)), new Set(reports.map((x) => x.reportId)));
    for (const t of ['reports', 'alerts']) assert.deepEqual(readdirSync(path.join(lake, '_staging', t)), [], `no staging left for ${t}`);
    await stream.close();
  });
});
