import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AlertBus, AlertWorker, type AlertEvent } from '../../src/alerts/index.ts';
import { openAlertStore, openStream } from '../../src/backend/index.ts';
import { KvAlertState, LogKvStore } from '../../src/backend/shared/index.ts';
import { StreamUnavailableError, TOPICS, type OutgoingRecord, type PublishAck, type Stream } from '../../src/stream/index.ts';
import { tempDir } from '../../src/testkit/index.ts';
import type { AlertState } from '../../src/alerts/state.ts';
import { publishReports, readAlertTopic, report, totalLag, waitFor } from './helpers.ts';

const RULES = { threshold: 20, criticalThreshold: 5, wordRules: [] };

/** The stream, except that the first `failures` publishes to the `alerts` topic fail (a broker that is away). */
function failingAlertPublishes(stream: Stream, failures: number): Stream {
  let left = failures;
  return Object.create(stream, {
    publish: {
      value: (topic: string, records: readonly OutgoingRecord[]): Promise<PublishAck[]> => {
        if (topic === TOPICS.alerts && left > 0) {
          left--;
          return Promise.reject(new StreamUnavailableError('publish to alerts', new Error('broker away (test)')));
        }
        return stream.publish(topic, records);
      },
    },
  }) as Stream;
}

/**
 * A sighting's event whose publish failed must still reach the `alerts` topic (the lake's copy, the other processes'
 * live feeds). The SQLite store keeps it in its outbox; the KV state (distributed mode) has no outbox for sightings,
 * so the worker must retry before it commits the reports' offsets (before, it committed: the event was lost).
 */
for (const kind of ['sqlite', 'kv'] as const) {
  test(`an alert event whose publish failed reaches the alerts topic (${kind} state)`, { timeout: 30_000 }, async () => {
    const tmp = tempDir();
    const stream = await openStream('sqlite', { dataDir: tmp.dir });
    const state: AlertState = kind === 'sqlite'
      ? openAlertStore({ dataDir: tmp.dir, dedupWindowMs: 60_000 })
      : await KvAlertState.open({ store: new LogKvStore(stream), dedupWindowMs: 60_000 });
    const bus = new AlertBus();
    const raised: AlertEvent[] = [];
    bus.subscribe((e) => { if (e.type === 'raised') raised.push(e); });
    const worker = new AlertWorker({ stream: failingAlertPublishes(stream, 2), store: state, bus, config: RULES, waitMs: 20 });
    try {
      await worker.start();
      await publishReports(stream, [report({ droneId: 'drone-retry', citizens: [{ name: 'Marie Petit', score: 3 }] })]);
      await waitFor('the alert on the bus', () => raised.length === 1);
      await waitFor('the alert event on the alerts topic', async () => (await readAlertTopic(stream)).some((e) => e.eventId === raised[0]!.eventId), 15_000);
      await waitFor('the report committed', async () => (await totalLag(stream, TOPICS.reports, 'alerts')) === 0);
      assert.ok(worker.stats().publishErrors >= 1, 'the failures happened');
    } finally {
      await worker.stop();
      await state.close();
      await stream.close();
      tmp.cleanup();
    }
  });
}
