import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { DEAD_LETTER_PART_BYTES, Ingestor, deadLetterRaw, deadLetterTopic, listDeadLetters } from '../../src/ingest/index.ts';
import { StreamUnavailableError, TOPICS, type Stream } from '../../src/stream/index.ts';
import { NOW, validReport } from '../contract/fixtures.ts';
import { openTestStream, storedReports } from './helpers.ts';

const TENANT = 'prefecture-75';

describe('Ingestor.ingestRaw', () => {
  let stream: Stream;
  let cleanup: () => Promise<void>;
  let ingestor: Ingestor;

  // A fresh stream per test: each test asserts exactly what the topics hold.
  beforeEach(async () => {
    if (cleanup) await cleanup();
    ({ stream, cleanup } = await openTestStream());
    ingestor = new Ingestor({ stream, tenant: TENANT, now: () => NOW });
  });
  after(async () => cleanup());

  it('publishes a single report with its id, time, reception time and tenant', async () => {
    const report = validReport({ droneId: 'd-1', timestamp: '2026-11-28T04:10:00.5+01:00' });
    const res = await ingestor.ingestRaw(JSON.stringify(report), 'json', 'test');
    const ts = Date.UTC(2026, 10, 28, 3, 10, 0, 500);
    assert.deepEqual(res, { accepted: [{ reportId: `d-1:${ts}`, duplicate: false, index: 0 }], rejected: [] });
    const stored = await storedReports(stream);
    assert.equal(stored.length, 1);
    assert.equal(stored[0]!.key, 'd-1');
    assert.deepEqual(stored[0]!.report, { ...report, reportId: `d-1:${ts}`, ts, receivedAt: NOW, tenant: TENANT });
    assert.deepEqual(await listDeadLetters(stream, { limit: 10 }), []);
  });

  it('takes a JSON array: valid elements published in one batch, invalid ones dead-lettered re-serialised', async () => {
    const bad = validReport({ droneId: 'd-2', citizens: [{ name: 'X', score: 101 }] });
    const body = Buffer.from(JSON.stringify([validReport({ droneId: 'd-1' }), bad, validReport({ droneId: 'd-3' })], null, 2));
    const res = await ingestor.ingestRaw(body, 'json', 'http:198.51.100.4');
    assert.deepEqual(res.accepted.map((a) => [a.index, a.reportId]), [[0, `d-1:${Date.parse(bad.timestamp as string)}`], [2, `d-3:${Date.parse(bad.timestamp as string)}`]]);
    assert.deepEqual(res.rejected, [{ index: 1, code: 'DW_INGEST_INVALID', errors: [{ field: 'citizens[0].score', reason: 'must be <= 100' }] }]);
    assert.deepEqual((await storedReports(stream)).map((s) => s.report.droneId).sort(), ['d-1', 'd-3']);
    const letters = await listDeadLetters(stream, { limit: 10 });
    assert.equal(letters.length, 1);
    assert.equal(deadLetterRaw(letters[0]!).toString('utf8'), JSON.stringify(bad));
    assert.equal(letters[0]!.index, 1);
    assert.equal(letters[0]!.source, 'http:198.51.100.4');
    assert.equal(letters[0]!.tenant, TENANT);
    assert.equal(letters[0]!.receivedAt, NOW);
    assert.equal(letters[0]!.reason, 'citizens[0].score: must be <= 100');
  });

  it('takes NDJSON: blank lines skipped, each bad line dead-lettered with its exact bytes and reason', async () => {
    const ok1 = JSON.stringify(validReport({ droneId: 'n-1' }));
    const badScore = `{ "droneId":"n-2", "timestamp":"2026-11-28T03:10:00Z","position":{"lat":1,"lon":2},"citizens":[{"name":"Zoé","score":-3}],"words":[] }`;
    const malformed = '{"droneId":"n-3", "timestamp": ';
    const ok2 = JSON.stringify(validReport({ droneId: 'n-4', words: ['été', '😀'] }));
    const notObject = '42';
    const extra = JSON.stringify(validReport({ droneId: 'n-5', position: { lat: 1, lon: 2, alt: 3 } }));
    const lines = [ok1, '', badScore, '   ', malformed, `${ok2}\r`, notObject, extra];
    const body = Buffer.from(`${lines.join('\n')}\n`, 'utf8');
    const res = await ingestor.ingestRaw(body, 'ndjson', 'test');

    assert.deepEqual(res.accepted.map((a) => a.index), [0, 5]);
    assert.deepEqual(res.rejected.map((r) => [r.index, r.code]), [
      [2, 'DW_INGEST_INVALID'], [4, 'DW_INGEST_MALFORMED'], [6, 'DW_INGEST_INVALID'], [7, 'DW_INGEST_INVALID'],
    ]);
    assert.deepEqual(res.rejected[0]!.errors, [{ field: 'citizens[0].score', reason: 'must be >= 0' }]);
    assert.deepEqual(res.rejected[2]!.errors, [{ field: '', reason: 'must be a JSON object' }]);
    assert.deepEqual(res.rejected[3]!.errors, [{ field: 'position.alt', reason: 'unknown field' }]);

    const stored = await storedReports(stream);
    assert.deepEqual(stored.map((s) => s.report.droneId).sort(), ['n-1', 'n-4']);
    assert.deepEqual(stored.find((s) => s.key === 'n-4')!.report.words, ['été', '😀']);

    const letters = await listDeadLetters(stream, { limit: 10 });
    assert.deepEqual(letters.map((l) => [l.index, deadLetterRaw(l).toString('utf8')]), [[2, badScore], [4, malformed], [6, notObject], [7, extra]]);
    assert.ok(deadLetterRaw(letters[0]!).equals(Buffer.from(badScore, 'utf8')), 'raw bytes preserved exactly');
    assert.equal(letters[0]!.reason, 'citizens[0].score: must be >= 0');
    assert.match(letters[1]!.reason, /^not valid JSON: /);
    assert.equal(letters[1]!.code, 'DW_INGEST_MALFORMED');
  });

  it('dead-letters a malformed JSON body whole', async () => {
    for (const body of ['{"droneId": "x",', `[${JSON.stringify(validReport())},`, '', Buffer.from([0x7b, 0xc3, 0x28, 0x7d])]) {
      const res = await ingestor.ingestRaw(body, 'json', 'test');
      assert.deepEqual(res.accepted, []);
      assert.equal(res.rejected.length, 1);
      assert.equal(res.rejected[0]!.code, 'DW_INGEST_MALFORMED');
      assert.equal(res.rejected[0]!.index, 0);
    }
    const letters = await listDeadLetters(stream, { limit: 10 });
    assert.equal(letters.length, 4);
    assert.equal(deadLetterRaw(letters[1]!).toString('utf8'), `[${JSON.stringify(validReport())},`);
    assert.deepEqual([...deadLetterRaw(letters[3]!)], [0x7b, 0xc3, 0x28, 0x7d]);
    assert.equal(letters[3]!.reason, 'not valid JSON: invalid UTF-8');
    assert.equal((await storedReports(stream)).length, 0);
  });

  it('refuses a report over the size limit, in a body, an array and an NDJSON line', async () => {
    const small = new Ingestor({ stream, tenant: TENANT, now: () => NOW, maxReportBytes: 400 });
    const big = JSON.stringify(validReport({ droneId: 'big', words: Array.from({ length: 40 }, (_, i) => `word-${i}`) }));
    const fits = JSON.stringify(validReport({ droneId: 'fits' }));
    assert.ok(Buffer.byteLength(big) > 400 && Buffer.byteLength(fits) <= 400);

    const single = await small.ingestRaw(big, 'json', 'test');
    assert.deepEqual(single.rejected, [{ index: 0, code: 'DW_INGEST_TOO_LARGE', errors: [{ field: '', reason: 'must be at most 400 bytes' }] }]);
    const array = await small.ingestRaw(`[${fits},${big}]`, 'json', 'test');
    assert.deepEqual(array.accepted.map((a) => a.index), [0]);
    assert.deepEqual(array.rejected.map((r) => [r.index, r.code]), [[1, 'DW_INGEST_TOO_LARGE']]);
    const nd = await small.ingestRaw(`${big}\n${fits}`, 'ndjson', 'test');
    assert.deepEqual(nd.rejected.map((r) => [r.index, r.code]), [[0, 'DW_INGEST_TOO_LARGE']]);
    assert.deepEqual(nd.accepted.map((a) => [a.index, a.duplicate]), [[1, true]]);

    const letters = await listDeadLetters(stream, { limit: 10 });
    assert.equal(letters.length, 3);
    for (const l of letters) {
      assert.equal(deadLetterRaw(l).toString('utf8'), big);
      assert.equal(l.rawBytes, Buffer.byteLength(big));
      assert.equal(l.truncated, false);
      assert.equal(l.reason, `report is ${Buffer.byteLength(big)} bytes; the limit is 400 bytes`);
    }
  });

  it('keeps a huge rejected body whole, over several records, and lists it once (regression: cut at 1 MiB)', async () => {
    const body = `{"droneId":"${'x'.repeat(3 * DEAD_LETTER_PART_BYTES + 100)}"}`;
    const res = await ingestor.ingestRaw(body, 'json', 'test');
    assert.equal(res.rejected[0]!.code, 'DW_INGEST_TOO_LARGE');
    const small = await ingestor.ingestRaw('{"droneId": 5}', 'json', 'test');
    assert.equal(small.rejected.length, 1, 'a small letter after it');
    const letters = await listDeadLetters(stream, { limit: 10 });
    assert.equal(letters.length, 2, 'one letter each, whatever the number of records');
    assert.equal(letters[0]!.truncated, false);
    assert.equal(letters[0]!.rawBytes, Buffer.byteLength(body));
    assert.equal(deadLetterRaw(letters[0]!).toString('utf8'), body, 'every byte');
    assert.equal(deadLetterRaw(letters[1]!).toString('utf8'), '{"droneId": 5}');
    assert.equal((await stream.read(deadLetterTopic(TENANT), { limit: 100 })).length, 5, 'four records for the big one, one for the small');
    const first = await listDeadLetters(stream, { limit: 1 });
    assert.equal(deadLetterRaw(first[0]!).length, Buffer.byteLength(body), 'a limit counts letters, and the one returned is whole');
  });

  it('acknowledges a retried report (same drone and instant, other spelling) as a duplicate, stored once', async () => {
    const first = await ingestor.ingestRaw(JSON.stringify(validReport({ droneId: 'dup', timestamp: '2026-11-28T03:10:00Z' })), 'json', 'test');
    const again = await ingestor.ingestRaw(JSON.stringify(validReport({ droneId: 'dup', timestamp: '2026-11-28T04:10:00.000+01:00' })), 'json', 'test');
    assert.equal(first.accepted[0]!.duplicate, false);
    assert.deepEqual(again.accepted, [{ reportId: first.accepted[0]!.reportId, duplicate: true, index: 0 }]);
    const sameBatch = await ingestor.ingestRaw(
      [validReport({ droneId: 'dup2', timestamp: '2026-11-28T03:10:00.000Z' }), validReport({ droneId: 'dup2', timestamp: '2026-11-28T03:10:00+00:00' })]
        .map((r) => JSON.stringify(r)).join('\n'),
      'ndjson', 'test');
    assert.deepEqual(sameBatch.accepted.map((a) => a.duplicate), [false, true]);
    const stored = await storedReports(stream);
    assert.deepEqual(stored.map((s) => s.report.reportId).sort(), [first.accepted[0]!.reportId, sameBatch.accepted[0]!.reportId].sort());
    assert.equal(stored.find((s) => s.key === 'dup')!.report.timestamp, '2026-11-28T03:10:00Z', 'the first spelling is kept');
  });

  it('rejects timestamps too far in the future by the injected clock', async () => {
    const res = await ingestor.ingestRaw(JSON.stringify(validReport({ timestamp: new Date(NOW + 301_000).toISOString() })), 'json', 'test');
    assert.deepEqual(res.rejected[0]!.errors, [{ field: 'timestamp', reason: 'must not be more than 300 s in the future' }]);
  });

  it('propagates a failure to store dead letters instead of dropping them', async () => {
    const partial = await openTestStream(['reports']);
    try {
      // A stream on which storing a dead letter fails (a full disk, a broker down): the whole call must fail.
      const failing: Stream = Object.create(partial.stream) as Stream;
      failing.publish = async (topic, records) => {
        if (topic.startsWith(TOPICS.deadLetters)) throw new StreamUnavailableError(`publish to ${topic}`, new Error('injected'));
        return partial.stream.publish(topic, records);
      };
      const ing = new Ingestor({ stream: failing, tenant: TENANT, now: () => NOW });
      await assert.rejects(ing.ingestRaw(`${JSON.stringify(validReport())}\n{"bad":1}`, 'ndjson', 'test'), { code: 'DW_STREAM_UNAVAILABLE' });
      // Only-valid bodies never touch the dead-letter topic.
      const ok = await ing.ingestRaw(JSON.stringify(validReport({ droneId: 'other' })), 'json', 'test');
      assert.equal(ok.accepted.length, 1);
    } finally {
      await partial.cleanup();
    }
  });
});

