import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TOPICS } from '../../src/stream/topics.ts';
import { tempDir } from '../../src/testkit/index.ts';
import { expectedAlerts, generateReports } from './expected.ts';
import { publishReports, readAlertTopic, totalLag, waitFor } from './helpers.ts';
import { openAlertStore, openStream } from '../../src/backend/index.ts';

const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'worker-process.ts');
const WINDOW = 60_000;

function startWorker(dataDir: string, env: Record<string, string>): { child: ChildProcess; ready: Promise<void>; exited: Promise<NodeJS.Signals | number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    env: { ...process.env, DATA_DIR: dataDir, DEDUP_WINDOW_MS: String(WINDOW), DRONEWATCH_LOG_LEVEL: 'silent', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
    child.on('exit', (code, sig) => reject(new Error(`worker exited before ready: ${sig ?? code}`)));
  });
  ready.catch(() => undefined);
  const exited = new Promise<NodeJS.Signals | number | null>((r) => child.on('exit', (code, sig) => r(sig ?? code)));
  return { child, ready, exited };
}

describe('alert worker killed with SIGKILL and restarted', () => {
  const tmp = tempDir();
  const children: ChildProcess[] = [];
  after(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    tmp.cleanup();
  });

  it('ends with every expected alert exactly once and one event per (alert, report)', async () => {
    const stream = await openStream('sqlite', { dataDir: tmp.dir });
    const store = openAlertStore({ dataDir: tmp.dir, dedupWindowMs: WINDOW });
    try {
      const reports = generateReports({ count: 3000, drones: 30, stepMs: 15_000, alertRate: 0.04, seed: 11 });
      const half = 1500;
      await publishReports(stream, reports.slice(0, half));

      // Run 1 dies right after a store commit, before the bus, the topic publish and the offset commit.
      const run1 = startWorker(tmp.dir, { CRASH_AFTER_BATCH: '3', MAX_RECORDS: '100' });
      children.push(run1.child);
      assert.equal(await run1.exited, 'SIGKILL');
      assert.ok(store.list({ limit: 10_000 }).length > 0, 'run 1 stored alerts before dying');
      assert.ok(store.pendingCount() > 0, 'run 1 left unpublished events');

      // Run 2 is killed from outside while reports keep arriving.
      const run2 = startWorker(tmp.dir, { MAX_RECORDS: '20' });
      children.push(run2.child);
      await run2.ready;
      for (let i = half; i < half + 600; i += 50) {
        await publishReports(stream, reports.slice(i, i + 50));
        await new Promise((r) => setTimeout(r, 5));
      }
      // Where exactly it dies is up to timing (the deterministic crash point is run 1's); typically ~800 reports remain.
      run2.child.kill('SIGKILL');
      assert.equal(await run2.exited, 'SIGKILL');
      await publishReports(stream, reports.slice(half + 600));

      // Run 3 finishes the job.
      const run3 = startWorker(tmp.dir, {});
      children.push(run3.child);
      await run3.ready;
      await waitFor('run 3 to consume everything', async () => (await totalLag(stream, TOPICS.reports, 'alerts')) === 0 && store.pendingCount() === 0, 15_000);
      run3.child.kill('SIGTERM');
      assert.equal(await run3.exited, 0);

      const expected = expectedAlerts(reports, 20, WINDOW);
      const stored = store.list({ limit: 10_000 });
      assert.equal(stored.length, expected.size);
      const seen = new Set<string>();
      for (const a of stored) {
        const key = `${a.firstReportId}|${a.citizen}`;
        assert.ok(!seen.has(key), `alert ${key} stored twice`);
        seen.add(key);
        const e = expected.get(key);
        assert.ok(e, `unexpected alert ${key}`);
        assert.equal(a.occurrences, e.occurrences, `occurrences of ${key}`);
        assert.equal(a.score, e.score);
      }

      // Every change of every alert is on the topic once: one `raised`, then one `updated` per later sighting.
      const events = await readAlertTopic(stream);
      const perSighting = new Set<string>();
      for (const ev of events) {
        const k = `${ev.alert.alertId}|${ev.alert.lastReportId}`;
        assert.ok(!perSighting.has(k), `two events for ${k}`);
        perSighting.add(k);
      }
      for (const a of stored) {
        const mine = events.filter((ev) => ev.alert.alertId === a.alertId);
        assert.equal(mine.filter((ev) => ev.type === 'raised').length, 1, `raised events of ${a.alertId}`);
        assert.equal(mine.filter((ev) => ev.type === 'updated').length, a.occurrences - 1, `updated events of ${a.alertId}`);
      }
      assert.equal(events.length, [...expected.values()].reduce((n, e) => n + e.occurrences, 0));
    } finally {
      store.close();
      await stream.close();
    }
  });
});
