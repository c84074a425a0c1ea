/**
 * The escalator in distributed mode: two alert worker processes (each its own connection to the shared buckets, log
 * buckets over one embedded stream file as the Kafka backend keeps them) tick over the same pages at the same time,
 * and every escalation reaches the real receiver exactly once. Then the state survives a restart: pages written by
 * one process are escalated on time by a process started afterwards (the state is in the store, not in a timer).
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { Alert } from '../../src/alerts/types.ts';
import { LogKvStore, SqliteStream } from '../../src/backend/index.ts';
import type { NotifyConfig } from '../../src/notify/config.ts';
import { Escalator } from '../../src/notify/escalator.ts';
import { KvNotifyStore } from '../../src/notify/kv-store.ts';
import { NotificationRouter } from '../../src/notify/router.ts';
import { nextDue } from '../../src/notify/route.ts';
import type { NotifyStore } from '../../src/notify/store.ts';
import type { Page } from '../../src/notify/types.ts';
import { tempDir } from '../../src/testkit/index.ts';
import { startReceiver, type Receiver } from './receivers.ts';

const CONFIG: NotifyConfig = { minuteMs: 100, tickMs: 20, retentionHours: 24, maxDeliveries: 10_000, maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 50, allowedUrlPrefixes: [] };
const TENANT = 'paris';

function alertOf(id: string, raisedAt: number): Alert {
  return {
    alertId: id, tenant: TENANT, droneId: 'd1', citizen: 'Someone', score: 2, severity: 'critical', rule: 'score-below-threshold',
    position: { lat: 48.86, lon: 2.35 }, words: [], firstReportId: 'r', lastReportId: 'r', firstSeenTs: raisedAt, lastSeenTs: raisedAt,
    raisedAt, updatedAt: raisedAt, occurrences: 1, status: 'open', assignee: null, acknowledgedBy: null, acknowledgedAt: null, resolvedBy: null, resolvedAt: null, note: null,
  };
}

interface Worker { store: NotifyStore; router: NotificationRouter; escalator: Escalator; close(): Promise<void> }

describe('escalation with two alert workers on shared state', { timeout: 60_000 }, () => {
  const tmp = tempDir('dw-notify-esc-');
  const file = path.join(tmp.dir, 'stream.db');
  let receiver: Receiver;
  const alerts = new Map<string, Alert>();
  after(async () => {
    await receiver?.close();
    tmp.cleanup();
  });

  const worker = async (): Promise<Worker> => {
    const store = await KvNotifyStore.open({ store: new LogKvStore(await SqliteStream.open(file), { ownsStream: true }), tenant: TENANT, ownsStore: true, retentionMs: 3600_000, maxDeliveries: 10_000 });
    const router = new NotificationRouter({ store, config: CONFIG, defaultTargets: [], zonesOf: async () => new Map() });
    await router.start();
    const escalator = new Escalator({ store, router, alerts: { get: (id) => alerts.get(id) }, policyOf: (t) => store.current(t), config: CONFIG });
    return { store, router, escalator, async close() { await escalator.stop(); await router.close(); await store.close(); } };
  };

  const pageOf = (alertId: string, raisedAt: number, afterMinutes: number): Page => {
    const p: Page = { tenant: TENANT, subject: 'alert', subjectId: alertId, routeId: 'critical', route: { targets: ['desk'], escalate: [{ afterMinutes, targets: ['boss'] }] }, raisedAt, level: 0, repeats: 0, lastSentAt: raisedAt, nextAt: null, done: false };
    p.nextAt = nextDue(p, CONFIG.minuteMs);
    return p;
  };

  it('two workers ticking together send each escalation once', async () => {
    receiver = await startReceiver();
    const a = await worker();
    const b = await worker();
    try {
      await a.store.commit(TENANT, 0, { targets: [{ id: 'desk', url: receiver.url }, { id: 'boss', url: receiver.url }], routes: [{ id: 'critical', match: {}, targets: ['desk'], escalate: [{ afterMinutes: 1, targets: ['boss'] }] }] }, { author: 'lucie', reason: 'test' });
      const raisedAt = Date.now();
      const ids = Array.from({ length: 40 }, (_, i) => `a${String(i).padStart(15, '0')}`);
      for (const id of ids) {
        alerts.set(id, alertOf(id, raisedAt));
        assert.equal(await a.store.createPage(pageOf(id, raisedAt, 1)), true);
      }
      // Both copies hold every page before the race starts.
      for (let i = 0; i < 200 && (await b.store.duePages(Infinity, 100)).length < ids.length; i++) await new Promise((r) => setTimeout(r, 20));
      // A timer may fire a millisecond early: wait until the deadline has passed by the clock the escalator reads.
      while (Date.now() <= raisedAt + CONFIG.minuteMs) await new Promise((r) => setTimeout(r, raisedAt + CONFIG.minuteMs + 5 - Date.now()));
      const now = Date.now();
      const [sa, sb] = await Promise.all([a.escalator.tick(now), b.escalator.tick(now)]);
      assert.equal(sa + sb, ids.length, `every page escalated by one of them (a ${sa} ${JSON.stringify(a.escalator.stats)}, b ${sb} ${JSON.stringify(b.escalator.stats)}, due at a ${(await a.store.duePages(now, 100)).length}, b ${(await b.store.duePages(now, 100)).length}, now - raisedAt ${now - raisedAt})`);
      await a.router.flush(5000);
      await b.router.flush(5000);
      const got = receiver.got.map((g) => g.body.alert.alertId);
      assert.equal(got.length, ids.length, 'one request per alert');
      assert.deepEqual(new Set(got).size, ids.length, 'no alert escalated twice');
      assert.ok(a.escalator.stats.lostClaims + b.escalator.stats.lostClaims > 0 || sa === 0 || sb === 0, 'the workers did race for the pages');
      assert.deepEqual([await a.escalator.tick(Date.now()), await b.escalator.tick(Date.now())], [0, 0], 'nothing left due');
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('a worker started after the one that wrote the pages escalates them on time (state in the store)', async () => {
    receiver.got.length = 0;
    const first = await worker();
    const raisedAt = Date.now();
    const id = 'b000000000000001';
    alerts.set(id, alertOf(id, raisedAt));
    assert.equal(await first.store.createPage(pageOf(id, raisedAt, 5)), true);
    await first.close(); // the process that raised it is gone
    const second = await worker();
    try {
      second.escalator.start();
      const deadline = raisedAt + 5 * CONFIG.minuteMs;
      for (let i = 0; i < 300 && receiver.got.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(receiver.got.length, 1, 'escalated by the new process');
      const late = receiver.got[0]!.at - deadline;
      assert.ok(late >= 0 && late < 1000, `on time: ${late} ms after the deadline`);
      assert.equal(receiver.got[0]!.body.notification?.kind, 'escalation');
    } finally {
      await second.close();
    }
  });
  it('a route with repeatMinutes repeats to the targets reached until the alert is acknowledged', async () => {
    receiver.got.length = 0;
    const w = await worker();
    try {
      const raisedAt = Date.now();
      const id = 'c000000000000001';
      alerts.set(id, alertOf(id, raisedAt));
      const p: Page = { tenant: TENANT, subject: 'alert', subjectId: id, routeId: 'critical', route: { targets: ['desk'], repeatMinutes: 3 }, raisedAt, level: 0, repeats: 0, lastSentAt: raisedAt, nextAt: null, done: false };
      p.nextAt = nextDue(p, CONFIG.minuteMs);
      assert.equal(p.nextAt, raisedAt + 300);
      assert.equal(await w.store.createPage(p), true);
      w.escalator.start();
      for (let i = 0; i < 300 && receiver.got.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
      assert.deepEqual(receiver.got.map((g) => [g.body.notification?.kind, g.body.notification?.repeat]), [['repeat', 1], ['repeat', 2]]);
      const gap = receiver.got[1]!.at - receiver.got[0]!.at;
      assert.ok(gap >= 250 && gap < 800, `repeated every 3 minutes of 100 ms: ${gap} ms apart`);
      alerts.set(id, { ...alertOf(id, raisedAt), status: 'acknowledged' });
      await new Promise((r) => setTimeout(r, 700));
      assert.equal(receiver.got.length, 2, 'acknowledged: no more repeats');
      assert.deepEqual((await w.store.pages(TENANT, 'alert', id)).map((s) => [s.page.done, s.page.closed]), [[true, 'acknowledged']]);
    } finally {
      await w.close();
    }
  });
  it('a worker whose copy has not heard of the policy yet leaves the page due instead of consuming it', async () => {
    receiver.got.length = 0;
    const w = await worker();
    try {
      const raisedAt = Date.now() - 1000;
      const id = 'd000000000000001';
      alerts.set(id, alertOf(id, raisedAt));
      assert.equal(await w.store.createPage(pageOf(id, raisedAt, 1)), true);
      const blind = new Escalator({ store: w.store, router: w.router, alerts: { get: (x) => alerts.get(x) }, policyOf: async () => undefined, config: CONFIG });
      assert.equal(await blind.tick(), 0);
      assert.deepEqual((await w.store.pages(TENANT, 'alert', id)).map((s) => s.page.level), [0], 'not claimed');
      assert.equal(await w.escalator.tick(), 1, 'a worker with the policy escalates it');
      await w.router.flush(5000);
      assert.deepEqual(receiver.got.map((g) => g.body.alert.alertId), [id]);
    } finally {
      await w.close();
    }
  });
});
