/**
 * Existing set-ups keep working: a tenant without a notification policy gets version 0, the configuration's
 * `alerts.webhooks`, which receive every alert event as before policies existed (now in the delivery log too). The
 * first policy written replaces them for that tenant.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Alert } from '../../src/alerts/types.ts';
import { signWebhookBody } from '../../src/alerts/webhooks.ts';
import { validateConfig } from '../../src/config/index.ts';
import type { Delivery } from '../../src/notify/types.ts';
import { Platform } from '../../src/runtime/platform.ts';
import { tempDir } from '../../src/testkit/index.ts';
import { startReceiver, type Receiver } from './receivers.ts';

describe("version 0: the configuration's alerts.webhooks", () => {
  const tmp = tempDir('dw-notify-v0-');
  let platform: Platform;
  let url: string;
  let legacy: Receiver;
  let desk: Receiver;
  let seq = 0;
  const json = async (p: string, init: RequestInit = {}): Promise<{ status: number; body: Record<string, unknown> }> => {
    const res = await fetch(`${url}${p}`, { ...init, headers: init.body ? { 'content-type': 'application/json' } : {} });
    return { status: res.status, body: await res.json() as Record<string, unknown> };
  };
  const until = async (what: string, cond: () => boolean | Promise<boolean>): Promise<void> => {
    const end = Date.now() + 10_000;
    while (!(await cond())) {
      if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const raise = async (score: number): Promise<Alert> => {
    const name = `Person ${++seq}`;
    const r = await fetch(`${url}/v1/reports`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ droneId: `d${seq}`, timestamp: new Date(Date.now() - 1000).toISOString(), position: { lat: 48.86, lon: 2.35 }, citizens: [{ name, score }], words: [] }) });
    assert.equal(r.status, 202);
    let a: Alert | undefined;
    await until('the alert', async () => (a = ((await json('/v1/alerts?limit=100')).body.alerts as Alert[]).find((x) => x.citizen === name)) !== undefined);
    return a!;
  };

  before(async () => {
    legacy = await startReceiver();
    desk = await startReceiver();
    platform = await Platform.open(validateConfig({
      dataDir: tmp.dir, http: { port: 0, host: '127.0.0.1' }, dashboard: { fleetLookbackSeconds: 0 }, security: { enabled: false },
      alerts: { webhooks: [{ url: legacy.url, secret: 's3cret' }] },
    }));
    await platform.start({ alerts: true, http: 'api' });
    url = platform.address!;
  });
  after(async () => {
    await platform?.stop();
    await legacy?.close();
    await desk?.close();
    tmp.cleanup();
  });

  it('every event of every kind goes to alerts.webhooks, signed as before, and each attempt is in the log', async () => {
    const v0 = (await json('/v1/notification-policies')).body;
    assert.deepEqual([v0.version, v0.targets], [0, [{ id: 'webhook-1', url: legacy.url, hasSecret: true, timeoutMs: 2000 }]]);
    const a = await raise(10);
    await until('raised', () => legacy.got.some((g) => g.body.alert.alertId === a.alertId));
    assert.equal((await json(`/v1/alerts/${a.alertId}/ack`, { method: 'POST', body: JSON.stringify({ by: 'lucie' }) })).status, 200);
    await until('acknowledged', () => legacy.got.some((g) => g.body.alert.alertId === a.alertId && g.body.type === 'acknowledged'));
    const got = legacy.got.filter((g) => g.body.alert.alertId === a.alertId);
    assert.deepEqual(got.map((g) => [g.body.type, g.body.notification]), [['raised', undefined], ['acknowledged', undefined]], 'plain alert events, as before');
    for (const g of got) assert.equal(g.headers['x-dronewatch-signature'], signWebhookBody('s3cret', JSON.stringify(g.body)));
    let log: Delivery[] = [];
    await until('two deliveries logged', async () => (log = (await json(`/v1/notifications/deliveries?alertId=${a.alertId}`)).body.deliveries as Delivery[]).length === 2);
    assert.deepEqual(log.map((d) => [d.kind, d.route, d.target, d.status]), [['event', 'default', 'webhook-1', 'delivered'], ['event', 'default', 'webhook-1', 'delivered']]);
  });

  it('the first policy replaces alerts.webhooks for the tenant', async () => {
    const put = await json('/v1/notification-policies', { method: 'PUT', body: JSON.stringify({ targets: [{ id: 'desk', url: desk.url }], routes: [{ id: 'all', targets: ['desk'] }], reason: 'policies now' }) });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    await until('v1 in force', () => platform.notify!.router.policyOf('default')?.version === 1);
    const before = legacy.got.length;
    const a = await raise(12);
    await until('the desk', () => desk.got.some((g) => g.body.alert.alertId === a.alertId));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(legacy.got.length, before, 'alerts.webhooks no longer called for this tenant');
  });
});
