/**
 * What every RuleStore must do (SQLite rules.db, the shared bucket on JetStream KV and on Kafka-style log buckets),
 * checked through the interface only. Two stores opened on the same place stand for two processes.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RuleStore, RuleStoreChange } from '../../src/rules/store.ts';
import type { RuleSet, Silence } from '../../src/rules/types.ts';
import { dwCode, eventually, withStores, type StoreFixture } from '../backend/store-fixtures.ts';

const SET = (threshold: number): RuleSet => ({ rules: [{ id: 'score', kind: 'score', enabled: true, threshold, criticalThreshold: 5 }], zones: [] });

export function runRuleStoreConformance(name: string, fixture: () => Promise<StoreFixture<RuleStore>>): void {
  describe(`rule store conformance: ${name}`, { timeout: 60_000 }, () => {
    it('versions are append-only, contiguous and checked: the second writer of a version gets DW_RULES_CONFLICT', () => withStores(fixture, 2, async ([a, b], tenant) => {
      assert.equal(await a.current(tenant), undefined, 'an empty store has no version');
      const v1 = await a.commit(tenant, 0, SET(20), { author: 'lucie', reason: 'first' });
      assert.deepEqual([v1.version, v1.author, v1.reason, v1.tenant], [1, 'lucie', 'first', tenant]);
      await assert.rejects(b.commit(tenant, 0, SET(30), { author: 'marc', reason: 'also first' }), dwCode('DW_RULES_CONFLICT'));
      await assert.rejects(a.commit(tenant, 5, SET(30), { author: 'marc', reason: 'gap' }), dwCode('DW_RULES_CONFLICT'), 'no gaps');
      await eventually('b sees v1', () => b.current(tenant), (v) => v?.version === 1);
      const v2 = await b.commit(tenant, 1, SET(30), { author: 'marc', reason: 'stricter' });
      assert.equal(v2.version, 2);
      const all = await eventually('a sees both', () => a.versions(tenant), (v) => v.length === 2);
      assert.deepEqual(all.map((v) => [v.version, (v.rules[0] as { threshold: number }).threshold, v.author]), [[1, 20, 'lucie'], [2, 30, 'marc']]);
      assert.equal((await a.current(tenant))?.version, 2);
    }));

    it('a follower hears of a version and of silences written by another process, and of their removal', () => withStores(fixture, 2, async ([a, b], tenant) => {
      const heard: RuleStoreChange[] = [];
      const following = await b.follow((c) => heard.push(c));
      await a.commit(tenant, 0, SET(20), { author: 'lucie', reason: 'first' });
      await eventually('v1 heard', () => heard.filter((c) => c.kind === 'version').length, (n) => n === 1);
      const s: Silence = {
        id: 'abc123', tenant, match: { kind: 'drone', value: 'drone-7' }, startsAt: new Date(0).toISOString(),
        endsAt: new Date(Date.now() + 3600_000).toISOString(), reason: 'maintenance', author: 'lucie', createdAt: new Date().toISOString(),
      };
      await a.addSilence(s);
      await eventually('silence heard', () => heard.some((c) => c.kind === 'silence' && c.silence.id === 'abc123'), Boolean);
      assert.deepEqual((await eventually('b lists it', () => b.silences(tenant), (l) => l.length === 1))[0], s);
      const removed = await b.removeSilence(tenant, 'abc123');
      assert.equal(removed.reason, 'maintenance');
      await assert.rejects(b.removeSilence(tenant, 'abc123'), dwCode('DW_SILENCE_NOT_FOUND'));
      await eventually('removal heard', () => heard.some((c) => c.kind === 'silence-removed' && c.id === 'abc123'), Boolean);
      await eventually('a lists none', () => a.silences(tenant), (l) => l.length === 0);
      const v2 = await a.commit(tenant, 1, SET(40), { author: 'lucie', reason: 'second' });
      const v = await eventually('v2 heard', () => heard.filter((c) => c.kind === 'version').at(-1), (c) => c?.kind === 'version' && c.version.version === 2);
      assert.deepEqual(v, { kind: 'version', version: v2 });
      following.stop();
    }));

    it('keeps tenants apart', () => withStores(fixture, 1, async ([a], tenant) => {
      await a.commit(tenant, 0, SET(20), { author: 'lucie', reason: 'first' });
      assert.equal(await a.current('othertenant'), undefined);
      assert.deepEqual(await a.silences('othertenant'), []);
      await assert.rejects(a.removeSilence('othertenant', 'nope'), dwCode('DW_SILENCE_NOT_FOUND'));
    }));
  });
}
