import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AlertBus, AlertWorker } from '../../src/alerts/index.ts';
import { openAlertStore, openStream } from '../../src/backend/index.ts';
import { FleetTracker } from '../../src/fleet/index.ts';
import { tempDir } from '../../src/testkit/index.ts';
import { publishReports, report, waitFor } from '../alerts/helpers.ts';

/**
 * The fleet map and the alert worker are both woken by the commit of a report in one process. The map is flushed to
 * its listeners every 250 ms, so its parsing waits for the next turn of the event loop: an alert is raised before it.
 * The tracker joins first here, so without that deferral it would read the report first.
 */
test('the alert worker handles a commit before the fleet map parses it', async () => {
  const tmp = tempDir();
  const stream = await openStream('sqlite', { dataDir: tmp.dir });
  const store = openAlertStore({ dataDir: tmp.dir, dedupWindowMs: 60_000 });
  const bus = new AlertBus();
  const tracker = new FleetTracker({ stream, lookbackMs: 0 });
  const worker = new AlertWorker({ stream, store, bus, config: { threshold: 20, criticalThreshold: 5, wordRules: [] }, waitMs: 1000 });
  try {
    await publishReports(stream, [report({ droneId: 'warm-up' })]);
    await tracker.start();
    await worker.start();
    await waitFor('both readers idle', () => worker.stats().reportsProcessed === 1);
    // Both polls are now waiting on the stream; one commit wakes both.
    await new Promise((r) => setTimeout(r, 50));
    const mapKnewDrone: boolean[] = [];
    bus.subscribe((e) => { if (e.type === 'raised') mapKnewDrone.push(tracker.track('drone-first').length > 0); });
    await publishReports(stream, [report({ droneId: 'drone-first', citizens: [{ name: 'Marie Petit', score: 3 }] })]);
    await waitFor('the alert', () => mapKnewDrone.length === 1);
    assert.deepEqual(mapKnewDrone, [false], 'the map had not parsed the report when the alert was raised');
    await waitFor('the map', () => tracker.track('drone-first').length === 1);
  } finally {
    await worker.stop();
    await tracker.stop();
    store.close();
    await stream.close();
    tmp.cleanup();
  }
});
