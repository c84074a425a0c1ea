/**
 * A large incident's members in pages of their own keys on the shared KV buckets (src/backend/shared/incidents/pages.ts):
 * the pagination alone, then on a real nats-server and a real Kafka broker with small limits (4 members inline, pages
 * of 8), so a crowd of 60 exercises pages, splits and superseded pages in a few seconds.
 */
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectKvAlertState, KafkaStream, LogKvStore, type KvAlertState } from '../../src/backend/index.ts';
import { incidentBucketName, KvIncidentState } from '../../src/backend/incidents.ts';
import { KvConflictError, type SharedKv, type SharedKvStore } from '../../src/backend/shared/kv.ts';
import { paginate, type PageLimits } from '../../src/backend/shared/incidents/pages.ts';
import type { AlertEvent } from '../../src/alerts/types.ts';
import type { IncidentMember, IncidentRecord } from '../../src/incidents/types.ts';
import { silentLogger } from '../../src/util/log.ts';
import { onKafka, onNatsServer } from '../backend/store-fixtures.ts';
import { alertEvent, GROUPING, offset, PLACE_A, T0 } from './helpers.ts';

const LIMITS: PageLimits = { inlineMembers: 4, pageMembers: 8 };

function member(i: number): IncidentMember {
  return { alertId: `a${String(i).padStart(4, '0')}`, citizen: `c${i}`, droneId: 'd', lat: 1, lon: 2, score: 10, severity: 'warning', firstSeenTs: i, lastSeenTs: i };
}

describe('incident member pages: the pagination', () => {
  it('keeps a small incident inline, and pages a large one half full, in order', () => {
    const few = [0, 1, 2, 3].map(member);
    assert.deepEqual(paginate('i', undefined, few, LIMITS, 0, 0), { paged: undefined, writes: [], superseded: [] });
    const many = Array.from({ length: 20 }, (_, i) => member(i));
    const p = paginate('i', undefined, many, LIMITS, 0, 0);
    assert.ok(p.paged);
    assert.ok(p.writes.every((w) => w.members.length <= LIMITS.pageMembers / 2), JSON.stringify(p.writes.map((w) => w.members.length)));
    assert.deepEqual(p.paged.pages.flat(), many);
    assert.deepEqual(p.paged.refs.map((r) => r.first), p.paged.pages.map((pg) => pg[0]!.alertId));
    assert.ok(p.paged.refs.every((r) => r.key.startsWith('m.i.')));
  });

  it('writes only the page whose members changed, splits a full page, drops emptied ones', () => {
    const many = Array.from({ length: 20 }, (_, i) => member(i * 10));
    const first = paginate('i', undefined, many, LIMITS, 0, 0).paged!;
    // One member replaced (a new object, as grouping makes), one added in the same range.
    const changed = many.slice();
    changed[1] = { ...many[1]!, lastSeenTs: 99 };
    changed.splice(2, 0, member(15));
    const p = paginate('i', first, changed, LIMITS, 0, 0);
    assert.equal(p.writes.length, 1);
    assert.deepEqual(p.superseded, [first.refs[0]!.key]);
    assert.deepEqual(p.paged!.pages.flat(), changed);
    assert.deepEqual(p.paged!.refs.slice(1), first.refs.slice(1), 'the other pages are kept as they were');
    // Five more in the first page's range: it holds 9 > 8 and splits in two.
    const grown = [...changed.slice(0, 3), ...[16, 17, 18, 19, 21].map(member), ...changed.slice(3)].sort((a, b) => (a.alertId < b.alertId ? -1 : 1));
    const q = paginate('i', p.paged, grown, LIMITS, 0, 0);
    assert.equal(q.writes.length, 2);
    assert.ok(q.writes.every((w) => w.members.length <= LIMITS.pageMembers));
    assert.deepEqual(q.paged!.pages.flat(), grown);
    // Back under the inline limit: every page goes.
    const small = paginate('i', q.paged, grown.slice(0, 3), LIMITS, 0, 0);
    assert.equal(small.paged, undefined);
    assert.deepEqual(small.superseded.sort(), q.paged!.refs.map((r) => r.key).sort());
    // A page written before the refresh time is written again even unchanged (the bucket's TTL would drop it).
    const refreshed = paginate('i', first, many, LIMITS, 100, 50);
    assert.equal(refreshed.writes.length, first.refs.length);
  });
});

