import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateReport } from '../../src/contract/index.ts';
import { scanReportFields } from '../../src/fleet/scan.ts';
import { IngestBatch } from '../../src/ingest/batch.ts';
import { Fleet } from '../../src/simulator/index.ts';
import { mulberry32 } from '../lake/fixtures/sample.ts';

/** Records exactly as ingestion writes them (validated, spliced with reportId, ts, receivedAt and tenant). */
function ingestedValues(n: number): Buffer[] {
  const now = Date.parse('2026-12-07T00:00:00Z');
  const fleet = new Fleet({ drones: 500, seed: 7, start: now - 3_600_000 });
  const batch = new IngestBatch(now, 'test', 'paris-nord', JSON.stringify('paris-nord'));
  for (const [i, report] of fleet.take(n).entries()) {
    const result = validateReport(report, { now, maxClockSkewMs: 86_400_000 });
    assert.ok(result.ok);
    batch.accept(i, result.report, result.ts, JSON.stringify(result.report));
  }
  return batch.records.map((r) => Buffer.from(r.value));
}

function parsedFields(v: Buffer): unknown {
  const r = JSON.parse(v.toString('utf8')) as { droneId: string; tenant: string; ts: number; position: { lat: number; lon: number } };
  return { droneId: r.droneId, tenant: r.tenant, ts: r.ts, position: { lat: r.position.lat, lon: r.position.lon } };
}

test('the scan reads what JSON.parse reads from every record ingestion writes', () => {
  const values = ingestedValues(3000);
  for (const v of values) assert.deepEqual(scanReportFields(v), parsedFields(v));
});

test('the scan declines (undefined, so the caller parses) whatever it cannot read exactly', () => {
  const [v] = ingestedValues(1);
  const text = v!.toString('utf8');
  const declined = (s: string): void => assert.equal(scanReportFields(Buffer.from(s)), undefined, s);
  // A key spelled with an escape, or any \u escape: JSON.parse would see a "ts" the scan cannot.
  declined(text.replace('"ts":', '"\\u0074s":'));
  declined(text.replace('"words":[', '"words":["caf\\u00e9",'));
  // A repeated key: JSON.parse keeps the last one.
  declined(text.replace(/}$/, ',"ts":1}'));
  declined(text.replace(/}$/, ',"droneId":"other"}'));
  // lat/lon outside the position object.
  declined(text.replace('"position":{"lat":', '"where":{"lat":').replace(/}$/, ',"position":{}}'));
  // Whitespace after a colon, or a string with an escape in it.
  declined(text.replace('"ts":', '"ts": '));
  declined(text.replace(/"droneId":"([^"]*)"/, '"droneId":"a\\"b"'));
  // A missing field.
  declined(text.replace(/,"tenant":"[^"]*"/, ''));
  declined('null');
  declined('');
});

test('a number the scan would misread is left to JSON.parse', () => {
  const [v] = ingestedValues(1);
  const text = v!.toString('utf8');
  assert.equal(scanReportFields(Buffer.from(text.replace(/"lat":[-0-9.e]+/, '"lat":"48.8"'))), undefined);
  assert.equal(scanReportFields(Buffer.from(text.replace(/"lat":[-0-9.e]+/, '"lat":1-2'))), undefined);
});

test('whatever the scan reads of a changed record is what JSON.parse reads (or it declines)', () => {
  // Records with pieces spliced in at random places: keys again, in other objects, escapes, braces, whitespace.
  const pieces = ['"lat":1,', '"lon":2,', '"ts":3,', '"tenant":"t",', '"droneId":"d",', '"position":{"lat":4,"lon":5},', '{', '}',
    '"x":{"lat":6},', '"\\u0074s":7,', ' ', '"a\\"b",', '"s":"}",', '"p":{"q":{}},'];
  const rnd = mulberry32(99);
  const values = ingestedValues(400);
  let read = 0;
  let compared = 0;
  for (let k = 0; k < 20_000; k++) {
    const text = values[k % values.length]!.toString('utf8');
    let changed = text;
    for (let m = 1 + Math.floor(rnd() * 2); m > 0; m--) {
      const at = Math.floor(rnd() * changed.length);
      changed = changed.slice(0, at) + pieces[Math.floor(rnd() * pieces.length)] + changed.slice(at);
    }
    let parsed: unknown;
    try {
      parsed = parsedFields(Buffer.from(changed));
    } catch {
      continue; // not JSON, or not a report's shape: the map skips it either way
    }
    compared++;
    const scanned = scanReportFields(Buffer.from(changed));
    if (scanned === undefined) continue;
    read++;
    assert.deepEqual(scanned, parsed, changed);
  }
  // The comparison must have happened on both sides: records still read by the scan, and some it declined.
  assert.ok(compared > 1000 && read > 100 && read < compared, `${read} read of ${compared} compared`);
});
