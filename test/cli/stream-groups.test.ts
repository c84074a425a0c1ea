import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { TOPICS } from '../../src/stream/index.ts';
import { tempDir } from '../../src/testkit/index.ts';
import { runCli } from './helpers.ts';
import { SqliteStream } from '../../src/backend/index.ts';

describe('dronewatch stream groups', () => {
  const tmp = tempDir('dw-cli-groups-');
  after(() => tmp.cleanup());

  it("lists each topic's groups with their lag, without joining any", async () => {
    const stream = await SqliteStream.open(path.join(tmp.dir, 'stream.db'));
    try {
      await stream.ensureTopic(TOPICS.reports, { partitions: 2 });
      await stream.publish(TOPICS.reports, Array.from({ length: 10 }, (_, i) => ({ key: `d-${i}`, value: Buffer.from(`{"i":${i}}`) })));
      const c = await stream.consumer({ topic: TOPICS.reports, group: 'archive' });
      const got = await c.poll({ maxRecords: 4, waitMs: 500 });
      await c.commit(got);
      await c.close();
      const r = await runCli(['stream', 'groups', '--data', tmp.dir, '--format', 'json']);
      assert.equal(r.code, 0, r.stderr);
      const rows = JSON.parse(r.stdout) as { topic: string; group: string; lag: number; partitions: number }[];
      assert.deepEqual(rows.map((x) => [x.topic, x.group, x.lag, x.partitions]), [['reports', 'archive', 10 - got.length, 2]]);
      assert.deepEqual(await stream.groups(TOPICS.reports), ['archive'], 'the command joined no group');
    } finally {
      await stream.close();
    }
  });
});
