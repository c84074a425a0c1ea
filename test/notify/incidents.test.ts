/**
 * Incident routes on a running embedded platform with a real receiver: a gathering's alerts make one notification
 * (the incident's), sent when the incident reaches the route's severity; unacknowledged, the incident escalates on
 * time, once; an incident acknowledged before its deadline does not, and the acknowledgement is sent. A policy
 * "minute" is 200 ms (notifications.minuteMs); an incident of 3 citizens is critical (incidents.criticalCitizens).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { validateConfig } from '../../src/config/index.ts';
import type { Incident } from '../../src/incidents/types.ts';
import type { Delivery } from '../../src/notify/types.ts';
import { Platform } from '../../src/runtime/platform.ts';
import { tempDir } from '../../src/testkit/index.ts';
import { startReceiver, type Receiver } from './receivers.ts';

const MINUTE_MS = 200;

describe('incident routes: one notification per gathering, escalated while the incident is open', () => {
  const tmp = tempDir('dw-notify-inc-');
  let platform: Platform;
  let url: string;
  let desk: Receiver;
  let boss: Receiver;
  let seq = 0;
  const json = async (p: string, init: RequestInit = {}): Promise<{ status: number; body: Record<string, unknown> }> => {
    const res = await fetch(`${url}${p}`, { ...init, headers: init.body ? { 'content-type': 'application/json' } : {} });
    return { status: res.status, body: await res.json() as Record<string, unknown> };
  };
  const until = async (what: string, cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> => {
    const end = Date.now() + ms;
    while (!(await cond())) {
      if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  /** One report of `n` citizens (warning scores) at a spot; resolves once their alerts joined an incident. */
  const gather = async (droneId: string, lat: number, n: number): Promise<Incident> => {
    const citizens = Array.from({ length: n }, () => ({ name: `Person ${++seq}`, score: 10 }));
    const r = await fetch(`${url}/v1/reports`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ droneId, timestamp: new Date(Date.now() - 1000).toISOString(), position: { lat, lon: 2.35 }, citizens, words: [] }) });
    assert.equal(r.status, 202);
    let inc: Incident | undefined;
    await until('the incident', async () => {
      inc = ((await json('/v1/incidents?limit=50')).body.incidents as Incident[]).find((i) => Math.abs(i.centroid.lat - lat) < 0.001 && i.alertCount >= n);
      return inc !== undefined;
    });
    return inc!;
  };
  const of = (r: Receiver, incidentId: string): string[] => r.got.filter((g) => (g.body as unknown as { incident?: Incident }).incident?.incidentId === incidentId).map((g) => g.body.notification!.kind);

  before(async () => {
    desk = await startReceiver();
    boss = await startReceiver();
    platform = await Platform.open(validateConfig({
      dataDir: tmp.dir, http: { port: 0, host: '127.0.0.1' }, dashboard: { fleetLookbackSeconds: 0 }, security: { enabled: false },
      notifications: { minuteMs: MINUTE_MS, tickMs: 50 }, incidents: { criticalCitizens: 3 },
    }));
    await platform.start({ alerts: true, http: 'api' });
    url = platform.address!;
    const put = await json('/v1/notification-policies', { method: 'PUT', body: JSON.stringify({
      targets: [{ id: 'desk', url: desk.url }, { id: 'boss', url: boss.url }],
      routes: [{ id: 'gatherings', subject: 'incident', match: { severities: ['critical'] }, targets: ['desk'], escalate: [{ afterMinutes: 10, targets: ['boss'] }] }],
      reason: 'gatherings only',
    }) });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    await until('the policy in force', () => platform.notify!.router.policyOf('default')?.version === 1);
  });
  after(async () => {
    await platform?.stop();
    await desk?.close();
    await boss?.close();
    tmp.cleanup();
  });

  it('refuses an incident route matching rules, naming the field', async () => {
    const bad = await json('/v1/notification-policies', { method: 'PUT', body: JSON.stringify({ targets: [{ id: 'desk', url: desk.url }], routes: [{ id: 'x', subject: 'incident', match: { rules: ['score-below-threshold'] }, targets: ['desk'] }], reason: 'x' }) });
    assert.deepEqual([bad.status, bad.body.code, (bad.body.errors as { field: string }[]).map((e) => e.field)], [400, 'DW_NOTIFY_INVALID', ['routes[0].match.rules']]);
  });

  it('a gathering is notified once, when it becomes critical, and escalates on time once', async (t) => {
    const first = await gather('d-gather', 48.86, 1);
    assert.equal(first.severity, 'warning');
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(of(desk, first.incidentId), [], 'a warning incident matches no route');
    const inc = await gather('d-gather', 48.86, 2);
    assert.equal(inc.incidentId, first.incidentId, 'the second report joined the same incident');
    assert.equal(inc.severity, 'critical');
    await until('the desk', () => of(desk, inc.incidentId).length === 1);
    await until('the escalation', () => of(boss, inc.incidentId).length === 1);
    const esc = boss.got.find((g) => (g.body as unknown as { incident?: Incident }).incident?.incidentId === inc.incidentId)!;
    const late = esc.at - (inc.openedAt + 10 * MINUTE_MS);
    t.diagnostic(`incident escalation received ${late} ms after its deadline`);
    assert.ok(late >= 0 && late < 1500, `on time: ${late} ms after the deadline`);
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual([of(desk, inc.incidentId), of(boss, inc.incidentId)], [['notify'], ['escalation']], 'one notification for three alerts, one escalation');
    assert.equal(desk.got.filter((g) => (g.body as unknown as { alert?: unknown }).alert !== undefined).length, 0, 'no alert notifications: the policy routes incidents only');
    const log = (await json(`/v1/notifications/deliveries?incidentId=${inc.incidentId}`)).body.deliveries as Delivery[];
    assert.deepEqual(log.map((d) => [d.kind, d.target, d.status, d.incidentId, d.alertId]).sort(), [['escalation', 'boss', 'delivered', inc.incidentId, undefined], ['notify', 'desk', 'delivered', inc.incidentId, undefined]]);
  });

  it('an incident acknowledged before its deadline does not escalate; the acknowledgement is sent', async () => {
    const inc = await gather('d-other', 48.80, 3);
    assert.equal(inc.severity, 'critical');
    await until('the desk', () => of(desk, inc.incidentId).length === 1);
    const ack = await json(`/v1/incidents/${inc.incidentId}/ack`, { method: 'POST', body: JSON.stringify({ by: 'lucie' }) });
    assert.equal(ack.status, 200, JSON.stringify(ack.body));
    assert.ok(Date.now() < inc.openedAt + 10 * MINUTE_MS, 'acknowledged before the deadline');
    await until('the acknowledgement', () => of(desk, inc.incidentId).includes('acknowledged'));
    await new Promise((r) => setTimeout(r, Math.max(0, inc.openedAt + 10 * MINUTE_MS + 500 - Date.now())));
    assert.deepEqual(of(boss, inc.incidentId), [], 'no escalation');
  });
});
