import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AlertBus, AlertWorker } from '../../src/alerts/index.ts';
import { runStat } from '../../src/analysis/index.ts';
import { ArchiveWorker } from '../../src/archive/index.ts';
import { openAlertStore, openStream, SqliteIncidentStore } from '../../src/backend/index.ts';
import type { AcceptedReport } from '../../src/contract/types.ts';
import { IncidentPublisher } from '../../src/incidents/publish.ts';
import type { IncidentEvent } from '../../src/incidents/types.ts';
import { incidentsRaised } from '../../src/metrics/index.ts';
import { openLakeQuery } from '../../src/lake/index.ts';
import { TOPICS } from '../../src/stream/topics.ts';
import { tempDir } from '../../src/testkit/index.ts';
import { publishReports, report, totalLag, waitFor } from '../alerts/helpers.ts';
import { GROUPING, MIN, offset, PLACE_A, PLACE_B, T0 } from '../incidents/helpers.ts';
import path from 'node:path';

async function topicEvents(stream: Awaited<ReturnType<typeof openStream>>): Promise<IncidentEvent[]> {
  const recs = await stream.read(TOPICS.incidents, { from: 'earliest', limit: 1_000_000 });
  return recs.map((r) => JSON.parse(Buffer.from(r.value).toString('utf8')) as IncidentEvent);
}

async function raised(tenant: string): Promise<number> {
  return (await incidentsRaised.get()).values.find((v) => v.labels.tenant === tenant)?.value ?? 0;
}

/**
 * The whole path on real components: reports on the embedded stream -> the alert worker groups their alerts into
 * incidents (SQLite) and publishes the incident events on the `incidents` topic -> an officer acknowledges one from
 * another process (a second store on the same incidents.db, as the API process) -> the archive writes the topic to
 * the lake -> the lake's `incidents` view is exactly the incident state, per tenant.
 */
