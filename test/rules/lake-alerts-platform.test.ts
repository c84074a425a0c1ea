/**
 * End to end on a running embedded platform (alert worker, archive, API): the alert events the worker publishes reach
 * the lake with the rule version that raised them and their silence, as the alert state has them (issue 19).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { dataPaths } from '../../src/config/index.ts';
import type { Platform } from '../../src/runtime/platform.ts';
import { lakeRows } from '../lake/helpers.ts';
import { report, startTestPlatform } from '../server/helpers.ts';

describe('the lake\'s alerts on a running platform: rule version and silence', () => {
  let platform: Platform;
  let url: string;
  let cleanup: () => Promise<void>;
  before(async () => {
    ({ platform, url, cleanup } = await startTestPlatform({ alerts: true, archive: true, http: 'api' }, { archive: { maxBatchAgeMs: 200 } }));
  });
  after(() => cleanup());

  it('a version-2 alert and a silenced one are archived with rule_version, silenced and silence_id', { timeout: 60_000 }, async () => {
    const rules = platform.rules!;
    const v2 = await rules.service.apply('default', { rules: [{ id: 'strict', kind: 'score', threshold: 40, criticalThreshold: 5 }] }, { author: 'lucie', reason: 'event week' });
    const silence = await rules.service.addSilence('default', { match: { kind: 'drone', value: 'drone-quiet' }, endsAt: new Date(Date.now() + 3600_000).toISOString(), reason: 'drone under test' }, 'lucie', Date.now() - 1000);
    const end = Date.now() + 10_000;
    while (rules.book!.versionOf('default') !== v2.version && Date.now() < end) await sleep(50);
    await sleep(400); // the book's follow poll (250 ms) brings the silence too
    const res = await fetch(`${url}/v1/reports`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify([
        report({ droneId: 'drone-quiet', citizens: [{ name: 'Quiet One', score: 30 }] }),
        report({ droneId: 'drone-loud', citizens: [{ name: 'Loud One', score: 30 }] }),
      ]),
    });
    assert.equal(res.status, 202, await res.text());
    const lake = dataPaths(platform.config).lake;
    const sql = 'SELECT citizen, rule, rule_version, silenced, silence_id FROM alerts ORDER BY citizen';
    let rows: Record<string, unknown>[] = [];
    const until = Date.now() + 30_000;
    while (rows.length < 2 && Date.now() < until) {
      rows = await lakeRows(lake, sql).catch(() => []);
      if (rows.length < 2) await sleep(200);
    }
    assert.deepEqual(rows, [
      { citizen: 'Loud One', rule: 'strict', rule_version: 2, silenced: false, silence_id: null },
      { citizen: 'Quiet One', rule: 'strict', rule_version: 2, silenced: true, silence_id: silence.id },
    ]);
  });
});
