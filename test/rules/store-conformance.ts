/**
 * What every RuleStore must do (SQLite rules.db, the shared bucket on JetStream KV and on Kafka-style log buckets),
 * checked through the interface only. Two stores opened on the same place stand for two processes.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { isDwError } from '../../src/errors/index.ts';
import type { RuleStore, RuleStoreChange } from '../../src/rules/store.ts';
import type { RuleSet, Silence } from '../../src/rules/types.ts';

export interface RuleStoreFixture {
  /** Opens a store on the shared place (each call: another process's view). */
  open(): Promise<RuleStore>;
  /** The tenant the stores serve (a shared bucket is opened for one tenant). */
  tenant: string;
  cleanup(): Promise<void>;
}

const code = (c: string) => (e: unknown): boolean => isDwError(e) && e.code === c;
const SET = (threshold: number): RuleSet => ({ rules: [{ id: 'score', kind: 'score', enabled: true, threshold, criticalThreshold: 5 }], zones: [] });

async function eventually<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 5000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > until) assert.fail(`${what}: not within ${timeoutMs} ms (last: ${JSON.stringify(v)})`);
    await sleep(20);
  }
}

export function runRuleStoreConformance(name: string, fixture: () => Promise<RuleStoreFixture>): void {
  describe(`rule store conformance: ${name}`, { timeout: 60_000 }, () => {
    it('versions are append-only, contiguous and checked: the second writer of a version gets DW_RULES_CONFLICT', async () => {
      const f = await fixture();
      const a = await f.open();
      const b = await f.open();
      try {
        assert.equal(await a.current(f.tenant), undefined, 'an empty store has no version');
        const v1 = await a.commit(f.tenant, 0, SET(20), { author: 'lucie', reason: 'first' });
        assert.deepEqual([v1.version, v1.author, v1.reason, v1.tenant], [1, 'lucie', 'first', f.tenant]);
        await assert.rejects(b.commit(f.tenant, 0, SET(30), { author: 'marc', reason: 'also first' }), code('DW_RULES_CONFLICT'));
        await assert.rejects(a.commit(f.tenant, 5, SET(30), { author: 'marc', reason: 'gap' }), code('DW_RULES_CONFLICT'), 'no gaps');
        await eventually('b sees v1', () => b.current(f.tenant), (v) => v?.version === 1);
        const v2 = await b.commit(f.tenant, 1, SET(30), { author: 'marc', reason: 'stricter' });
        assert.equal(v2.version, 2);
        const all = await eventually('a sees both', () => a.versions(f.tenant), (v) => v.length === 2);
        assert.deepEqual(all.map((v) => [v.version, (v.rules[0] as { threshold: number }).threshold, v.author]), [[1, 20, 'lucie'], [2, 30, 'marc']]);
        assert.equal((await a.current(f.tenant))?.version, 2);
      } finally {
        await a.close();
        await b.close();
        await f.cleanup();
      }
    });

    it('a follower hears of a version and of silences written by another process, and of their removal', async () => {
      const f = await fixture();
      const a = await f.open();
      const b = await f.open();
      const heard: RuleStoreChange[] = [];
      const following = await b.follow((c) => heard.push(c));
      try {
        await a.commit(f.tenant, 0, SET(20), { author: 'lucie', reason: 'first' });
        await eventually('v1 heard', async () => heard.filter((c) => c.kind === 'version').length, (n) => n === 1);
        const s: Silence = {
          id: 'abc123', tenant: f.tenant, match: { kind: 'drone', value: 'drone-7' }, startsAt: new Date(0).toISOString(),
          endsAt: new Date(Date.now() + 3600_000).toISOString(), reason: 'maintenance', author: 'lucie', createdAt: new Date().toISOString(),
        };
        await a.addSilence(s);
        await eventually('silence heard', async () => heard.some((c) => c.kind === 'silence' && c.silence.id === 'abc123'), Boolean);
        assert.deepEqual((await eventually('b lists it', () => b.silences(f.tenant), (l) => l.length === 1))[0], s);
        const removed = await b.removeSilence(f.tenant, 'abc123');
        assert.equal(removed.reason, 'maintenance');
        await assert.rejects(b.removeSilence(f.tenant, 'abc123'), code('DW_SILENCE_NOT_FOUND'));
        await eventually('removal heard', async () => heard.some((c) => c.kind === 'silence-removed' && c.id === 'abc123'), Boolean);
        await eventually('a lists none', () => a.silences(f.tenant), (l) => l.length === 0);
        const v2 = await a.commit(f.tenant, 1, SET(40), { author: 'lucie', reason: 'second' });
        const v = await eventually('v2 heard', async () => heard.filter((c) => c.kind === 'version').at(-1), (c) => c?.kind === 'version' && c.version.version === 2);
        assert.deepEqual(v, { kind: 'version', version: v2 });
      } finally {
        following.stop();
        await a.close();
        await b.close();
        await f.cleanup();
      }
    });

    it('keeps tenants apart', async () => {
      const f = await fixture();
      const a = await f.open();
      try {
        await a.commit(f.tenant, 0, SET(20), { author: 'lucie', reason: 'first' });
        assert.equal(await a.current('othertenant'), undefined);
        assert.deepEqual(await a.silences('othertenant'), []);
        await assert.rejects(a.removeSilence('othertenant', 'nope'), code('DW_SILENCE_NOT_FOUND'));
      } finally {
        await a.close();
        await f.cleanup();
      }
    });
  });
}
