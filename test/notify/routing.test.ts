/**
 * Notification policies on a running embedded platform with authentication on, as `dronewatch up` runs it, with real
 * HTTP receivers on loopback: routing by severity and zone reaches the right receiver and only it; an unacknowledged
 * critical alert escalates on time, an acknowledged one does not; a failing receiver is retried and the delivery log
 * shows each attempt; a silenced alert is sent nowhere; tenants never get each other's alerts nor see each other's
 * policies or logs; a policy change reaches the running worker without restart. A policy "minute" is 200 ms here
 * (notifications.minuteMs), so an escalation after 10 minutes is due 2 s after the alert was raised.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Alert } from '../../src/alerts/types.ts';
import { validateConfig } from '../../src/config/index.ts';
import { renderMetrics } from '../../src/metrics/index.ts';
import type { Delivery } from '../../src/notify/types.ts';
import { Platform } from '../../src/runtime/platform.ts';
import { tempDir } from '../../src/testkit/index.ts';
import { CITE, INSIDE, OUTSIDE } from '../rules/fixtures/zones.ts';
import { startReceiver, type Receiver } from './receivers.ts';

const FAST = { log2N: 10, r: 8, p: 1 };
const MINUTE_MS = 200;
const TICK_MS = 50;
const NOW = Math.floor(Date.now() / 1000) * 1000 - 60_000;

describe('notification routing and escalation over HTTP (issue 19, item 4)', () => {
  const tmp = tempDir('dw-notify-api-');
  let platform: Platform;
  let url: string;
  const tok: Record<string, string> = {};
  const rx: Record<'crit' | 'zone' | 'esc' | 'flaky' | 'lyon', Receiver> = {} as never;
  let seq = 0;

  const req = (who: string, p: string, init: RequestInit = {}): Promise<Response> =>
    fetch(`${url}${p}`, { ...init, headers: { authorization: `Bearer ${tok[who]}`, ...(init.body ? { 'content-type': 'application/json' } : {}) } });
  const send = async (who: string, method: string, p: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> => {
    const res = await req(who, p, { method, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const text = await res.text();
    assert.ok(!/\n\s+at /.test(text), `no stack trace: ${text}`);
    return { status: res.status, body: text ? JSON.parse(text) as Record<string, unknown> : {} };
  };
  /** Posts a report of one citizen; resolves with its alert once the platform raised it. */
  const raise = async (drone: 'paris' | 'lyon', droneId: string, pos: { lat: number; lon: number }, score: number): Promise<Alert> => {
    const name = `Citizen ${++seq}`;
    const res = await req(`drone-${drone}`, '/v1/reports', { method: 'POST', body: JSON.stringify({ droneId, timestamp: new Date(NOW + seq * 1000).toISOString(), position: pos, citizens: [{ name, score }], words: [] }) });
    assert.equal(res.status, 202, await res.text());
    let found: Alert | undefined;
    await until(`the alert of ${name}`, async () => {
      found = ((await send(`${drone}-supervisor`, 'GET', '/v1/alerts?limit=200')).body.alerts as Alert[]).find((a) => a.citizen === name);
      return found !== undefined;
    });
    return found!;
  };
  const until = async (what: string, cond: () => Promise<boolean> | boolean, ms = 10_000): Promise<void> => {
    const end = Date.now() + ms;
    while (!(await cond())) {
      if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const of = (r: Receiver, alertId: string): string[] => r.got.filter((g) => g.body.alert.alertId === alertId).map((g) => g.body.notification?.kind ?? g.body.type);
  const deliveries = async (who: string, q: string): Promise<Delivery[]> => {
    const r = await send(who, 'GET', `/v1/notifications/deliveries?${q}`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body.deliveries as Delivery[];
  };
  const policy = (critTarget: string) => ({
    targets: [
      { id: 'crit', url: rx.crit.url, secret: 'crit-secret' },
      { id: 'zone', url: rx.zone.url },
      { id: 'esc', url: rx.esc.url },
      { id: 'flaky', url: rx.flaky.url },
    ],
    routes: [
      { id: 'critical', match: { severities: ['critical'] }, targets: [critTarget], escalate: [{ afterMinutes: 10, targets: ['esc'] }] },
      { id: 'cite', match: { zones: ['cite'] }, targets: ['zone'] },
      { id: 'warnings', match: { severities: ['warning'] }, targets: ['flaky'] },
    ],
  });

  before(async () => {
    for (const k of ['crit', 'zone', 'esc', 'flaky', 'lyon'] as const) rx[k] = await startReceiver();
    platform = await Platform.open(validateConfig({
      dataDir: tmp.dir, tenant: 'paris', http: { port: 0, host: '127.0.0.1' }, dashboard: { fleetLookbackSeconds: 0 },
      notifications: { minuteMs: MINUTE_MS, tickMs: TICK_MS, baseDelayMs: 20, maxDelayMs: 100 },
    }), { scrypt: FAST });
    await platform.start({ alerts: true, http: 'api' });
    url = platform.address!;
    const sec = platform.security!;
    platform.takeBootstrapCredential();
    await sec.createTenant('lyon');
    for (const [tenant, role] of [['paris', 'officer'], ['paris', 'supervisor'], ['lyon', 'supervisor']] as const) {
      const name = `${tenant}-${role}`;
      await sec.createUser({ tenant, username: name, roles: [role], password: 'a-long-password-1' });
      tok[name] = (await sec.createApiToken(name, 'test')).token;
    }
    tok['drone-paris'] = (await sec.registerDrone('paris', '*')).token;
    tok['drone-lyon'] = (await sec.registerDrone('lyon', '*')).token;
  });
  after(async () => {
    await platform?.stop();
    for (const r of Object.values(rx)) await r?.close();
    tmp.cleanup();
  });

  it('supervisors write a policy (version 1 after the configuration\'s 0), officers may not; secrets are never shown; invalid policies name the field', async () => {
    const v0 = await send('paris-supervisor', 'GET', '/v1/notification-policies');
    assert.deepEqual([v0.status, v0.body.version, v0.body.routes], [200, 0, []], 'no alerts.webhooks configured: version 0 routes nothing');
    assert.equal((await send('paris-officer', 'GET', '/v1/notification-policies')).status, 403);
    assert.equal((await send('paris-officer', 'PUT', '/v1/notification-policies', { ...policy('crit'), reason: 'x' })).status, 403);
    const zones = await send('paris-supervisor', 'PUT', '/v1/rules/near-cite', { rule: { kind: 'score', threshold: 20, criticalThreshold: 5, zone: 'cite' }, zones: [{ id: 'cite', geometry: CITE }], reason: 'the zone routes name' });
    assert.equal(zones.status, 200, JSON.stringify(zones.body));
    const bad = await send('paris-supervisor', 'PUT', '/v1/notification-policies', { ...policy('crit'), routes: [{ id: 'r', targets: ['nobody'], escalate: [{ afterMinutes: 5, targets: ['crit'] }, { afterMinutes: 2, targets: ['crit'] }] }], reason: 'bad' });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.code, 'DW_NOTIFY_INVALID');
    assert.deepEqual((bad.body.errors as { field: string }[]).map((e) => e.field).sort(), ['routes[0].escalate[1].afterMinutes', 'routes[0].targets[0]']);
    const v1 = await send('paris-supervisor', 'PUT', '/v1/notification-policies', { ...policy('crit'), reason: 'night shift', baseVersion: 0 });
    assert.equal(v1.status, 200, JSON.stringify(v1.body));
    assert.equal(v1.body.version, 1);
    const crit = (v1.body.targets as { id: string; hasSecret: boolean; secret?: string }[]).find((t) => t.id === 'crit')!;
    assert.deepEqual([crit.hasSecret, crit.secret], [true, undefined]);
    assert.ok(!JSON.stringify(v1.body).includes('crit-secret'));
    const again = await send('paris-supervisor', 'PUT', '/v1/notification-policies', { ...policy('crit'), reason: 'late', baseVersion: 0 });
    assert.deepEqual([again.status, again.body.code], [409, 'DW_NOTIFY_CONFLICT']);
    const audited = platform.audit!.list({ action: 'notify.change', tenant: 'paris', limit: 10 });
    assert.ok(audited.some((e) => (e.details as { reason?: string }).reason === 'night shift'), 'the change is audited');
    assert.ok(!JSON.stringify(audited).includes('crit-secret'), 'the audit log never holds a secret');
    await until('v1 in force in the router', () => platform.notify!.router.policyOf('paris')?.version === 1);
  });

  it('a critical alert reaches the critical route\'s receiver only, signed; unacknowledged, it escalates on time, once', async (t) => {
    const a = await raise('paris', 'd-crit', OUTSIDE, 2);
    assert.equal(a.severity, 'critical');
    await until('the critical receiver', () => of(rx.crit, a.alertId).length === 1);
    assert.match(String(rx.crit.got.find((g) => g.body.alert.alertId === a.alertId)!.headers['x-dronewatch-signature']), /^sha256=[0-9a-f]{64}$/);
    await until('the escalation', () => of(rx.esc, a.alertId).length === 1, 10_000);
    const esc = rx.esc.got.find((g) => g.body.alert.alertId === a.alertId)!;
    const late = esc.at - (a.raisedAt + 10 * MINUTE_MS);
    t.diagnostic(`escalation received ${late} ms after its deadline`);
    assert.ok(late >= 0, `not before its deadline (${late} ms)`);
    assert.ok(late < 1500, `on time: ${late} ms after the deadline (tick ${TICK_MS} ms)`);
    assert.deepEqual(esc.body.notification, { kind: 'escalation', route: 'critical', policyVersion: 1, level: 1 });
    await new Promise((r) => setTimeout(r, 6 * TICK_MS));
    assert.deepEqual([of(rx.esc, a.alertId), of(rx.zone, a.alertId), of(rx.flaky, a.alertId)], [['escalation'], [], []], 'once, and nobody else');
    const log = await deliveries('paris-officer', `alertId=${a.alertId}`);
    assert.deepEqual(log.map((d) => [d.kind, d.target, d.status]).sort(), [['escalation', 'esc', 'delivered'], ['notify', 'crit', 'delivered']]);
  });

  it('acknowledging before the deadline stops the escalation; the acknowledgement is sent where the alert went', async () => {
    const a = await raise('paris', 'd-ack', OUTSIDE, 3);
    const ack = await send('paris-officer', 'POST', `/v1/alerts/${a.alertId}/ack`, {});
    assert.equal(ack.status, 200, JSON.stringify(ack.body));
    assert.ok(Date.now() < a.raisedAt + 10 * MINUTE_MS, 'acknowledged before the deadline');
    await until('the acknowledgement notice', () => of(rx.crit, a.alertId).includes('acknowledged'));
    await new Promise((r) => setTimeout(r, a.raisedAt + 10 * MINUTE_MS + 8 * TICK_MS - Date.now()));
    assert.deepEqual(of(rx.esc, a.alertId), [], 'no escalation after the deadline');
    assert.deepEqual(of(rx.crit, a.alertId).sort(), ['acknowledged', 'notify']);
  });

  it('a warning inside the zone goes to the zone route only; outside, to the warnings route', async () => {
    const inside = await raise('paris', 'd-zone', INSIDE, 10);
    const outside = await raise('paris', 'd-warn', OUTSIDE, 12);
    assert.deepEqual([inside.severity, outside.severity], ['warning', 'warning']);
    await until('both delivered', () => of(rx.zone, inside.alertId).length === 1 && of(rx.flaky, outside.alertId).length === 1);
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual([of(rx.crit, inside.alertId), of(rx.flaky, inside.alertId), of(rx.esc, inside.alertId)], [[], [], []]);
    assert.deepEqual([of(rx.crit, outside.alertId), of(rx.zone, outside.alertId)], [[], []]);
  });

  it('a failing receiver is retried, and the delivery log shows each attempt', async () => {
    rx.flaky.failNext(2, 503);
    const a = await raise('paris', 'd-flaky', OUTSIDE, 14);
    await until('delivered at last', () => of(rx.flaky, a.alertId).length === 1);
    let log: Delivery[] = [];
    await until('three attempts logged', async () => (log = await deliveries('paris-officer', `alertId=${a.alertId}`)).length === 3);
    assert.deepEqual(log.map((d) => [d.attempt, d.status, d.httpStatus ?? null, d.target, d.route]).reverse(), [
      [1, 'retrying', 503, 'flaky', 'warnings'], [2, 'retrying', 503, 'flaky', 'warnings'], [3, 'delivered', null, 'flaky', 'warnings'],
    ]);
    assert.deepEqual((await deliveries('paris-officer', `alertId=${a.alertId}&status=retrying`)).length, 2);
    assert.ok(!JSON.stringify(log).includes(a.citizen), 'no citizen name in the log');
    const metrics = await renderMetrics();
    assert.match(metrics, /dronewatch_notifications_delivered_total\{tenant="paris",target="flaky"\} \d+/);
    assert.match(metrics, /dronewatch_notifications_escalated_total\{tenant="paris"\} 1/);
  });

  it('a silenced alert is sent to no route', async () => {
    const s = await send('paris-supervisor', 'POST', '/v1/silences', { match: { kind: 'drone', value: 'd-quiet' }, endsAt: new Date(Date.now() + 3600_000).toISOString(), reason: 'test flight' });
    assert.equal(s.status, 201);
    await new Promise((r) => setTimeout(r, 500)); // the worker's rule book polls rules.db every 250 ms
    const a = await raise('paris', 'd-quiet', OUTSIDE, 1);
    assert.equal(typeof a.silenced, 'string');
    await new Promise((r) => setTimeout(r, 10 * MINUTE_MS + 10 * TICK_MS));
    for (const r of Object.values(rx)) assert.deepEqual(of(r, a.alertId), []);
    assert.deepEqual(await deliveries('paris-officer', `alertId=${a.alertId}`), []);
  });

  it('tenants are apart: lyon\'s policy and log are its own, and neither gets the other\'s alerts', async () => {
    assert.equal((await send('lyon-supervisor', 'GET', '/v1/notification-policies')).body.version, 0);
    const lv = await send('lyon-supervisor', 'PUT', '/v1/notification-policies', { targets: [{ id: 'crit', url: rx.lyon.url }], routes: [{ id: 'all', targets: ['crit'] }], reason: 'lyon desk' });
    assert.equal(lv.status, 200, JSON.stringify(lv.body));
    assert.equal((await send('paris-supervisor', 'GET', '/v1/notification-policies')).body.version, 1, "paris's policy unchanged");
    await until('lyon v1 in force', () => platform.notify!.router.policyOf('lyon')?.version === 1);
    const lyon = await raise('lyon', 'l-1', OUTSIDE, 2);
    const paris = await raise('paris', 'd-iso', OUTSIDE, 2);
    await until('each to its own', () => of(rx.lyon, lyon.alertId).length === 1 && of(rx.crit, paris.alertId).length === 1);
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(rx.lyon.got.map((g) => g.body.alert.tenant).filter((t) => t !== 'lyon'), [], 'lyon\'s receiver got only lyon\'s alerts');
    for (const k of ['crit', 'zone', 'esc', 'flaky'] as const) assert.deepEqual(rx[k].got.map((g) => g.body.alert.tenant).filter((t) => t !== 'paris'), [], `${k} got only paris's alerts`);
    assert.deepEqual((await deliveries('lyon-supervisor', '')).map((d) => d.alertId), [lyon.alertId], "lyon's log holds lyon's alert only");
    assert.ok(!(await deliveries('paris-officer', 'limit=1000')).some((d) => d.alertId === lyon.alertId));
  });

  it('a policy change reaches the running worker without restart', async () => {
    const v2 = await send('paris-supervisor', 'PUT', '/v1/notification-policies', { ...policy('zone'), targets: policy('zone').targets.map(({ secret: _s, ...t }) => t), reason: 'critical to the zone desk', baseVersion: 1 });
    assert.equal(v2.status, 200, JSON.stringify(v2.body));
    assert.equal((v2.body.targets as { id: string; hasSecret: boolean }[]).find((t) => t.id === 'crit')!.hasSecret, true, 'a target sent back without its secret keeps it');
    await until('v2 in force', () => platform.notify!.router.policyOf('paris')?.version === 2);
    const a = await raise('paris', 'd-v2', OUTSIDE, 2);
    await until('the zone desk', () => of(rx.zone, a.alertId).length === 1);
    assert.deepEqual(of(rx.crit, a.alertId), []);
    assert.equal(rx.zone.got.find((g) => g.body.alert.alertId === a.alertId)!.body.notification!.policyVersion, 2);
    const versions = (await send('paris-supervisor', 'GET', '/v1/notification-policies/versions')).body.versions as { version: number }[];
    assert.deepEqual(versions.map((v) => v.version), [0, 1, 2]);
  });
});
