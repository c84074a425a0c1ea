/**
 * /health/live and /health/ready, the probes orchestrators use: on a running platform (embedded stream), then with the
 * stream closed under it (ready turns 503 once the stream has not answered for a while; live stays 200).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Platform } from '../../src/runtime/platform.ts';
import { startTestPlatform } from './helpers.ts';

describe('health probes', { timeout: 60_000 }, () => {
  let platform: Platform;
  let cleanup: () => Promise<void>;
  before(async () => {
    ({ platform, cleanup } = await startTestPlatform({ alerts: true, archive: true, http: 'api' }));
  });
  after(async () => {
    await cleanup().catch(() => undefined);
  });

  it('live and ready while the pipeline runs; ready says why not once the stream stops answering', async () => {
    const live = await platform.server!.inject({ method: 'GET', url: '/health/live' });
    assert.equal(live.statusCode, 200);
    assert.equal((live.json() as { status: string }).status, 'live');
    const ready = await platform.server!.inject({ method: 'GET', url: '/health/ready' });
    assert.equal(ready.statusCode, 200, ready.body);
    assert.deepEqual(Object.keys((ready.json() as { lag: Record<string, number> }).lag).sort(), ['alerts', 'archive']);

    await platform.stream.close();
    let answer = await platform.server!.inject({ method: 'GET', url: '/health/ready' });
    const until = Date.now() + 15_000;
    while (answer.statusCode === 200 && Date.now() < until) {
      await sleep(250);
      answer = await platform.server!.inject({ method: 'GET', url: '/health/ready' });
    }
    assert.equal(answer.statusCode, 503);
    assert.deepEqual((answer.json() as { reasons: string[] }).reasons, ['stream unreachable']);
    assert.equal((await platform.server!.inject({ method: 'GET', url: '/health/live' })).statusCode, 200, 'still live: restarting would not help');
  });
});