describe('incidents in the lake: alert worker -> incidents topic -> archive -> incidents view', () => {
  const tmp = tempDir('dw-lake-incidents-');
  after(() => tmp.cleanup());

  it('holds every incident as the state has it, acknowledgement included, per tenant; republishing stores nothing twice', async () => {
    const stream = await openStream('sqlite', { dataDir: tmp.dir });
    const store = openAlertStore({ dataDir: tmp.dir, dedupWindowMs: 60_000 });
    const incidents = new SqliteIncidentStore({ dir: tmp.dir, grouping: GROUPING, pollMs: 50 });
    const api = new SqliteIncidentStore({ dir: tmp.dir, grouping: GROUPING, pollMs: 50 });
    const before = { default: await raised('default'), other: await raised('other') };
    const worker = new AlertWorker({ stream, store, bus: new AlertBus(), incidents, waitMs: 20, config: { threshold: 20, criticalThreshold: 5, wordRules: [] } });
    const lake = path.join(tmp.dir, 'lake');
    try {
      await worker.start();
      // A gathering at A (6 citizens seen by 3 drones over 8 minutes, one moving 100 m), a lone alert at B (2 km
      // away), and another force's gathering at A.
      const reports: AcceptedReport[] = [];
      for (let m = 0; m < 8; m++) {
        for (let d = 0; d < 3; d++) {
          const citizens = [0, 1, 2, 3, 4, 5].filter((c) => c <= m && (c + d) % 2 === m % 2).map((c) => ({ name: `c${c}`, score: 8 + c }));
          if (citizens.length === 0) continue;
          reports.push(report({ droneId: `d${d}`, ts: T0 + m * MIN + d * 1000, citizens, position: offset(PLACE_A.lat, PLACE_A.lon, m * 12, d * 20) }));
        }
      }
      reports.push(report({ droneId: 'd9', ts: T0 + 2 * MIN, citizens: [{ name: 'lone', score: 3 }], position: PLACE_B }));
      for (let m = 0; m < 3; m++) {
        reports.push({ ...report({ droneId: 'x1', ts: T0 + m * MIN, citizens: [{ name: `o${m}`, score: 12 }, { name: 'o9', score: 15 }], position: PLACE_A }), tenant: 'other' });
      }
      await publishReports(stream, reports);
      await waitFor('the alert worker to consume every report', async () => (await totalLag(stream, TOPICS.reports, 'alerts')) === 0);
      await waitFor('the worker to finish its tails', () => worker.stats().incidentEvents > 0 && worker.stats().eventsPublished >= worker.stats().alertsRaised);

      const mine = incidents.list({ tenant: 'default', limit: 1000 });
      const gathering = mine.find((i) => i.citizenCount === 6)!;
      assert.ok(gathering, `one incident holds the gathering: ${JSON.stringify(mine.map((i) => [i.status, i.citizenCount]))}`);
      assert.equal(mine.filter((i) => i.status !== 'merged').length, 2, 'the gathering and the lone alert');
      // An officer acknowledges the gathering through another process's store: the worker's change feed publishes it.
      const ack = api.change(gathering.incidentId, { action: 'acknowledge', note: 'units sent' }, 'officer-7', 'default');
      await waitFor('the acknowledgement on the incidents topic', async () => (await topicEvents(stream)).some((e) => e.eventId === ack.eventId), 5_000);

      const onTopic = await topicEvents(stream);
      const opened = onTopic.filter((e) => e.type === 'opened');
      assert.equal(new Set(onTopic.map((e) => e.eventId)).size, onTopic.length, 'no event twice on the topic');
      assert.equal(await raised('default') - before.default, opened.filter((e) => e.incident.tenant === 'default').length, 'incidentsRaised counts the openings');
      assert.equal(await raised('other') - before.other, opened.filter((e) => e.incident.tenant === 'other').length);
      assert.ok(opened.length >= 3);

      // Publishing the same events again (a retried tail, a second worker following the same change): the topic's
      // duplicate window drops every one.
      const again = new IncidentPublisher(stream);
      await again.publish(onTopic);
      assert.equal(again.errors, 0);
      assert.equal((await topicEvents(stream)).length, onTopic.length, 'republished events are not stored again');

      const archive = new ArchiveWorker({ stream, lakeRoot: lake, maxBatchAgeMs: 200, compactMinFiles: 0, topics: ['incidents'] });
      await archive.start();
      await archive.stop();
      assert.equal(archive.stats().rowsWritten, onTopic.length);

      for (const tenant of ['default', 'other']) {
        const q = await openLakeQuery(lake, { tenant });
        try {
          const r = await q.run(`SELECT incident_id, status, severity, citizen_count, alert_count, drone_count, lat, lon, epoch_ms(first_at), epoch_ms(last_at),
            epoch_ms(opened_at), acknowledged_by, epoch_ms(acknowledged_at), note, merged_into, growing, tenant FROM incidents ORDER BY incident_id`);
          const want = incidents.list({ tenant, limit: 1000 }).sort((a, b) => (a.incidentId < b.incidentId ? -1 : 1)).map((i) => [
            i.incidentId, i.status, i.severity, i.citizenCount, i.alertCount, i.droneCount, i.centroid.lat, i.centroid.lon, i.firstAt, i.lastAt,
            i.openedAt, i.acknowledgedBy, i.acknowledgedAt, i.note, i.mergedInto, i.growing, tenant]);
          assert.deepEqual(r.rows, want, `${tenant}: the lake's incidents are the state's`);
          const n = await q.run('SELECT count(*) FROM incident_events');
          assert.equal(n.rows[0]![0], onTopic.filter((e) => e.incident.tenant === tenant).length);
        } finally {
          await q.close();
        }
      }
      const q = await openLakeQuery(lake, { tenant: 'default' });
      try {
        const acked = await q.run(`SELECT "type", "by", status, citizen_count FROM incident_events WHERE event_id = '${ack.eventId}'`);
        assert.deepEqual(acked.rows, [['acknowledged', 'officer-7', 'acknowledged', 6]]);
        // The ready-made statistic reads the same: two live incidents opened today, one acknowledged.
        const st = await runStat(q, 'incident-ack-time');
        assert.deepEqual(st.rows.map((row) => row.slice(1, 4)), [[2, 1, 0]]);
        assert.equal(st.rows[0]![4], (ack.incident.acknowledgedAt! - ack.incident.openedAt) / 1000);
      } finally {
        await q.close();
      }
    } finally {
      await worker.stop();
      api.close();
      incidents.close();
      store.close();
      await stream.close();
    }
  });
});