/** The bucket's keys and values now. */
async function contents(kv: SharedKv): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  const f = await kv.follow((k, v) => { if (v === null) out.delete(k); else out.set(k, v); }, { timeoutMs: 10_000, logger: silentLogger, what: 'test' });
  f.stop();
  return out;
}

async function eventually(what: string, ok: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > until) assert.fail(what);
    await sleep(25);
  }
}

/** `n` citizens at one place, a few seconds apart: one incident. */
function crowd(tenant: string, n: number, from = 0): AlertEvent[] {
  return Array.from({ length: n }, (_, i) => alertEvent(tenant, { citizen: `p-${from + i}`, drone: `d-${i % 5}`, ts: T0 + (from + i) * 2_000, at: offset(PLACE_A.lat, PLACE_A.lon, (i % 7) * 10, (i % 5) * 10) }));
}

function runPagesSuite(open: () => Promise<{ store: SharedKvStore; close: () => Promise<void> }>, tenant: string): void {
  it('a crowd of 60: the incident lists its pages, every page it lists is there and no other, another process reads the same members', async () => {
    const a = await open();
    const b = await open();
    const states: KvIncidentState[] = [];
    try {
      const s1 = await KvIncidentState.open({ store: a.store, tenant, grouping: GROUPING, pageLimits: LIMITS });
      states.push(s1);
      const events = crowd(tenant, 60);
      for (const e of events) await s1.applyAlertEvents([e]);
      const [incident] = s1.list();
      assert.ok(incident && incident.citizenCount === 60, JSON.stringify(incident));
      const kv = await a.store.bucket(incidentBucketName(tenant));
      const held = await contents(kv);
      const stored = JSON.parse(new TextDecoder().decode(held.get(`i.${incident.incidentId}`)!)) as { members?: unknown; pages?: { key: string }[] };
      assert.equal(stored.members, undefined, 'the members are not in the incident');
      assert.ok(stored.pages && stored.pages.length >= 60 / LIMITS.pageMembers, JSON.stringify(stored.pages?.length));
      const pageKeys = [...held.keys()].filter((k) => k.startsWith('m.')).sort();
      assert.deepEqual(pageKeys, stored.pages.map((p) => p.key).sort(), 'the pages listed, and none superseded left behind');
      for (const k of pageKeys) assert.ok((JSON.parse(new TextDecoder().decode(held.get(k)!)) as unknown[]).length <= LIMITS.pageMembers);

      const mine = (await s1.get(incident.incidentId))!;
      assert.equal(mine.members.length, 60);
      assert.deepEqual(mine.members.map((m) => m.alertId), mine.members.map((m) => m.alertId).sort());
      // Another process: its view from the bucket, and a read from the bucket itself.
      // Its view is complete once open (a Kafka bucket's first load delivers the incident before its pages): the
      // same list, and the same events again plan nothing there.
      const s2 = await KvIncidentState.open({ store: b.store, tenant, grouping: GROUPING, pageLimits: LIMITS });
      states.push(s2);
      assert.deepEqual(s2.list(), s1.list());
      assert.deepEqual(await s2.applyAlertEvents(events), []);
      assert.deepEqual(normal(await s2.get(incident.incidentId)), normal(mine));

      // An officer's change there writes no page; the crowd then grows here, seen there.
      await s2.change(incident.incidentId, { action: 'acknowledge' }, 'officer-1');
      assert.deepEqual([...(await contents(kv)).keys()].filter((k) => k.startsWith('m.')).sort(), pageKeys);
      const more = crowd(tenant, 5, 60);
      for (const e of more) await s1.applyAlertEvents([e]);
      await eventually('the other process sees 65 citizens, acknowledged', () => {
        const i = s2.list()[0];
        return i?.citizenCount === 65 && i.status === 'acknowledged';
      });
      assert.deepEqual(normal(await s2.get(incident.incidentId)), normal(await s1.get(incident.incidentId)));
      // Exactly once still: the same events again plan nothing.
      assert.deepEqual(await s2.applyAlertEvents([...events, ...more]), []);
    } finally {
      for (const s of states) s.close();
      await a.close();
      await b.close();
    }
  });

  it('a write whose acknowledgement was lost (its retry fails as a conflict) keeps the pages it committed; a page gone makes the incident expired', async () => {
    const a = await open();
    const t = `${tenant}ack`;
    try {
      // The bucket as a retried update sees it: the first attempt landed, the retry reports a conflict.
      let loseNext = false;
      const store: SharedKvStore = {
        bucket: async (name, o) => {
          const kv = await a.store.bucket(name, o);
          return {
            name: kv.name, get: (k) => kv.get(k), create: (k, v) => kv.create(k, v), put: (k, v) => kv.put(k, v), delete: (k) => kv.delete(k), follow: (f, fo) => kv.follow(f, fo),
            update: async (k, v, r) => {
              const rev = await kv.update(k, v, r);
              if (loseNext && k.startsWith('i.')) {
                loseNext = false;
                throw new KvConflictError(name, k);
              }
              return rev;
            },
          };
        },
        close: () => a.store.close(),
      };
      const s = await KvIncidentState.open({ store, tenant: t, grouping: GROUPING, pageLimits: LIMITS });
      const kv = await a.store.bucket(incidentBucketName(t));
      try {
        const events = crowd(t, 30);
        for (const e of events.slice(0, 29)) await s.applyAlertEvents([e]);
        loseNext = true;
        const announced = await s.applyAlertEvents([events[29]!]);
        assert.equal(loseNext, false, 'the lost acknowledgement happened');
        assert.deepEqual(announced.map((e) => [e.type, e.incident.citizenCount]), [['updated', 30]], 'the write is known as done: its change announced');
        const id = s.list()[0]!.incidentId;
        const held = await contents(kv);
        const stored = JSON.parse(new TextDecoder().decode(held.get(`i.${id}`)!)) as { pages: { key: string }[]; incident: { citizenCount: number } };
        assert.equal(stored.incident.citizenCount, 30);
        for (const p of stored.pages) assert.ok(held.has(p.key), `listed page ${p.key} is in the bucket`);
        assert.equal((await s.get(id))!.members.length, 30);

        // One of its pages deleted (as the TTL would): not found, no error; a new process leaves it out.
        await kv.delete(stored.pages[0]!.key);
        const other = await KvIncidentState.open({ store: a.store, tenant: t, grouping: GROUPING, pageLimits: LIMITS });
        try {
          assert.equal(await other.get(id), undefined);
          assert.deepEqual(other.list(), []);
        } finally {
          other.close();
        }
      } finally {
        s.close();
      }
    } finally {
      await a.close();
    }
  });

  it('an incident written with its members inline (before pages) is read as it is, and paged on its next write', async () => {
    const a = await open();
    const t = `${tenant}old`;
    try {
      const kv = await a.store.bucket(incidentBucketName(t), { ttlMs: 8 * 24 * 3600_000 });
      // Written by a state whose inline limit is above the crowd: the form an older dronewatch wrote.
      const old = await KvIncidentState.open({ store: a.store, tenant: t, grouping: GROUPING, pageLimits: { inlineMembers: 1000, pageMembers: 8 } });
      for (const e of crowd(t, 20)) await old.applyAlertEvents([e]);
      old.close();
      const id = old.list()[0]!.incidentId;
      assert.ok((JSON.parse(new TextDecoder().decode((await kv.get(`i.${id}`))!.value)) as { members: unknown[] }).members.length === 20);
      const s = await KvIncidentState.open({ store: a.store, tenant: t, grouping: GROUPING, pageLimits: LIMITS });
      try {
        assert.equal((await s.get(id))!.members.length, 20);
        await s.applyAlertEvents(crowd(t, 1, 20));
        const stored = JSON.parse(new TextDecoder().decode((await kv.get(`i.${id}`))!.value)) as { members?: unknown; pages?: unknown[] };
        assert.equal(stored.members, undefined);
        assert.ok(stored.pages && stored.pages.length >= 3);
        assert.equal((await s.get(id))!.members.length, 21);
      } finally {
        s.close();
      }
    } finally {
      await a.close();
    }
  });
}

/** A record without what differs between two reads of the same version (nothing should): members and summary. */
function normal(r: IncidentRecord | undefined): unknown {
  return r && { incident: r.incident, members: r.members, timeline: r.timeline, version: r.version };
}

onNatsServer('incident member pages: nats', (url) => {
  const tenant = `t${randomUUID().slice(0, 8)}`;
  runPagesSuite(async () => {
    const a: KvAlertState = await connectKvAlertState({ servers: [await url()], tenant });
    return { store: a.kvStore, close: () => a.close() };
  }, tenant);
});

onKafka('incident member pages: kafka', (bootstrap) => {
  const tenant = `t${randomUUID().slice(0, 8)}`;
  runPagesSuite(async () => {
    const store = new LogKvStore(await KafkaStream.connect({ brokers: (await bootstrap()).split(','), tenant }), { ownsStream: true, topicOf: (b) => `kv-${b}` });
    return { store, close: () => store.close() };
  }, tenant);
});
