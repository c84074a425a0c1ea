import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AlertBus, AlertService, AlertWorker, streamAlertFeed, type AlertEvent } from '../../src/alerts/index.ts';
import { TOPICS } from '../../src/stream/topics.ts';
import type { Stream } from '../../src/stream/types.ts';
import { tempDir } from '../../src/testkit/index.ts';
import { expectedAlerts, generateReports } from './expected.ts';
import { publishReports, readAlertTopic, report, totalLag, waitFor } from './helpers.ts';
import { openAlertStore, type AlertStore, openStream } from '../../src/backend/index.ts';

const WINDOW = 60_000;

describe('alert worker on a real SqliteStream', () => {
  const tmp = tempDir();
  let stream: Stream;
  let store: AlertStore;
  let worker: AlertWorker;
  const bus = new AlertBus();
  const onBus: AlertEvent[] = [];
  /** A second process's view: its own bus fed from the alerts topic. */
  const feedBus = new AlertBus();
  const onFeed: AlertEvent[] = [];
  let feed: ReturnType<typeof streamAlertFeed>;

  before(async () => {
    stream = await openStream('sqlite', { dataDir: tmp.dir });
    store = openAlertStore({ dataDir: tmp.dir, dedupWindowMs: WINDOW });
    bus.subscribe((e) => onBus.push(e));
    feedBus.subscribe((e) => onFeed.push(e));
    worker = new AlertWorker({ stream, store, bus, config: { threshold: 20, criticalThreshold: 5, wordRules: [] }, waitMs: 20, tenant: 'default' });
    await worker.start();
    feed = streamAlertFeed(stream, feedBus, { waitMs: 20 });
    await feed.ready;
  });
  after(async () => {
    await feed.stop();
    await worker.stop();
    store.close();
    await stream.close();
    tmp.cleanup();
  });

  it('turns published reports into alerts in the store, on the bus and on the alerts topic', async () => {
    // 20 drones, a report every 20 s each: sightings 20 s apart update an alert, gaps longer than the window open new ones.
    const reports = generateReports({ count: 2000, drones: 20, stepMs: 20_000, alertRate: 0.05 });
    const otherTenant = { ...report({ droneId: 'x', citizens: [{ name: 'z', score: 0 }] }), tenant: 'elsewhere' };
    for (let i = 0; i < reports.length; i += 250) await publishReports(stream, reports.slice(i, i + 250));
    await publishReports(stream, [otherTenant]);
    await waitFor('the worker to consume everything', async () => (await totalLag(stream, TOPICS.reports, 'alerts')) === 0);

    const expected = expectedAlerts(reports, 20, WINDOW);
    assert.ok(expected.size > 20, `enough alerts to mean something (${expected.size})`);
    const stored = store.list({ limit: 10_000 });
    assert.equal(stored.length, expected.size);
    for (const a of stored) {
      const e = expected.get(`${a.firstReportId}|${a.citizen}`);
      assert.ok(e, `unexpected alert ${a.firstReportId}|${a.citizen}`);
      assert.deepEqual([a.droneId, a.occurrences, a.score, a.lastReportId], [e.droneId, e.occurrences, e.score, e.lastReportId]);
      assert.equal(a.severity, e.score < 5 ? 'critical' : 'warning');
    }

    const s = worker.stats();
    assert.equal(s.reportsProcessed, reports.length);
    assert.equal(s.reportsSkipped, 1, 'the other tenant\'s report');
    assert.equal(s.alertsRaised, expected.size);
    const updates = [...expected.values()].reduce((n, e) => n + e.occurrences - 1, 0);
    assert.equal(s.alertsUpdated, updates);

    assert.equal(onBus.length, expected.size + updates);
    assert.equal(new Set(onBus.map((e) => e.eventId)).size, onBus.length);
    await waitFor('the alerts topic', async () => (await readAlertTopic(stream)).length === onBus.length);
    const topic = await readAlertTopic(stream);
    assert.deepEqual(new Set(topic.map((e) => e.eventId)), new Set(onBus.map((e) => e.eventId)));
    assert.equal(store.pendingCount(), 0, 'outbox emptied once published');
    await waitFor('the feed', () => onFeed.length === onBus.length);
    assert.deepEqual(onFeed.map((e) => e.eventId).sort(), onBus.map((e) => e.eventId).sort());
  });

  it('announces officers\' changes made through AlertService', async () => {
    const service = new AlertService({ store, stream, bus });
    const target = store.list({ status: 'open', limit: 1 })[0]!;
    const busBefore = onBus.length;
    const ack = await service.acknowledge(target.alertId, 'maria', 'en route');
    const res = await service.resolve(target.alertId, 'maria');
    assert.deepEqual(onBus.slice(busBefore).map((e) => e.type), ['acknowledged', 'resolved']);
    assert.equal(service.get(target.alertId)!.status, 'resolved');
    const topic = await readAlertTopic(stream);
    assert.ok(topic.some((e) => e.eventId === ack.eventId) && topic.some((e) => e.eventId === res.eventId));
    await waitFor('the feed to see the lifecycle events', () => onFeed.some((e) => e.eventId === res.eventId));
    assert.equal(store.pendingCount(), 0);
  });

  it('publishes an officer\'s change later when the API process could not (outbox)', async () => {
    const deadStream = await openStream('sqlite', { dataDir: tmp.dir });
    await deadStream.close();
    const apiBus = new AlertBus();
    const service = new AlertService({ store, stream: deadStream, bus: apiBus });
    const target = store.list({ status: 'open', limit: 1 })[0]!;
    const seenByApi: AlertEvent[] = [];
    apiBus.subscribe((e) => seenByApi.push(e));
    const ev = await service.assign(target.alertId, 'unit-7', 'maria');
    assert.deepEqual(seenByApi, [ev], 'the change is announced locally even though the publish failed');
    assert.equal(store.pendingCount(), 1);
    // The worker's outbox check publishes events older than 2 s.
    await waitFor('the worker to publish the stranded event', async () => (await readAlertTopic(stream)).some((e) => e.eventId === ev.eventId), 8000);
    assert.equal(store.pendingCount(), 0);
    assert.ok(worker.stats().outboxRepublished >= 1);
  });

  it('opens a new alert when a resolved citizen is seen again, end to end', async () => {
    const resolved = store.list({ status: 'resolved', limit: 1 })[0]!;
    const again = report({ droneId: resolved.droneId, ts: resolved.lastSeenTs + 1000, citizens: [{ name: resolved.citizen, score: 1 }] });
    const raisedBefore = worker.stats().alertsRaised;
    await publishReports(stream, [again]);
    await waitFor('the new alert', () => worker.stats().alertsRaised === raisedBefore + 1);
    const last = onBus.at(-1)!;
    assert.equal(last.type, 'raised');
    assert.equal(last.alert.firstReportId, again.reportId);
    assert.equal(last.alert.severity, 'critical');
  });
});
