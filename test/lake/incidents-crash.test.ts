/**
 * The incidents topic through a kill -9 of the alert worker between grouping a batch (incidents.db committed) and its
 * tail (incident events, alert events, offsets): after a restart every incident's latest change is on the topic
 * exactly once, and the lake's `incidents` view is the incident state.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ArchiveWorker } from '../../src/archive/index.ts';
import { openStream, SqliteIncidentStore } from '../../src/backend/index.ts';
import { validateConfig } from '../../src/config/index.ts';
import type { AcceptedReport } from '../../src/contract/types.ts';
import { groupingConfig } from '../../src/incidents/config.ts';
import { latestEvent } from '../../src/incidents/publish.ts';
import type { IncidentEvent } from '../../src/incidents/types.ts';
import { openLakeQuery } from '../../src/lake/index.ts';
import { Fleet } from '../../src/simulator/fleet.ts';
import { TOPICS } from '../../src/stream/topics.ts';
import { tempDir } from '../../src/testkit/index.ts';
import { publishReports, totalLag, waitFor } from '../alerts/helpers.ts';

const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'incident-worker-process.ts');

function startWorker(dataDir: string, env: Record<string, string>): { child: ChildProcess; ready: Promise<void>; exited: Promise<NodeJS.Signals | number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    env: { ...process.env, DATA_DIR: dataDir, DRONEWATCH_LOG_LEVEL: 'silent', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<NodeJS.Signals | number | null>((r) => child.on('exit', (code, sig) => r(sig ?? code)));
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
    child.on('exit', (code, sig) => reject(new Error(`worker exited before ready: ${sig ?? code}`)));
  });
  ready.catch(() => undefined);
  return { child, ready, exited };
}

/** 45 minutes of 400 simulated drones over Paris (a gathering and scattered false alarms). */
function simulatedReports(): AcceptedReport[] {
  const start = Date.parse('2026-11-02T06:00:00Z');
  return new Fleet({ drones: 400, seed: 7, start }).take(1_000_000, start + 45 * 60_000).map((r) => {
    const ts = Date.parse(r.timestamp);
    return { ...r, reportId: `${r.droneId}@${ts}`, ts, receivedAt: ts, tenant: 'default' };
  });
}

describe('incidents topic: alert worker killed between grouping and its tail', () => {
  const tmp = tempDir('dw-incident-topic-crash-');
  const children: ChildProcess[] = [];
  after(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    tmp.cleanup();
  });

  it('publishes every incident\'s latest change once after the restart, and the lake holds the state', async () => {
    const config = validateConfig({ dataDir: tmp.dir });
    const stream = await openStream('sqlite', { dataDir: tmp.dir });
    const readTopic = async (): Promise<IncidentEvent[]> => (await stream.read(TOPICS.incidents, { from: 'earliest', limit: 1_000_000 }))
      .map((r) => JSON.parse(Buffer.from(r.value).toString('utf8')) as IncidentEvent);
    const missing = async (): Promise<string[]> => {
      const onTopic = new Set((await readTopic()).map((e) => e.eventId));
      const state = new SqliteIncidentStore({ dir: tmp.dir, grouping: groupingConfig(config.incidents) });
      try {
        return state.list({ limit: 1000 }).map((i) => latestEvent(state.get(i.incidentId)!)).filter((e) => !onTopic.has(e.eventId)).map((e) => e.incident.incidentId);
      } finally {
        state.close();
      }
    };
    try {
      await publishReports(stream, simulatedReports());
      const first = startWorker(tmp.dir, { CRASH_AFTER_GROUPING: '3' });
      children.push(first.child);
      assert.equal(await first.exited, 'SIGKILL');
      const lost = await missing();
      assert.ok(lost.length > 0, 'the kill left incidents whose latest change is not on the topic');

      const second = startWorker(tmp.dir, {});
      children.push(second.child);
      await second.ready;
      await waitFor('the restarted worker to consume every report', async () => (await totalLag(stream, TOPICS.reports, 'alerts')) === 0, 120_000);
      second.child.kill('SIGTERM');
      assert.equal(await second.exited, 0);

      assert.deepEqual(await missing(), [], 'every incident\'s latest change is on the topic');
      const events = await readTopic();
      assert.equal(new Set(events.map((e) => e.eventId)).size, events.length, 'no event twice');

      const lake = path.join(tmp.dir, 'lake');
      const archive = new ArchiveWorker({ stream, lakeRoot: lake, compactMinFiles: 0, topics: ['incidents'] });
      await archive.start();
      await archive.stop();
      const state = new SqliteIncidentStore({ dir: tmp.dir, grouping: groupingConfig(config.incidents) });
      const q = await openLakeQuery(lake, { tenant: 'default' });
      try {
        const want = state.list({ limit: 1000 }).map((i) => [i.incidentId, i.status, i.citizenCount, i.alertCount, i.lastAt]).sort((a, b) => (a[0]! < b[0]! ? -1 : 1));
        const got = await q.run('SELECT incident_id, status, citizen_count, alert_count, epoch_ms(last_at) FROM incidents ORDER BY incident_id');
        assert.ok(want.length > 20, `incidents to compare (${want.length})`);
        assert.deepEqual(got.rows, want, 'the lake\'s incidents are the state\'s');
        console.log(`# ${want.length} incidents, ${events.length} incident events; ${lost.length} incidents recovered after the kill`);
      } finally {
        await q.close();
        state.close();
      }
    } finally {
      await stream.close();
    }
  });
});
