import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { tempDir } from '../../src/testkit/index.ts';
import { runCli, startCli } from './helpers.ts';
import { firstAdmin, login, registerDrone } from './auth-helpers.ts';

/**
 * kill -9 of the whole embedded platform (stream, both consumers, archive thread, API) while reports are being
 * ingested, then a restart: every acknowledged report ends up in the lake exactly once, and alerts are not doubled.
 */
describe('dronewatch up killed with SIGKILL under load', () => {
  const tmp = tempDir('dw-crash-up-');
  after(() => tmp.cleanup());

  const env = { DRONEWATCH_ARCHIVE__MAX_BATCH_AGE_MS: '300' };
  const args = ['up', '--no-simulator', '--port', '0', '--data', tmp.dir];

  const batch = (n: number, size: number): string => Array.from({ length: size }, (_, i) => JSON.stringify({
    droneId: `drone-${(n * size + i) % 200}`,
    timestamp: new Date(Date.UTC(2026, 10, 27, 8, 0, 0) + (n * size + i) * 1000).toISOString(),
    position: { lat: 48.85, lon: 2.35 },
    citizens: [{ name: `Citoyen ${i % 50}`, score: i % 97 === 0 ? 3 : 70 }],
    words: ['bonjour'],
  })).join('\n');

  it('keeps every acknowledged report exactly once across the crash', async () => {
    const first = startCli(args, env);
    const [, url] = await first.waitFor(/API (http:\/\/127\.0\.0\.1:\d+)/);
    // Reports come through a gateway credential, as from a radio relay publishing for the whole fleet.
    await first.waitFor(/password \S+/);
    const admin = await login(url!, ...Object.values(firstAdmin(first.output())) as [string, string]);
    const gateway = await registerDrone(url!, admin, '*');
    const acked = new Set<string>();
    let n = 0;
    const killAt = Date.now() + 2500;
    // Requests in flight when the process dies are neither counted nor required.
    while (Date.now() < killAt) {
      const res = await fetch(`${url}/v1/reports`, { method: 'POST', body: batch(n++, 100), headers: { 'content-type': 'application/x-ndjson', authorization: `Bearer ${gateway}` } });
      assert.equal(res.status, 202);
      for (const a of ((await res.json()) as { accepted: { reportId: string }[] }).accepted) acked.add(a.reportId);
    }
    first.child.kill('SIGKILL');
    await first.stop();
    assert.ok(acked.size >= 1000, `only ${acked.size} reports acknowledged before the kill`);

    const second = startCli(args, env);
    try {
      await second.waitFor(/API http/);
      let rows: { report_id: string }[] = [];
      for (let i = 0; i < 150; i++) {
        await new Promise((r) => setTimeout(r, 200));
        const q = await runCli(['query', 'SELECT report_id FROM reports', '--format', 'json', '--limit', '10000000', '--data', tmp.dir]);
        if (q.code === 0) rows = JSON.parse(q.stdout) as { report_id: string }[];
        if (rows.length >= acked.size) break;
      }
      const ids = rows.map((r) => r.report_id);
      const inLake = new Set(ids);
      assert.equal(inLake.size, ids.length, 'no report twice in the lake');
      const missing = [...acked].filter((id) => !inLake.has(id));
      assert.deepEqual(missing, [], 'every acknowledged report is in the lake');
    } finally {
      assert.equal(await second.stop(), 0);
    }
    const alerts = await runCli(['query', 'SELECT count(*) AS n, count(DISTINCT alert_id) AS ids FROM alerts', '--format', 'json', '--data', tmp.dir]);
    const [a] = JSON.parse(alerts.stdout) as { n: number; ids: number }[];
    assert.ok(a!.n > 0);
    assert.equal(a!.n, a!.ids);
  });
});
