/**
 * Issue 15, item 2: one tenant could wipe another tenant's dead letters (one 512 MiB bound on a topic shared by every
 * tenant: 18 bodies of 31 MiB from tenant A's gateway evicted tenant B's letters). Each tenant now has its own topic
 * and bound, and a letter keeps at most DEAD_LETTER_KEPT_BYTES of its item, with the item's size and digest.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  DEAD_LETTER_KEPT_BYTES, Ingestor, deadLetterRaw, deadLetterTopic, ensureDeadLetterTopic, listDeadLetters,
} from '../../src/ingest/index.ts';
import type { Stream } from '../../src/stream/index.ts';
import { NOW, validReport } from '../contract/fixtures.ts';
import { openTestStream } from '../ingest/helpers.ts';

/** A small bound so that the flood is quick; the rule is the same as with the default (256 MiB per tenant). */
const BOUND = 12 * 1024 * 1024;

describe('dead letters per tenant (issue 15, item 2)', () => {
  let stream: Stream;
  let cleanup: () => Promise<void>;
  let ingestor: Ingestor;
  before(async () => {
    ({ stream, cleanup } = await openTestStream(['reports']));
    for (const t of ['force-a', 'force-b']) await ensureDeadLetterTopic(stream, t, { partitions: 1, retention: { maxBytes: BOUND } });
    ingestor = new Ingestor({ stream, tenant: 'default', now: () => NOW });
  });
  after(async () => cleanup());

  it('tenant A floods its dead letters: tenant B\'s letters survive, A\'s oversized bodies are kept bounded with size and digest', async () => {
    const bLetters = ['{"droneId": 1}', '{"not": "a report"}', JSON.stringify(validReport({ droneId: 'b1', citizens: 'x' as never }))];
    for (const raw of bLetters) {
      const res = await ingestor.ingestRaw(raw, 'json', 'gateway-b', { tenant: 'force-b' });
      assert.equal(res.rejected.length, 1);
    }
    // Listing every tenant's letters must not reset a topic's bound to the default (it would if listing ensured topics).
    assert.equal((await listDeadLetters(stream, { limit: 100 })).length, 3);
    // A's gateway: 12 bodies of 6 MiB, each one report over the report size limit (413, a dead letter each).
    const bodies: string[] = [];
    for (let i = 0; i < 12; i++) {
      const body = `{"droneId":"a-${i}","pad":"${String(i % 10).repeat(6 * 1024 * 1024)}"}`;
      bodies.push(body);
      const res = await ingestor.ingestRaw(body, 'json', 'gateway-a', { tenant: 'force-a' });
      assert.equal(res.rejected[0]!.code, 'DW_INGEST_TOO_LARGE');
      await stream.enforceRetention();
    }

    const b = await listDeadLetters(stream, { limit: 100, tenant: 'force-b' });
    assert.deepEqual(b.map((l) => deadLetterRaw(l).toString('utf8')), bLetters, 'every letter of B, whole, after A\'s flood');
    assert.ok(b.every((l) => l.tenant === 'force-b' && !l.truncated));

    const a = await listDeadLetters(stream, { limit: 100, tenant: 'force-a' });
    assert.ok(a.length >= 1 && a.length < bodies.length, `A's own bound evicted A's oldest letters (${a.length} of ${bodies.length} kept)`);
    const last = a[a.length - 1]!;
    const body = bodies[bodies.length - 1]!;
    assert.equal(last.truncated, true, 'an oversized item is cut');
    assert.equal(deadLetterRaw(last).length, DEAD_LETTER_KEPT_BYTES, 'its first DEAD_LETTER_KEPT_BYTES kept');
    assert.equal(deadLetterRaw(last).toString('utf8'), body.slice(0, DEAD_LETTER_KEPT_BYTES), 'the first bytes as received');
    assert.equal(last.rawBytes, Buffer.byteLength(body), 'with the size as received');
    assert.equal(last.rawSha256, createHash('sha256').update(body).digest('hex'), 'and the digest of the whole item');

    const topicBytes = (await stream.read(deadLetterTopic('force-a'), { limit: 1000 })).reduce((n, r) => n + r.value.byteLength, 0);
    assert.ok(topicBytes <= BOUND + 2 * DEAD_LETTER_KEPT_BYTES, `A's topic stays near its bound (${topicBytes} bytes)`);
  });

  it('a listing of every tenant merges the tenants\' topics by storage time', async () => {
    const all = await listDeadLetters(stream, { limit: 1000 });
    assert.deepEqual([...new Set(all.map((l) => l.tenant))].sort(), ['force-a', 'force-b']);
    assert.deepEqual(all.map((l) => l.storedAt), [...all.map((l) => l.storedAt)].sort((x, y) => x - y));
    assert.equal(all.filter((l) => l.tenant === 'force-b').length, 3);
  });
});
