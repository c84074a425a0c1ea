/**
 * What every NotifyStore must do (SQLite notify.db, the shared buckets on JetStream KV and on Kafka-style log
 * buckets), through the interface only. Two stores opened on the same place stand for two processes.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { NotifyStore } from '../../src/notify/store.ts';
import type { Delivery, NotificationPolicy, Page, PolicyVersion } from '../../src/notify/types.ts';
import { dwCode, eventually, withStores, type StoreFixture } from '../backend/store-fixtures.ts';

const POLICY = (url: string): NotificationPolicy => ({ targets: [{ id: 'desk', url }], routes: [{ id: 'all', match: {}, targets: ['desk'] }] });
const PAGE = (tenant: string, alertId: string, nextAt: number | null): Page => ({
  tenant, subject: 'alert', subjectId: alertId, routeId: 'crit:1', route: { targets: ['desk'], escalate: [{ afterMinutes: 5, targets: ['desk'] }] },
  raisedAt: 1_000, level: 0, repeats: 0, lastSentAt: 1_000, nextAt, done: false,
});

export function runNotifyStoreConformance(name: string, fixture: () => Promise<StoreFixture<NotifyStore>>): void {
  describe(`notify store conformance: ${name}`, { timeout: 60_000 }, () => {
    it('policy versions are append-only and checked; a follower in another process hears of a new one', () => withStores(fixture, 2, async ([a, b], tenant) => {
      const heard: PolicyVersion[] = [];
      const following = await b.follow((v) => heard.push(v));
      assert.equal(await a.current(tenant), undefined);
      const v1 = await a.commit(tenant, 0, POLICY('http://127.0.0.1:1/a'), { author: 'lucie', reason: 'first' });
      assert.deepEqual([v1.version, v1.author, v1.tenant], [1, 'lucie', tenant]);
      await assert.rejects(b.commit(tenant, 0, POLICY('http://127.0.0.1:1/b'), { author: 'marc', reason: 'also first' }), dwCode('DW_NOTIFY_CONFLICT'));
      await assert.rejects(a.commit(tenant, 4, POLICY('http://127.0.0.1:1/b'), { author: 'marc', reason: 'gap' }), dwCode('DW_NOTIFY_CONFLICT'));
      await eventually('b hears of v1', () => heard.map((v) => v.version), (v) => v.includes(1));
      await eventually('b reads v1', () => b.current(tenant), (v) => v?.version === 1);
      await b.commit(tenant, 1, POLICY('http://127.0.0.1:1/c'), { author: 'marc', reason: 'second' });
      const all = await eventually('a sees both', () => a.versions(tenant), (v) => v.length === 2);
      assert.deepEqual(all.map((v) => [v.version, v.targets[0]!.url]), [[1, 'http://127.0.0.1:1/a'], [2, 'http://127.0.0.1:1/c']]);
      following.stop();
    }));

    it('a page is created once and claimed by compare-and-set: of two processes updating the same revision, one wins', () => withStores(fixture, 2, async ([a, b], tenant) => {
      assert.equal(await a.createPage(PAGE(tenant, 'aaaa000000000001', 5_000)), true);
      assert.equal(await b.createPage(PAGE(tenant, 'aaaa000000000001', 5_000)), false, 'a redelivered raise does not open a second page');
      assert.equal(await a.createPage(PAGE(tenant, 'aaaa000000000002', null)), true);
      assert.deepEqual((await a.duePages(4_999, 10)).length, 0, 'not due before its time');
      const dueA = await a.duePages(5_000, 10);
      const dueB = await eventually('b sees the page due', () => b.duePages(5_000, 10), (d) => d.length === 1);
      assert.deepEqual([dueA.length, dueA[0]!.page.subjectId], [1, 'aaaa000000000001'], 'a page with nothing scheduled is never due');
      const claimA = a.updatePage({ ...dueA[0]!.page, level: 1, nextAt: null }, dueA[0]!.revision);
      const claimB = b.updatePage({ ...dueB[0]!.page, level: 1, nextAt: null }, dueB[0]!.revision);
      const won = await Promise.all([claimA, claimB]);
      assert.deepEqual(won.filter(Boolean).length, 1, `exactly one claim wins: ${JSON.stringify(won)}`);
      const pages = await eventually('the winner\'s write is read back', () => a.pages(tenant, 'alert', 'aaaa000000000001'), (p) => p[0]?.page.level === 1);
      assert.equal(pages.length, 1);
      assert.deepEqual(await a.duePages(10_000, 10), [], 'claimed: no longer due');
      const stale = await a.updatePage({ ...pages[0]!.page, done: true }, dueA[0]!.revision);
      assert.equal(stale, false, 'an update from a stale revision is refused');
    }));

    it('the delivery log: newest first, filtered by alert, status and time, per tenant', () => withStores(fixture, 1, async ([a], tenant) => {
      const t0 = Date.now() - 10_000;
      const d = (i: number, alertId: string, status: Delivery['status']): Delivery => ({
        id: `d${i}`, tenant, at: new Date(t0 + i * 1000).toISOString(), alertId, eventId: `e${i}`, kind: 'notify', route: 'all', target: 'desk', attempt: i, status,
      });
      await a.appendDelivery(d(1, 'x1', 'retrying'));
      await a.appendDelivery(d(2, 'x1', 'delivered'));
      await a.appendDelivery(d(3, 'x2', 'failed'));
      assert.deepEqual((await a.deliveries({ tenant })).map((x) => x.id), ['d3', 'd2', 'd1']);
      assert.deepEqual((await a.deliveries({ tenant, alertId: 'x1' })).map((x) => x.id), ['d2', 'd1']);
      assert.deepEqual((await a.deliveries({ tenant, status: 'failed' })).map((x) => x.id), ['d3']);
      assert.deepEqual((await a.deliveries({ tenant, since: t0 + 2000 })).map((x) => x.id), ['d3', 'd2']);
      assert.deepEqual((await a.deliveries({ tenant, limit: 1 })).map((x) => x.id), ['d3']);
      await a.prune({ before: t0 + 2500, maxPerTenant: 100 });
      assert.deepEqual((await a.deliveries({ tenant })).map((x) => x.id), ['d3'], 'older than the retention: gone');
    }));
  });
}
