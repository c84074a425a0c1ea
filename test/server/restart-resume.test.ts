/**
 * Regression (issue 15, item 7): a restart replayed the day again. After Ctrl-C, `npm start` replayed the same 24 hours
 * and for as long as the first run lasted nothing new arrived. Now the accelerated simulator carries on after the
 * newest report the stream holds, and the second start says where it carried on from.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { validateConfig } from '../../src/config/index.ts';
import { newestReportTime } from '../../src/runtime/resume.ts';
import { Platform } from '../../src/runtime/platform.ts';
import { tempDir } from '../../src/testkit/index.ts';
import { TOPICS } from '../../src/stream/index.ts';

describe('a restart carries on where the data ends (regression)', { timeout: 90_000 }, () => {
  it('the second start resumes after the newest report instead of replaying the day', async () => {
    const tmp = tempDir('dw-resume-');
    const config = validateConfig({
      dataDir: tmp.dir, security: { enabled: false }, http: { port: 0, host: '127.0.0.1' },
      simulator: { drones: 50, speed: 1200, seed: 7 },
    });
    try {
      const first = await Platform.open(config);
      await first.start({ simulator: { mode: 'accelerated' } });
      assert.equal(first.simulatorResumedFrom, undefined, 'an empty stream: the first start replays the day');
      const until = Date.now() + 20_000;
      while ((await newestReportTime(first.stream)) === undefined && Date.now() < until) await sleep(100);
      await sleep(1500);
      await first.stop();

      const second = await Platform.open(config);
      try {
        const newest = await newestReportTime(second.stream);
        assert.ok(newest !== undefined && newest < Date.now() - 3600_000, `the first run replayed hours of yesterday, not up to now: ${newest === undefined ? 'none' : new Date(newest).toISOString()}`);
        const before = new Map((await second.stream.lag(TOPICS.reports, 'archive')).map((l) => [l.partition, l.end]));
        await second.start({ simulator: { mode: 'accelerated' } });
        assert.equal(second.simulatorResumedFrom?.getTime(), newest + 1, 'carries on right after the newest report');
        await sleep(1500);
        // Every report the second run sent is newer than what the first run had sent.
        for (const [partition, end] of before) {
          const fresh = await second.stream.read(TOPICS.reports, { partition, from: { offset: end + 1 }, limit: 10_000 });
          for (const r of fresh) {
            const ts = (JSON.parse(Buffer.from(r.value).toString('utf8')) as { ts: number }).ts;
            assert.ok(ts > newest, `a report of the second run (${new Date(ts).toISOString()}) is not older than the first run's newest`);
          }
        }
      } finally {
        await second.stop();
      }
    } finally {
      tmp.cleanup();
    }
  });
});
