import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { tempDir } from '../../src/testkit/index.ts';
import { runCli, startCli } from './helpers.ts';
import { firstAdmin, login, registerDrone } from './auth-helpers.ts';

/** The brief's set-up, one terminal per component: producer, alert consumer, archive consumer, API, sharing the stream. */
describe('components as separate processes', () => {
  const tmp = tempDir('dw-pipeline-');
  const data = ['--data', tmp.dir];
  after(() => tmp.cleanup());

  const json = async <T>(args: string[]): Promise<T> => {
    const r = await runCli([...args, '--format', 'json', ...data]);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as T;
  };

  it('simulate (backfill) -> alerts + archive processes -> lake and alert store; lifecycle and dead letters from the CLI', async () => {
    // 50 drones x 120 minutes = 6,000 reports.
    const sim = await runCli(['simulate', '--drones', '50', '--from', '2026-11-01T08:00:00Z', '--days', String(2 / 24), '--seed', '3', ...data]);
    assert.equal(sim.code, 0, sim.stderr);

    const alerts = startCli(['alerts', ...data]);
    const archive = startCli(['archive', ...data], { DRONEWATCH_ARCHIVE__MAX_BATCH_AGE_MS: '300' });
    try {
      await alerts.waitFor(/alert consumer running/);
      await archive.waitFor(/archive consumer running/);
      let n = 0;
      for (let i = 0; i < 200 && n < 6000; i++) {
        await new Promise((r) => setTimeout(r, 200));
        const r = await runCli(['query', 'SELECT count(*) AS n FROM reports', '--format', 'json', ...data]);
        if (r.code === 0) n = (JSON.parse(r.stdout) as { n: number }[])[0]!.n;
      }
      assert.equal(n, 6000);
    } finally {
      assert.equal(await alerts.stop(), 0);
      assert.equal(await archive.stop(), 0);
    }
    const [stats] = await json<{ n: number; ids: number; drones: number; first: string }[]>(['query', "SELECT count(*) AS n, count(DISTINCT report_id) AS ids, count(DISTINCT drone_id) AS drones, strftime(min(ts), '%Y-%m-%dT%H:%M') AS first FROM reports"]);
    assert.deepEqual(stats, { n: 6000, ids: 6000, drones: 50, first: '2026-11-01T08:00' });

    // Alerts expected from the lake itself: one per sighting below 20 at most (the dedup window merges repeats).
    const [{ low } = { low: 0 }] = await json<{ low: number }[]>(['query', 'SELECT count(*) AS low FROM (SELECT unnest(citizens) AS c FROM reports) WHERE c.score < 20']);
    const list = await json<{ alert_id: string; status: string; score: number }[]>(['alerts', 'list', '--limit', '1000']);
    assert.ok(low > 0 && list.length > 0 && list.length <= low, `${list.length} alerts for ${low} low-score sightings`);
    assert.ok(list.every((a) => a.score < 20 && a.status === 'open'));

    const id = list[0]!.alert_id;
    // Another force's view from the host: none of these alerts, and none of them can be changed (regression: the CLI
    // changed any alert whatever --tenant said).
    assert.deepEqual(await json<unknown[]>(['alerts', 'list', '--tenant', 'lyon']), [], 'tenant lyon has no alert');
    const foreign = await runCli(['alerts', 'ack', id, '--by', 'officer.martin', '--tenant', 'lyon', ...data]);
    assert.equal(foreign.code, 2, foreign.stderr);
    assert.match(foreign.stderr, /DW_ALERT_NOT_FOUND/);
    const ack = await runCli(['alerts', 'ack', id, '--by', 'officer.martin', ...data]);
    assert.equal(ack.code, 0, ack.stderr);
    assert.match(ack.stdout, new RegExp(`${id}: acknowledged`));
    const again = await runCli(['alerts', 'ack', id, '--by', 'officer.martin', ...data]);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /DW_ALERT_BAD_TRANSITION/);
    const resolved = await runCli(['alerts', 'resolve', id, '--by', 'officer.martin', '--note', 'checked', ...data]);
    assert.match(resolved.stdout, /resolved/);
    // Reading and changing alerts from the host is audited like the API, under the OS account.
    const trail = await json<{ actor: string; action: string; target: string | null }[]>(['audit', 'list', '--limit', '1000']);
    for (const action of ['alert.list', 'alert.acknowledge', 'alert.resolve']) {
      assert.ok(trail.some((e) => e.action === action && e.actor.startsWith('cli:')), `${action} by the CLI is in the audit log: ${JSON.stringify(trail)}`);
    }
  });

  it('serve: HTTP ingestion from another process, rejected reports listed by `dead-letters`', async () => {
    const serve = startCli(['serve', '--port', '0', ...data]);
    try {
      const [, url] = await serve.waitFor(/listening on (http:\/\/\S+)/);
      await serve.waitFor(/password/);
      const admin = await login(url!, ...Object.values(firstAdmin(serve.output())) as [string, string]);
      const d1 = await registerDrone(url!, admin, 'd1');
      const bad = '{"droneId":"d1","timestamp":"2026-11-28T00:00:00Z","position":{"lat":95,"lon":2},"citizens":[],"words":[]}';
      assert.equal((await fetch(`${url}/v1/reports`, { method: 'POST', body: bad, headers: { 'content-type': 'application/json' } })).status, 401, 'no credential, no ingestion');
      const res = await fetch(`${url}/v1/reports`, { method: 'POST', body: bad, headers: { 'content-type': 'application/json', authorization: `Bearer ${d1}` } });
      assert.equal(res.status, 400);
      assert.match(((await res.json()) as { message: string }).message, /position\.lat: must be <= 90/);
    } finally {
      assert.equal(await serve.stop(), 0);
    }
    const letters = await json<{ reason: string; raw: string; source: string }[]>(['dead-letters']);
    assert.equal(letters.length, 1);
    assert.match(letters[0]!.reason, /position\.lat: must be <= 90/);
    assert.match(letters[0]!.raw, /"lat":95/);
    assert.match(letters[0]!.source, /^http:/);
  });
});