describe('Ingestor.ingestReports', () => {
  let stream: Stream;
  let cleanup: () => Promise<void>;
  before(async () => ({ stream, cleanup } = await openTestStream()));
  after(async () => cleanup());

  it('validates in-process reports, publishes the valid ones and dead-letters the rest', async () => {
    let clock = NOW;
    const ingestor = new Ingestor({ stream, tenant: 'default', now: () => clock });
    const reports = Array.from({ length: 2000 }, (_, i) => validReport({ droneId: `sim-${i % 100}`, timestamp: new Date(NOW - 60_000 + i).toISOString() }));
    reports[10] = validReport({ position: { lat: Number.NaN, lon: 2 } });
    reports[20] = validReport({ extra: true });
    reports[30] = null as unknown as Record<string, unknown>;
    const cyclic: Record<string, unknown> = validReport();
    cyclic.self = cyclic;
    reports[40] = cyclic;
    clock = NOW + 5;
    const res = await ingestor.ingestReports(reports as never, 'simulator');
    assert.equal(res.accepted.length, 1996);
    assert.deepEqual(res.rejected.map((r) => [r.index, r.code, r.errors[0]?.field]), [
      [10, 'DW_INGEST_INVALID', 'position.lat'], [20, 'DW_INGEST_INVALID', 'extra'], [30, 'DW_INGEST_INVALID', ''], [40, 'DW_INGEST_INVALID', 'self'],
    ]);
    assert.equal(res.accepted[10]!.index, 11);
    const stored = await storedReports(stream);
    assert.equal(stored.length, 1996);
    for (const s of stored) {
      assert.equal(s.key, s.report.droneId);
      assert.equal(s.report.receivedAt, NOW + 5);
      assert.equal(s.report.reportId, `${s.report.droneId}:${Date.parse(s.report.timestamp)}`);
    }
    const letters = await listDeadLetters(stream, { limit: 10 });
    assert.deepEqual(letters.map((l) => l.source), ['simulator', 'simulator', 'simulator', 'simulator']);
    assert.equal(deadLetterRaw(letters[0]!).toString(), JSON.stringify(reports[10]));
    assert.equal(deadLetterRaw(letters[2]!).toString(), 'null');
    assert.equal(letters[3]!.rawBytes, 0, 'an unserialisable object leaves empty raw bytes');
  });

  it('lists dead letters from a storage time, up to a limit', async () => {
    const ingestor = new Ingestor({ stream, tenant: 'default' }); // real clock: `since` compares with storage time
    const earlier = await listDeadLetters(stream, { limit: 100 });
    assert.equal(earlier.length, 4);
    await new Promise((r) => setTimeout(r, 5));
    const since = Date.now();
    await ingestor.ingestReports([validReport({ droneId: '' }), validReport({ droneId: 'a b' })] as never, 'later');
    const recent = await listDeadLetters(stream, { limit: 100, since });
    assert.deepEqual(recent.map((l) => [l.source, l.index]), [['later', 0], ['later', 1]]);
    assert.ok(recent.every((l) => l.storedAt >= since));
    assert.deepEqual((await listDeadLetters(stream, { limit: 2 })).map((l) => l.offset), earlier.slice(0, 2).map((l) => l.offset));
  });
});
