/**
 * The shared alert state across processes (docs/alerts.md, "State in distributed mode"): two `alerts` workers and a
 * `serve` API as separate `dronewatch` processes on a real nats-server. The API lists the alerts the workers raised,
 * an officer's acknowledgement made through it is kept by the worker that applies the next sighting.
 * Skipped without nats-server >= 2.10 (fails with CI=true).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import type { Alert } from '../../src/alerts/index.ts';
import { natsServerOrSkip, spawnTsx } from '../../src/testkit/index.ts';
import { BIN, makeReports, startService, ProcessHarness, waitUntil, type Service } from './helpers.ts';

const skip = natsServerOrSkip();

describe('distributed mode: alert state shared by workers and the API', { skip, timeout: 90_000 }, () => {
  const h = new ProcessHarness('dw-alert-state-');

  before(() => h.open());
  after(() => h.close());
  const dir = (name: string): string[] => h.dir(name);
  const start = (...a: Parameters<typeof startService>): Promise<Service> => h.start(...a);

  it('serve lists the alerts raised by workers in other processes; an ack there is kept by the workers', async () => {
    // Authentication is not what this test is about (docs/security.md covers it); the API first, then both workers.
    const env = { DRONEWATCH_SECURITY__ENABLED: 'false' };
    const serve = await start('serve', [...dir('serve'), 'serve', '--port', '0'], /listening on http:\/\//, env);
    await Promise.all(['alerts-a', 'alerts-b'].map((name) => start(name, [...dir(name), 'alerts'], /alert consumer running/, env)));
    const base = /listening on (http:\/\/\S+)/.exec(serve.banner)?.[1];
    assert.ok(base, `serve banner names its address: ${serve.banner}`);
    const post = async (p: string, body: unknown): Promise<{ status: number; body: unknown }> => {
      const res = await fetch(`${base}${p}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: res.status, body: await res.json() };
    };
    const get = async <T>(p: string): Promise<T> => (await (await fetch(`${base}${p}`)).json()) as T;

    const { reports, low } = makeReports({ drones: 24, perDrone: 6, lowEvery: 7, prefix: 'kvs' });
    const sent = await post('/v1/reports', reports);
    assert.equal(sent.status, 202, `reports accepted: ${JSON.stringify(sent.body).slice(0, 300)}`);

    const listed = async (): Promise<Alert[]> => (await get<{ alerts: Alert[] }>('/v1/alerts?limit=1000')).alerts;
    await waitUntil(`serve to list ${low.size} alerts`, async () => (await listed()).length >= low.size, 30_000);
    const alerts = await listed();
    assert.deepEqual(alerts.map((a) => a.firstReportId).sort(), [...low].sort(), 'GET /v1/alerts lists every alert the workers raised, once');

    const target = alerts[0]!;
    const ack = await post(`/v1/alerts/${target.alertId}/ack`, { by: 'officer-7', note: 'en route' });
    assert.equal(ack.status, 200, `ack answered: ${JSON.stringify(ack.body)}`);
    assert.equal((ack.body as Alert).status, 'acknowledged');

    // The same citizen seen again by the same drone, 50 ms after the first sighting: a worker updates the alert.
    const again = { ...reports.find((r) => `${r.droneId}:${Date.parse(r.timestamp)}` === target.firstReportId)! };
    again.timestamp = new Date(target.firstSeenTs + 50).toISOString();
    assert.equal((await post('/v1/reports', [again])).status, 202);
    let current: Alert | undefined;
    await waitUntil('the sighting to update the acknowledged alert', async () => {
      current = await get<Alert>(`/v1/alerts/${target.alertId}`);
      return current.occurrences === 2;
    }, 20_000);
    assert.deepEqual([current!.status, current!.acknowledgedBy, current!.note], ['acknowledged', 'officer-7', 'en route'],
      'the worker in another process kept the acknowledgement');

    const from = new Date(Date.now() - 3600_000).toISOString();
    const rt = await get<{ alerts: number; toAcknowledge: { count: number } }>(`/v1/alerts/reaction-time?from=${encodeURIComponent(from)}`);
    assert.deepEqual([rt.alerts, rt.toAcknowledge.count], [low.size, 1], 'reaction times over the shared state');

    // The CLI reads the same shared state (another process again).
    const cli = spawnTsx(BIN, [...dir('cli'), 'alerts', 'list', '--limit', '1000', '--format', 'json'], { env: { ...process.env, DRONEWATCH_LOG_LEVEL: 'warn' } });
    const exit = await cli.exited;
    assert.equal(exit.code, 0, `alerts list exits with 0: ${cli.lines.join('\n').slice(0, 500)}`);
    const fromCli = JSON.parse(cli.lines.join('\n')) as { alert_id: string; status: string }[];
    assert.equal(fromCli.length, low.size, 'dronewatch alerts list shows every alert');
    assert.equal(fromCli.find((a) => a.alert_id === target.alertId)?.status, 'acknowledged');

    const codes = await h.stopAll();
    for (const [name, code] of codes) assert.equal(code, 0, `${name} exits with 0 after SIGINT`);
  });
});
