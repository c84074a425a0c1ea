import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ITEMS_PER_TURN, Ingestor } from '../../src/ingest/index.ts';
import type { OutgoingRecord, PublishAck, Stream } from '../../src/stream/index.ts';
import { NOW, validReport } from '../contract/fixtures.ts';
import { openTestStream, storedReports } from './helpers.ts';

/**
 * A big body is validated in slices of ITEMS_PER_TURN reports, giving the event loop back in between (the alert worker
 * shares the thread). Observed by a chain of setImmediate turns counted until the body's publish: without the slices
 * the whole body is validated in the turn it arrived in, and the count is 0.
 */
for (const type of ['ndjson', 'json'] as const) {
  test(`a ${type} body of 1,000 reports leaves turns of the event loop to others while it is validated`, async () => {
    const { stream, cleanup } = await openTestStream();
    try {
      let turns = 0;
      let turnsAtPublish = -1;
      const counting: Stream = Object.create(stream, {
        publish: {
          value: (topic: string, records: readonly OutgoingRecord[]): Promise<PublishAck[]> => {
            if (topic === 'reports') turnsAtPublish = turns;
            return stream.publish(topic, records);
          },
        },
      }) as Stream;
      const ingestor = new Ingestor({ stream: counting, tenant: 'prefecture-75', now: () => NOW });
      const reports = Array.from({ length: 1000 }, (_, i) => validReport({ droneId: `d-${i}` }));
      const body = type === 'ndjson' ? reports.map((r) => JSON.stringify(r)).join('\n') : JSON.stringify(reports);
      let done = false;
      const tick = (): void => { turns++; if (!done) setImmediate(tick); };
      setImmediate(tick);
      const res = await ingestor.ingestRaw(body, type, 'test');
      done = true;
      assert.equal(res.accepted.length, 1000);
      
      assert.ok(ITEMS_PER_TURN <= 500, 'a slice is at most a few milliseconds of work');
      assert.ok(turnsAtPublish >= Math.floor(1000 / ITEMS_PER_TURN), `turns given back before the publish: ${turnsAtPublish}`);
      assert.equal((await storedReports(stream)).length, 1000);
    } finally {
      await cleanup();
    }
  });
}
