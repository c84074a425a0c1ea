import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { tempDir } from '../../src/testkit/index.ts';
import { runCli, startCli } from './helpers.ts';
import { createUser, firstAdmin, login } from './auth-helpers.ts';

/**
 * What `npm start` does, as a user sees it: the first administrator's password printed once, reports flow, alerts are
 * raised (seen by an officer the admin created, not by anonymous callers), the lake fills, Ctrl-C stops cleanly.
 */
describe('dronewatch up (npm start)', () => {
  const tmp = tempDir('dw-up-');
  after(() => tmp.cleanup());

  it('runs the whole platform in one process and stops cleanly on SIGINT', async () => {
    const up = startCli(['up', '--port', '0', '--data', tmp.dir, '--drones', '2000', '--speed', '120'], {
      DRONEWATCH_ARCHIVE__MAX_BATCH_AGE_MS: '500',
    });
    try {
      const [, url] = await up.waitFor(/API (http:\/\/127\.0\.0\.1:\d+)/);
      const health = await fetch(`${url}/health`);
      assert.equal(health.status, 200);
      assert.equal((await fetch(`${url}/v1/alerts`)).status, 401, 'no data without logging in');
      await up.waitFor(/password \S+/);
    const admin = await login(url!, ...Object.values(firstAdmin(up.output())) as [string, string]);
      assert.equal((await fetch(`${url}/v1/alerts`, { headers: admin.headers() })).status, 403, 'an admin sees no personal data');
      const officer = await login(url!, 'lucie', await createUser(url!, admin, 'lucie', 'supervisor'));
      // Live alerts arrive over SSE while the simulator runs.
      const res = await fetch(`${url}/v1/alerts/stream`, { headers: officer.headers() });
      const reader = res.body!.getReader();
      let text = '';
      const deadline = Date.now() + 30_000;
      while (!text.includes('event: raised') && Date.now() < deadline) {
        const chunk = await Promise.race([reader.read(), new Promise<null>((r) => setTimeout(() => r(null), 1000))]);
        if (chunk && !chunk.done) text += Buffer.from(chunk.value).toString();
      }
      await reader.cancel();
      assert.match(text, /event: raised/, 'an alert was pushed to the live feed');
      const open = (await (await fetch(`${url}/v1/alerts?status=open&limit=5`, { headers: officer.headers() })).json()) as { alerts: unknown[] };
      assert.ok(open.alerts.length > 0, 'open alerts listed for the officer');
    } finally {
      assert.equal(await up.stop(), 0, `exit code 0 after SIGINT; output:\n${up.output()}`);
    }
    assert.match(up.output(), /reports \d+ \| rejected 0 \| alerts \d+/);
    const ingested = Number(/reports (\d+) \| rejected/.exec(up.output().trim().split('\n').pop()!)![1]);
    assert.ok(ingested > 0, 'reports were ingested');
    // Stop flushed every buffered report: the lake holds exactly what was ingested.
    const q = await runCli(['query', 'SELECT count(*) AS n, count(DISTINCT report_id) AS ids FROM reports', '--format', 'json', '--data', tmp.dir]);
    assert.equal(q.code, 0, q.stderr);
    const [row] = JSON.parse(q.stdout) as { n: number; ids: number }[];
    assert.equal(row!.n, ingested);
    assert.equal(row!.ids, ingested);
  });
});
