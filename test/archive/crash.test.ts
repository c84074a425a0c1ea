/**
 * Acceptance test of the archive's exactly-once guarantee on a local lake (crash-scenario.ts; crash-ceph.test.ts
 * runs the same on Ceph RGW). It fails when the protocol is weakened, e.g. when the stream offset is committed
 * before the batch is in the lake.
 */
import { after, describe, it } from 'node:test';
import path from 'node:path';
import { lakeFilesFor } from '../../src/lake/index.ts';
import { tempDir } from '../../src/testkit/index.ts';
import { kill, type Child } from './child.ts';
import { crashScenario } from './crash-scenario.ts';

describe('archive: kill -9 at any moment (local lake)', () => {
  const tmp = tempDir('dw-archive-crash-');
  const children: Child[] = [];
  after(async () => {
    for (const c of children) await kill(c);
    tmp.cleanup();
  });

  it('stores every report and alert event exactly once', { timeout: 120_000 }, async (t) => {
    const lake = path.join(tmp.dir, 'lake');
    await crashScenario(t, { dataDir: tmp.dir, lake, files: lakeFilesFor(lake), reports: 20_000, runs: 'all', children });
  });
});
