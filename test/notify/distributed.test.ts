/**
 * Escalation in distributed mode end to end: two platforms on one NATS server, each running an alert worker (they
 * share the `reports` partitions and the JetStream KV state), one of them the HTTP API. Critical alerts raised by
 * either worker reach the policy's receiver once and escalate on time, once each, though both escalators look at
 * every page. Skipped with the reason when nats-server is missing.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { validateConfig } from '../../src/config/index.ts';
import { Platform } from '../../src/runtime/platform.ts';
import { natsServerOrSkip, startNatsServer, tempDir, type NatsTestServer } from '../../src/testkit/index.ts';
import { startReceiver, type Receiver } from './receivers.ts';

const skip = natsServerOrSkip();
const MINUTE_MS = 200;

describe('escalation with two alert workers on NATS (distributed mode)', { skip, timeout: 180_000 }, () => {
  const tmp = tempDir('dw-notify-dist-');
  let nats: NatsTestServer;
  const platforms: Platform[] = [];
  let desk: Receiver;
  let boss: Receiver;

  before(async () => {
    nats = await startNatsServer();
    desk = await startReceiver();
    boss = await startReceiver();
    for (const name of ['a', 'b']) {
      const p = await Platform.open(validateConfig({
        dataDir: path.join(tmp.dir, name), stream: { url: nats.url, partitions: 4 }, http: { port: 0, host: '127.0.0.1' },
        dashboard: { fleetLookbackSeconds: 0 }, security: { enabled: false },
        notifications: { minuteMs: MINUTE_MS, tickMs: 50 },
      }));
      await p.start(name === 'a' ? { alerts: true, http: 'api' } : { alerts: true });
      platforms.push(p);
    }
  });
  after(async () => {
    for (const p of platforms) await p.stop();
    await nats?.stop();
    await desk?.close();
    await boss?.close();
    tmp.cleanup();
  });

  it('every critical alert is notified once and escalated once, on time, whichever worker raised it', async (t) => {
    const api = platforms[0]!.address!;
    const put = await fetch(`${api}/v1/notification-policies`, {
      method: 'PUT', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        targets: [{ id: 'desk', url: desk.url }, { id: 'boss', url: boss.url }],
        routes: [{ id: 'critical', match: { severities: ['critical'] }, targets: ['desk'], escalate: [{ afterMinutes: 5, targets: ['boss'] }] }],
        reason: 'night shift',
      }),
    });
    assert.equal(put.status, 200, await put.text());
    const deadline = Date.now() + 10_000;
    while (!platforms.every((p) => p.notify!.router.policyOf('default')?.version === 1)) {
      assert.ok(Date.now() < deadline, 'both workers take up the policy');
      await new Promise((r) => setTimeout(r, 20));
    }
    const n = 12;
    const now = Date.now();
    const reports = Array.from({ length: n }, (_, i) => ({
      droneId: `drone-${i}`, timestamp: new Date(now - 1000).toISOString(), position: { lat: 48.86, lon: 2.35 }, citizens: [{ name: `Person ${i}`, score: 1 }], words: [],
    }));
    const posted = await fetch(`${api}/v1/reports`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(reports) });
    assert.equal(posted.status, 202, await posted.text());
    const until = Date.now() + 20_000;
    while (new Set(boss.got.map((g) => g.body.alert.alertId)).size < n) {
      assert.ok(Date.now() < until, `escalations: ${boss.got.length} of ${n}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => setTimeout(r, 10 * 50)); // ten more ticks of both escalators
    const ids = (r: Receiver): string[] => r.got.map((g) => g.body.alert.alertId);
    assert.equal(desk.got.length, n, 'one notification per alert');
    assert.equal(new Set(ids(desk)).size, n);
    assert.equal(boss.got.length, n, 'one escalation per alert, though two escalators saw every page');
    const raisedBy = platforms.map((p) => p.alertWorker!.stats().alertsRaised);
    assert.equal(raisedBy[0]! + raisedBy[1]!, n);
    const escalatedBy = platforms.map((p) => p.notify!.escalator!.stats.escalations);
    assert.equal(escalatedBy[0]! + escalatedBy[1]!, n);
    const lateness = boss.got.map((g) => g.at - (g.body.alert as unknown as { raisedAt: number }).raisedAt - 5 * MINUTE_MS);
    assert.ok(Math.min(...lateness) >= 0, `never early: ${lateness.join(', ')}`);
    assert.ok(Math.max(...lateness) < 1500, `on time: at most ${Math.max(...lateness)} ms late`);
    // For the report: who raised and who escalated (both should take part when partitions are shared).
    t.diagnostic(`raised by worker a/b: ${raisedBy.join('/')}, escalated by a/b: ${escalatedBy.join('/')}, lateness ms: min ${Math.min(...lateness)} max ${Math.max(...lateness)}`);
  });
});
