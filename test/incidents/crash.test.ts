/**
 * Exactly once through kill -9: an alert worker grouping incidents is killed right after an alerts.db commit (its
 * incidents not yet grouped), then from outside at a moment left to timing while reports arrive, then a third run
 * finishes. Every alert must end up in exactly one incident, as its latest state, and no incident may have counted
 * an alert twice.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openAlertStore, openStream } from '../../src/backend/index.ts';
import { SqliteIncidentStore } from '../../src/backend/incidents.ts';
import { validateConfig } from '../../src/config/index.ts';
import type { AcceptedReport } from '../../src/contract/types.ts';
import { groupingConfig } from '../../src/incidents/config.ts';
import { Fleet } from '../../src/simulator/fleet.ts';
import { TOPICS } from '../../src/stream/topics.ts';
import { tempDir } from '../../src/testkit/index.ts';
import { publishReports, totalLag, waitFor } from '../alerts/helpers.ts';

const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'worker-process.ts');

function startWorker(dataDir: string, env: Record<string, string>): { child: ChildProcess; ready: Promise<void>; exited: Promise<NodeJS.Signals | number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    env: { ...process.env, DATA_DIR: dataDir, DRONEWATCH_LOG_LEVEL: 'silent', ...env },
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

/** 45 minutes of 400 simulated drones over Paris, with the Châtelet gathering of seed 7 (06:07). */
function simulatedReports(): AcceptedReport[] {
  const start = Date.parse('2026-11-02T06:00:00Z');
  const fleet = new Fleet({ drones: 400, seed: 7, start });
  return fleet.take(1_000_000, start + 45 * 60_000).map((r) => {
    const ts = Date.parse(r.timestamp);
    return { ...r, reportId: `${r.droneId}@${ts}`, ts, receivedAt: ts, tenant: 'default' };
  });
}

describe('incidents: alert worker killed with SIGKILL and restarted', () => {
  const tmp = tempDir('dw-incident-crash-');
  const children: ChildProcess[] = [];
  after(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    tmp.cleanup();
  });

  it('ends with every alert in exactly one incident, once, as its latest state', async () => {
    const config = validateConfig({ dataDir: tmp.dir });
    const stream = await openStream('sqlite', { dataDir: tmp.dir });
    const store = openAlertStore({ dataDir: tmp.dir });
    try {
      const reports = simulatedReports();
      const half = Math.floor(reports.length / 2);
      await publishReports(stream, reports.slice(0, half));

      // Run 1 dies right after an alerts.db commit: its events are in the outbox, its incidents not grouped.
      const run1 = startWorker(tmp.dir, { CRASH_AFTER_BATCH: '4', MAX_RECORDS: '500' });
      children.push(run1.child);
      assert.equal(await run1.exited, 'SIGKILL');
      assert.ok(store.pendingCount() > 0, 'run 1 left events of alerts not yet grouped');
      const probe = new SqliteIncidentStore({ dir: tmp.dir, grouping: groupingConfig(config.incidents) });
      const groupedBefore = probe.list({ limit: 1000 }).reduce((n, i) => n + (i.status === 'merged' ? 0 : i.alertCount), 0);
      probe.close();
      assert.ok(groupedBefore < store.list({ limit: 100_000 }).length, 'run 1 died with alerts not in any incident');

      // Run 2 is killed from outside while reports keep arriving.
      const run2 = startWorker(tmp.dir, { MAX_RECORDS: '200' });
      children.push(run2.child);
      await run2.ready;
      const step = 400;
      const upTo = half + Math.floor(reports.length / 4);
      for (let i = half; i < upTo; i += step) {
        await publishReports(stream, reports.slice(i, Math.min(i + step, upTo)));
        await new Promise((r) => setTimeout(r, 5));
      }
      run2.child.kill('SIGKILL');
      assert.equal(await run2.exited, 'SIGKILL');
      await publishReports(stream, reports.slice(upTo));

      // Run 3 finishes the job.
      const run3 = startWorker(tmp.dir, {});
      children.push(run3.child);
      await run3.ready;
      await waitFor('run 3 to consume everything', async () => (await totalLag(stream, TOPICS.reports, 'alerts')) === 0 && store.pendingCount() === 0, 30_000);
      run3.child.kill('SIGTERM');
      assert.equal(await run3.exited, 0);

      const alerts = store.list({ limit: 100_000 });
      assert.ok(alerts.length > 100, `${alerts.length} alerts`);
      const incidents = new SqliteIncidentStore({ dir: tmp.dir, grouping: groupingConfig(config.incidents) });
      try {
        const records = incidents.list({ limit: 1000 }).map((i) => incidents.get(i.incidentId)!);
        assert.ok(records.length < 1000, 'every incident listed');
        const holder = new Map<string, string>();
        let counted = 0;
        for (const r of records) {
          if (r.incident.status === 'merged') continue;
          counted += r.incident.alertCount;
          assert.equal(r.incident.alertCount, r.members.length);
          const joined = r.timeline.filter((t) => t.type === 'alert-joined' || t.type === 'opened').map((t) => t.alertId);
          assert.equal(new Set(joined).size, joined.length, `incident ${r.incident.incidentId}: an alert joined twice`);
          for (const m of r.members) {
            assert.ok(!holder.has(m.alertId), `alert ${m.alertId} in ${holder.get(m.alertId)} and ${r.incident.incidentId}`);
            holder.set(m.alertId, r.incident.incidentId);
          }
        }
        for (const a of alerts) {
          const id = holder.get(a.alertId);
          assert.ok(id, `alert ${a.alertId} (${a.citizen}) is in no incident`);
          const m = incidents.get(id)!.members.find((x) => x.alertId === a.alertId)!;
          assert.equal(m.lastSeenTs, a.lastSeenTs, `incident ${id} holds alert ${a.alertId} as of its latest sighting`);
          assert.equal(m.score, a.score);
        }
        assert.equal(counted, alerts.length, 'alerts counted once over all incidents');
        assert.ok(records.some((r) => r.incident.citizenCount >= 5), 'the gathering is there');
      } finally {
        incidents.close();
      }
    } finally {
      store.close();
      await stream.close();
    }
  });
});
