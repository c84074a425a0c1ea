import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { validateReport, type Report } from '../../src/contract/index.ts';
import { FIRST_RECORD_CHUNK_BYTES, IngestBatch, MAX_RECORD_CHUNK_BYTES } from '../../src/ingest/batch.ts';
import { Fleet } from '../../src/simulator/index.ts';

// The record bytes of an ingestion batch are written into shared chunks (src/ingest/batch.ts): every record must still
// be exactly the report's JSON spliced with reportId, ts, receivedAt and tenant, wherever the chunks end, and a record
// must never see another record's bytes.
const NOW = Date.parse('2026-12-07T00:00:00Z');

function accepted(batch: IngestBatch, reports: readonly Report[]): void {
  for (const [i, report] of reports.entries()) {
    const result = validateReport(report, { now: NOW, maxClockSkewMs: 86_400_000 });
    assert.ok(result.ok, JSON.stringify(result));
    batch.accept(i, result.report, result.ts, JSON.stringify(result.report));
  }
}

/** What the record of `report` must hold, built the obvious way. */
function expected(report: Report, tenant: string): string {
  const ts = Date.parse(report.timestamp);
  const reportId = batchIdOf(report, ts);
  return JSON.stringify({ ...report, reportId, ts, receivedAt: NOW, tenant });
}

function batchIdOf(report: Report, ts: number): string {
  const b = new IngestBatch(NOW, 't', 'x', '"x"');
  b.accept(0, report, ts, JSON.stringify(report));
  return b.reportIds[0]!;
}

describe('IngestBatch record bytes', () => {
  it('holds every record exactly, across many chunks of doubling size', () => {
    const reports = new Fleet({ drones: 300, seed: 11, start: NOW - 3_600_000 }).take(3000);
    const batch = new IngestBatch(NOW, 'test', 'paris-nord', JSON.stringify('paris-nord'));
    accepted(batch, reports);
    const chunks = new Set(batch.records.map((r) => r.value.buffer));
    const total = batch.records.reduce((n, r) => n + r.value.byteLength, 0);
    assert.ok(chunks.size > 5 && chunks.size < total / FIRST_RECORD_CHUNK_BYTES, `${chunks.size} chunks for ${total} bytes`);
    for (const c of chunks) assert.ok(c.byteLength <= MAX_RECORD_CHUNK_BYTES, `a chunk of ${c.byteLength} bytes`);
    for (const [i, r] of batch.records.entries()) {
      assert.equal(Buffer.from(r.value).toString('utf8'), expected(reports[i]!, 'paris-nord'), `record ${i}`);
    }
  });

  it('gives a record larger than a chunk a chunk of its own, and multi-byte text its exact length', () => {
    const [base] = new Fleet({ drones: 1, seed: 3, start: NOW - 60_000 }).take(1);
    // ~25,000 characters of 2 and 3 bytes (the longest words and names allowed): the room reserved for it (3 bytes a
    // UTF-16 unit) is over MAX_RECORD_CHUNK_BYTES.
    const big: Report = {
      ...base!,
      words: Array.from({ length: 200 }, (_, i) => `${i}`.padEnd(64, 'é€')),
      citizens: Array.from({ length: 50 }, (_, i) => ({ name: `Zoë ${i}`.padEnd(200, 'ü'), score: i })),
    };
    const small: Report = { ...base!, timestamp: new Date(Date.parse(base!.timestamp) + 1000).toISOString(), words: ['Zoë'] };
    const batch = new IngestBatch(NOW, 'test', 'lyon', JSON.stringify('lyon'));
    accepted(batch, [small, big, small]);
    const [a, b, c] = batch.records.map((r) => r.value);
    assert.ok(b!.buffer.byteLength > MAX_RECORD_CHUNK_BYTES && b!.buffer !== a!.buffer);
    assert.equal(Buffer.from(a!).toString('utf8'), expected(small, 'lyon'));
    assert.equal(Buffer.from(b!).toString('utf8'), expected(big, 'lyon'));
    assert.equal(Buffer.from(c!).toString('utf8'), expected(small, 'lyon'));
    assert.equal(b!.byteLength, Buffer.byteLength(expected(big, 'lyon')));
  });
});
