/**
 * The shared alert state of distributed mode (src/backend/nats/alerts/) against a real nats-server: two alert workers on one
 * NatsStream group with a rebalance, redelivery after a crash between the KV write and the topic publish, officers'
 * changes from another process's API, and concurrent writers. Skipped without nats-server >= 2.10 (fails with CI=true).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AlertBus, AlertService, AlertWorker, compileRules, evaluateReport, type AlertEvent, type ReportCandidates } from '../../src/alerts/index.ts';
import type { AcceptedReport } from '../../src/contract/types.ts';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { TOPICS } from '../../src/stream/topics.ts';
import { natsServerOrSkip, startNatsServer, type NatsTestServer } from '../../src/testkit/index.ts';
import { expectedAlerts, generateReports } from './expected.ts';
import { publishReports, readAlertTopic, report, totalLag, waitFor } from './helpers.ts';
import { connectKvAlertState, KvAlertState, NatsStream } from '../../src/backend/index.ts';

const skip = natsServerOrSkip();
const WINDOW = 60_000;
const RULES = { threshold: 20, criticalThreshold: 5, wordRules: [] };
const rules = compileRules(RULES);

function sightings(reports: readonly AcceptedReport[], firstOffset = 1): ReportCandidates[] {
  return reports.map((r, i) => ({ report: r, candidates: evaluateReport(r, rules), position: { partition: 0, offset: firstOffset + i } }));
}

describe('alert state in JetStream KV', { skip, timeout: 120_000 }, () => {
  let nats: NatsTestServer;
  const closers: (() => Promise<unknown>)[] = [];
  const state = async (tenant = 'default'): Promise<KvAlertState> => {
    const s = await connectKvAlertState({ servers: [nats.url], tenant, dedupWindowMs: WINDOW });
    closers.push(() => s.close());
    return s;
  };
  const natsStream = async (tenant = 'default'): Promise<NatsStream> => {
    const s = await NatsStream.connect({ servers: nats.url, tenant });
    closers.push(() => s.close());
    return s;
  };

  before(async () => {
    nats = await startNatsServer();
  });
  after(async () => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
    await nats?.stop();
  });

  it('two workers, one stopped mid-run: each alert raised exactly once, the dedup window holds across the move', async () => {
    const publisher = await natsStream();
    const mk = async (name: string): Promise<{ worker: AlertWorker; events: AlertEvent[] }> => {
      const bus = new AlertBus();
      const events: AlertEvent[] = [];
      bus.subscribe((e) => events.push(e));
      const worker = new AlertWorker({
        stream: await natsStream(), store: await state(), bus, config: RULES, waitMs: 20, memberId: name, sessionTimeoutMs: 3000, maxRecords: 50,
      });
      closers.push(() => worker.stop());
      await worker.start();
      return { worker, events };
    };
    const a = await mk('worker-a');
    const b = await mk('worker-b');

    // 16 drones over 8 partitions, a report every 20 s each (window 60 s): most alerts see several sightings.
    const DRONES = 16;
    const STEP = 20_000;
    const START = 1_700_000_000_000;
    const generated = generateReports({ count: 1600, drones: DRONES, stepMs: STEP, alertRate: 0.06, start: START });
    const half = generated.length / 2;
    // Every drone sees Zoe just before the move and again just after it (10 s later, well inside the window).
    const zoe = (offsetMs: number): AcceptedReport[] => Array.from({ length: DRONES }, (_, d) =>
      report({ droneId: `drone-${d}`, ts: START + (half / DRONES - 1) * STEP + offsetMs, citizens: [{ name: 'Zoe', score: 1 }] }));
    const beforeMove = [...generated.slice(0, half), ...zoe(5000)];
    const afterMove = [...zoe(10_000), ...generated.slice(half)];
    const reports = [...beforeMove, ...afterMove];
    for (let i = 0; i < beforeMove.length; i += 100) await publishReports(publisher, beforeMove.slice(i, i + 100));
    await waitFor('both workers to consume the first part', async () => (await totalLag(publisher, TOPICS.reports, 'alerts')) === 0, 20_000);
    const zoeByB = b.events.filter((e) => e.type === 'raised' && e.alert.citizen === 'Zoe').map((e) => e.alert.alertId);
    assert.ok(zoeByB.length > 0 && a.events.length > 0, `both workers took part (B raised ${zoeByB.length} of the Zoe alerts)`);
    // Stopped while reports are still coming: its partitions (and their open alerts) move to worker A.
    const publishing = (async () => { for (let i = 0; i < afterMove.length; i += 100) await publishReports(publisher, afterMove.slice(i, i + 100)); })();
    await b.worker.stop();
    await publishing;
    await waitFor('worker A to consume everything', async () => (await totalLag(publisher, TOPICS.reports, 'alerts')) === 0, 20_000);

    const expected = expectedAlerts(reports, 20, WINDOW);
    assert.ok(expected.size > 30, `enough alerts to mean something (${expected.size})`);
    const api = await state();
    const ours = (): ReturnType<typeof api.list> => api.list({ limit: 10_000 }).filter((x) => x.droneId.startsWith('drone-'));
    await waitFor('the watched view to hold every alert', () => ours().length >= expected.size);
    const stored = ours();
    assert.equal(stored.length, expected.size, 'one alert per expected alert');
    for (const s of stored) {
      const e = expected.get(`${s.firstReportId}|${s.citizen}`);
      assert.ok(e, `unexpected alert ${s.firstReportId}|${s.citizen}`);
      assert.deepEqual([s.droneId, s.occurrences, s.score, s.lastReportId], [e.droneId, e.occurrences, e.score, e.lastReportId],
        `alert ${s.firstReportId}|${s.citizen}: each sighting applied exactly once`);
    }

    // The dedup window across the move: Zoe's second sighting updated the alert B raised, on worker A.
    for (const id of zoeByB) {
      const updatedByA = a.events.find((e) => e.type === 'updated' && e.alert.alertId === id);
      assert.ok(updatedByA, `Zoe alert ${id} raised by worker B was updated by worker A after the move`);
      assert.equal(updatedByA.alert.occurrences, 2);
    }
    assert.equal(stored.filter((x) => x.citizen === 'Zoe').length, DRONES, 'one Zoe alert per drone, not two');

    await waitFor('the alerts topic', async () => (await readAlertTopic(publisher)).filter((e) => e.type === 'raised').length >= expected.size);
    const raised = (await readAlertTopic(publisher)).filter((e) => e.type === 'raised');
    const perAlert = new Map<string, number>();
    for (const e of raised) perAlert.set(`${e.alert.firstReportId}|${e.alert.citizen}`, (perAlert.get(`${e.alert.firstReportId}|${e.alert.citizen}`) ?? 0) + 1);
    assert.deepEqual([...perAlert.keys()].sort(), [...expected.keys()].sort(), 'raised events are the expected alerts');
    for (const [k, n] of perAlert) assert.equal(n, 1, `alert ${k} raised ${n} times on the topic`);
    assert.equal(a.worker.stats().alertsRaised + b.worker.stats().alertsRaised, expected.size, 'raised once across both workers');
  });

  it('the bucket expires alerts after the state retention (TTL), so it stays bounded', async () => {
    const s = await connectKvAlertState({ servers: [nats.url], tenant: 'ttl', dedupWindowMs: WINDOW, retentionMs: 3 * 3600_000 });
    closers.push(() => s.close());
    const nc = await connect({ servers: nats.url });
    try {
      const info = await (await jetstreamManager(nc)).streams.info('KV_dw_alerts_ttl');
      assert.equal(info.config.max_age, 3 * 3600_000 * 1_000_000, 'max_age in nanoseconds');
    } finally {
      await nc.close();
    }
  });

  it('a redelivered batch changes nothing and gives back the same events to republish', async () => {
    const s = await state();
    const base = 1_750_000_000_000;
    const rs = [0, 1, 2].map((i) => report({ droneId: 'redeliver-1', ts: base + i * 1000, citizens: [{ name: 'Eve', score: 3 }, { name: 'Ivan', score: 50 }] }));
    rs.push(report({ droneId: 'redeliver-1', ts: base + 10 * WINDOW, citizens: [{ name: 'Eve', score: 4 }] }));
    const first = await s.applySightings(sightings(rs, 100));
    assert.deepEqual(first.events.map((e) => e.type), ['raised', 'updated', 'updated', 'raised'], 'a new alert after the window');
    assert.equal(first.republish.length, 0, 'nothing to republish the first time');
    const before = await Promise.all(first.events.map((e) => s.get(e.alert.alertId)));

    // As after a crash before the offsets were committed: the same records again.
    const again = await s.applySightings(sightings(rs, 100));
    assert.equal(again.events.length, 0, 'no new change');
    assert.deepEqual(again.republish.map((e) => e.eventId), first.events.map((e) => e.eventId), 'the same event ids, for the topic to de-duplicate');
    assert.deepEqual(await Promise.all(first.events.map((e) => s.get(e.alert.alertId))), before, 'state unchanged');
    assert.equal((await s.get(first.events[0]!.alert.alertId))!.occurrences, 3);
  });

  it("officers' changes through another process's API are seen by the worker; a resolved alert is never updated", async () => {
    // A tenant of its own: a fresh `reports` subject space and bucket, untouched by the other tests.
    const publisher = await natsStream('acks');
    const workerBus = new AlertBus();
    const seen: AlertEvent[] = [];
    workerBus.subscribe((e) => seen.push(e));
    const worker = new AlertWorker({ stream: await natsStream('acks'), store: await state('acks'), bus: workerBus, config: RULES, waitMs: 20 });
    closers.push(() => worker.stop());
    await worker.start();
    const apiStream = await natsStream('acks');
    const apiState = await state('acks');
    const api = new AlertService({ store: apiState, stream: apiStream, bus: new AlertBus() });

    const t0 = Date.now();
    const sight = (i: number): AcceptedReport => report({ droneId: 'ack-drone', ts: t0 + i * 1000, citizens: [{ name: 'Zed', score: 2 }], tenant: 'acks' });
    await publishReports(publisher, [sight(0)]);
    await waitFor('the alert in the API view', () => api.list({ droneId: 'ack-drone' }).length === 1);
    const id = api.list({ droneId: 'ack-drone' })[0]!.alertId;
    const acked = await api.acknowledge(id, 'officer-1', 'on it');
    assert.equal(acked.alert.status, 'acknowledged');

    await publishReports(publisher, [sight(1)]);
    await waitFor('the worker to update the acknowledged alert', () => seen.some((e) => e.type === 'updated' && e.alert.alertId === id));
    const updated = (await api.get(id))!;
    assert.deepEqual([updated.status, updated.acknowledgedBy, updated.note, updated.occurrences], ['acknowledged', 'officer-1', 'on it', 2],
      'the worker kept the acknowledgement and added its sighting');

    await api.resolve(id, 'officer-1', 'gone');
    await publishReports(publisher, [sight(2)]);
    await waitFor('a new alert', () => api.list({ droneId: 'ack-drone' }).length === 2);
    const resolved = (await api.get(id))!;
    assert.deepEqual([resolved.status, resolved.occurrences], ['resolved', 2], 'the resolved alert is not updated');
    const fresh = api.list({ droneId: 'ack-drone', status: 'open' });
    assert.equal(fresh.length, 1, 'the new sighting raised a new alert');
    assert.notEqual(fresh[0]!.alertId, id);
    await assert.rejects(api.acknowledge(id, 'officer-2'), /resolved/, 'a resolved alert cannot be acknowledged');
    const rt = api.reactionTimes(t0 - 60_000, Date.now() + 1000, 'acks');
    assert.ok(rt.alerts === 2 && rt.open === 1 && rt.toResolve.count === 1 && rt.toAcknowledge.count === 1, `reaction times from the view: ${JSON.stringify(rt)}`);
  });

  it('a worker failing between the KV write and the topic publish: the retried batch republishes its events', async () => {
    const tenant = 'crash';
    const stream = await natsStream(tenant);
    let failed = 0;
    const worker = new AlertWorker({
      stream, store: await state(tenant), bus: new AlertBus(), config: RULES, waitMs: 20, maxRecords: 40,
      // As a crash right after the state was written: no bus, no topic publish, no offset commit for that batch.
      onBatchStored: ({ events }) => {
        if (failed === 0 && events.length > 0) {
          failed = events.length;
          throw new Error('injected failure after the KV write');
        }
      },
    });
    closers.push(() => worker.stop());
    await worker.start();
    const reports = generateReports({ count: 400, drones: 8, stepMs: 20_000, alertRate: 0.1, seed: 3, start: 1_720_000_000_000 }).map((r) => ({ ...r, tenant }));
    // Ids `<drone>:<ts>` of their own: the REPORTS stream de-duplicates by id across tenants (see the first test).
    await publishReports(stream, reports);
    await waitFor('the worker to consume everything', async () => (await totalLag(stream, TOPICS.reports, 'alerts')) === 0, 20_000);
    assert.ok(failed > 0, `the failure was injected: ${JSON.stringify(worker.stats())} lag ${await totalLag(stream, TOPICS.reports, 'alerts')}`);

    const expected = expectedAlerts(reports, 20, WINDOW);
    const updates = [...expected.values()].reduce((n, e) => n + e.occurrences - 1, 0);
    await waitFor('every event on the alerts topic', async () => (await readAlertTopic(stream)).length >= expected.size + updates);
    const topic = await readAlertTopic(stream);
    assert.equal(new Set(topic.map((e) => e.eventId)).size, topic.length, 'no event twice on the topic');
    assert.equal(topic.filter((e) => e.type === 'raised').length, expected.size, 'every alert raised once on the topic');
    assert.equal(topic.length, expected.size + updates, 'every sighting has its event, the failed batch\'s included');
    assert.ok(worker.stats().outboxRepublished >= failed, `the failed batch's ${failed} events were republished (${worker.stats().outboxRepublished})`);
  });

  it("an API process dying between an officer's change and its publish: a worker publishes the event, once", async () => {
    // Regression: the KV state had no outbox, so an acknowledgement made just before its API process died was in the
    // state but never on the `alerts` topic (nor in the lake's alert events, nor in other processes' live feeds).
    const tenant = 'apicrash';
    const publisher = await natsStream(tenant);
    const worker = new AlertWorker({ stream: await natsStream(tenant), store: await state(tenant), bus: new AlertBus(), config: RULES, waitMs: 20 });
    closers.push(() => worker.stop());
    await worker.start();
    const t0 = Date.now();
    await publishReports(publisher, [report({ droneId: 'crash-drone', ts: t0, citizens: [{ name: 'Ugo', score: 3 }], tenant })]);
    const dying = await connectKvAlertState({ servers: [nats.url], tenant, dedupWindowMs: WINDOW });
    await waitFor('the alert in the dying process\'s view', () => dying.list({ droneId: 'crash-drone' }).length === 1);
    const id = dying.list({ droneId: 'crash-drone' })[0]!.alertId;
    // The state change alone, as an API process killed right after its KV write: no publish, no markPublished.
    const ack = await dying.acknowledge(id, 'officer-9', 'en route');
    await dying.close();
    assert.deepEqual((await state(tenant)).pendingEvents().map((e) => e.eventId), [ack.eventId], 'the event waits in the alert record');

    await waitFor('the worker to publish the acknowledgement', async () => (await readAlertTopic(publisher)).some((e) => e.eventId === ack.eventId), 15_000);
    const onTopic = (await readAlertTopic(publisher)).filter((e) => e.eventId === ack.eventId);
    assert.equal(onTopic.length, 1, 'published once');
    assert.deepEqual([onTopic[0]!.type, onTopic[0]!.by, onTopic[0]!.alert.status], ['acknowledged', 'officer-9', 'acknowledged'], 'the event as the officer made it');
    const observer = await state(tenant);
    await waitFor('the record to forget the published event', () => observer.pendingEvents().length === 0);

    // The normal path: the API publishes its change itself and clears it from the record; nothing is left to drain.
    const api = new AlertService({ store: observer, stream: await natsStream(tenant), bus: new AlertBus() });
    const resolved = await api.resolve(id, 'officer-9', 'calm');
    assert.deepEqual(observer.pendingEvents(), [], 'cleared by the API right after its publish');
    assert.equal((await readAlertTopic(publisher)).filter((e) => e.eventId === resolved.eventId).length, 1, 'the resolution once on the topic');
    assert.equal((await observer.get(id))!.status, 'resolved');
  });

  it('concurrent officer changes and sightings on one alert from two processes: no lost update', async () => {
    const worker = await state();
    const officers = await state();
    const base = 1_760_000_000_000;
    const sight = (i: number): ReportCandidates[] => sightings([report({ droneId: 'race-drone', ts: base + i * 100, citizens: [{ name: 'Mo', score: 9 }] })])
      .map((s) => ({ report: s.report, candidates: s.candidates })); // no positions: concurrent callers, not one stream
    const raised = await worker.applySightings(sight(0));
    const id = raised.events[0]!.alert.alertId;
    const N = 12;
    const results = await Promise.all([
      ...Array.from({ length: N }, (_, i) => worker.applySightings(sight(i + 1))),
      ...Array.from({ length: N }, (_, i) => officers.assign(id, `officer-${i}`, 'chief')),
      officers.acknowledge(id, 'chief'),
    ]);
    const final = (await officers.get(id))!;
    assert.equal(final.occurrences, N + 1, 'every sighting counted');
    assert.equal(final.status, 'acknowledged', 'the acknowledgement kept');
    assert.equal(final.acknowledgedBy, 'chief');
    const assignEvents = results.slice(N, 2 * N) as AlertEvent[];
    assert.ok(assignEvents.some((e) => e.alert.assignee === final.assignee), `the assignee is one of the assignments (${final.assignee})`);
    const ids = results.flatMap((r) => ('events' in r ? r.events : [r])).map((e) => e.eventId);
    assert.equal(new Set(ids).size, 2 * N + 1, 'every change has its own event');
  });
});
