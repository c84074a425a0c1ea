/**
 * The SharedKv conformance suite: what every shared KV bucket (JetStream KV, log-backed buckets on a stream) must do,
 * checked only through the interface. `open` gives a new store as another process would have: its own connection,
 * its own copy. Each test uses a fresh bucket name.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { KvConflictError, type SharedKv, type SharedKvStore } from '../../src/backend/index.ts';
import { silentLogger } from '../../src/util/log.ts';

export interface SharedKvFixture {
  /** A new store, as another process opens it. */
  open: () => Promise<SharedKvStore>;
  cleanup: () => Promise<void>;
}

const enc = new TextEncoder();
const dec = new TextDecoder();
const text = (v: Uint8Array | null | undefined): string | null => (v ? dec.decode(v) : null);
const bucketName = (): string => `t_${randomUUID().slice(0, 8)}`;

async function conflict(p: Promise<unknown>, what: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => e instanceof KvConflictError, what);
}

async function waitFor(what: string, cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) assert.fail(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** Adds one to a counter by compare-and-set, retrying lost races. */
async function increment(kv: SharedKv, key: string): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const cur = await kv.get(key);
    const n = cur ? Number(dec.decode(cur.value)) : 0;
    try {
      await (cur ? kv.update(key, enc.encode(String(n + 1)), cur.revision) : kv.create(key, enc.encode(String(n + 1))));
      return;
    } catch (e) {
      if (!(e instanceof KvConflictError)) throw e;
      await sleep(Math.random() * 5);
    }
  }
  assert.fail('200 lost races in a row');
}

export function runSharedKvConformance(name: string, factory: () => Promise<SharedKvFixture>): void {
  async function withStores(fn: (a: SharedKvStore, b: SharedKvStore) => Promise<void>): Promise<void> {
    const f = await factory();
    const a = await f.open();
    const b = await f.open();
    try {
      await fn(a, b);
    } finally {
      await a.close();
      await b.close();
      await f.cleanup();
    }
  }

  describe(`shared KV conformance: ${name}`, { timeout: 120_000 }, () => {
    it('create, update at a revision, put, delete; a create of an existing key and a stale update lose', () => withStores(async (a) => {
      const kv = await a.bucket(bucketName());
      assert.equal(await kv.get('k'), null);
      const r1 = await kv.create('k', enc.encode('one'));
      assert.ok(r1 > 0, 'a revision is positive');
      await conflict(kv.create('k', enc.encode('again')), 'create of an existing key');
      const e1 = await kv.get('k');
      assert.equal(text(e1?.value), 'one');
      assert.equal(e1?.revision, r1);
      const r2 = await kv.update('k', enc.encode('two'), r1);
      assert.ok(r2 > r1, 'revisions increase');
      await conflict(kv.update('k', enc.encode('stale'), r1), 'update at a stale revision');
      assert.equal(text((await kv.get('k'))?.value), 'two');
      const r3 = await kv.put('k', enc.encode('three'));
      assert.ok(r3 > r2);
      await kv.delete('k');
      assert.equal(await kv.get('k'), null, 'deleted');
      await kv.create('k', enc.encode('reborn'));
      assert.equal(text((await kv.get('k'))?.value), 'reborn', 'a deleted key can be created again');
      await conflict(kv.update('never', enc.encode('x'), r3 + 1000), 'update of a key that never existed');
    }));

    it('two processes racing: every increment counts once, exactly one create wins', () => withStores(async (a, b) => {
      const name = bucketName();
      const ka = await a.bucket(name);
      const kb = await b.bucket(name);
      await Promise.all(Array.from({ length: 16 }, (_, i) => increment(i % 2 === 0 ? ka : kb, 'counter')));
      assert.equal(text((await ka.get('counter'))?.value), '16', 'process A reads 16');
      assert.equal(text((await kb.get('counter'))?.value), '16', 'process B reads 16');
      const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? ka : kb).create('first', enc.encode(`writer-${i}`))));
      const won = results.filter((r) => r.status === 'fulfilled');
      assert.equal(won.length, 1, 'exactly one create wins');
      for (const r of results) if (r.status === 'rejected') assert.ok(r.reason instanceof KvConflictError, `the others lose: ${String(r.reason)}`);
      const va = await ka.get('first');
      const vb = await kb.get('first');
      assert.equal(text(va?.value), text(vb?.value), 'both processes agree on the winner');
      assert.equal(va?.revision, vb?.revision, 'and on its revision');
    }));

    it('a follower gets what the bucket holds, then every change made by another process', () => withStores(async (a, b) => {
      const name = bucketName();
      const ka = await a.bucket(name);
      await ka.put('x', enc.encode('1'));
      await ka.put('y', enc.encode('2'));
      const kb = await b.bucket(name);
      const seen = new Map<string, string | null>();
      const following = await kb.follow((key, value) => seen.set(key, text(value)), { timeoutMs: 10_000, logger: silentLogger, what: 'test' });
      try {
        assert.equal(seen.get('x'), '1', 'the current values first');
        assert.equal(seen.get('y'), '2');
        await ka.put('z', enc.encode('3'));
        await ka.delete('x');
        await waitFor('the change and the delete', () => seen.get('z') === '3' && seen.get('x') === null);
      } finally {
        following.stop();
      }
    }));

    it('a process opening the bucket later reads the same values at the same revisions', () => withStores(async (a, b) => {
      const name = bucketName();
      const ka = await a.bucket(name);
      const r = await ka.create('k', enc.encode('v'));
      await conflict(ka.update('k', enc.encode('lost'), r + 5), 'a losing request stays in the log');
      const kb = await b.bucket(name);
      const e = await kb.get('k');
      assert.equal(text(e?.value), 'v', 'the losing request is not applied by the later process');
      assert.equal(e?.revision, r);
    }));

    it('with a TTL, a key not written for that long is gone', () => withStores(async (a) => {
      const kv = await a.bucket(bucketName(), { ttlMs: 1000 });
      await kv.put('short', enc.encode('lived'));
      assert.equal(text((await kv.get('short'))?.value), 'lived');
      const until = Date.now() + 10_000;
      while ((await kv.get('short')) !== null && Date.now() < until) await sleep(250);
      assert.equal(await kv.get('short'), null, 'expired');
    }));
  });
}
