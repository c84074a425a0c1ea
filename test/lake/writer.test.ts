import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { AcceptedReport } from '../../src/contract/types.ts';
import { LakeWriter, listLiveFiles } from '../../src/lake/index.ts';
import { tempDir } from '../../src/testkit/index.ts';
import { SampleFleet, sampleAlertEvents, mulberry32 } from './fixtures/sample.ts';
import { alertEventsInLake, byId, countRows, lakeRows, recordsOf, reportsInLake } from './helpers.ts';

async function duckRows(sql: string): Promise<Record<string, unknown>[]> {
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  try {
    return (await conn.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
  } finally {
    conn.closeSync();
    db.closeSync();
  }
}

/** Reports that exercise every exactness rule of the stored layout. */
function awkwardReports(): AcceptedReport[] {
  const rand = mulberry32(7);
  const base = Date.UTC(2025, 2, 1, 10, 59, 59, 998);
  const make = (i: number, over: Partial<AcceptedReport>): AcceptedReport => {
    const ts = over.ts ?? base + i;
    return {
      reportId: `drone-x${i % 3}:${ts}`, droneId: `drone-x${i % 3}`, timestamp: new Date(ts).toISOString(), ts, receivedAt: ts + 15, tenant: 'default',
      position: { lat: 48.8566, lon: 2.3522 }, citizens: [{ name: 'Ana Lopez', score: 50 }], words: ['calm'], ...over,
    };
  };
  return [
    make(0, {}),
    make(1, {}), // 10:59:59.999
    make(2, {}), // 11:00:00.000: next hour directory
    make(3, { position: { lat: rand() * 180 - 90, lon: rand() * 360 - 180 } }), // full-precision doubles
    make(4, { position: { lat: 1e-300, lon: -123456.78901234567 } }),
    make(5, { position: { lat: 48.8566123, lon: -2.1234567 } }), // exactly 7 decimals
    make(6, { position: { lat: 90, lon: -180 } }),
    make(7, { timestamp: '2025-03-01T12:00:00.005+01:00', ts: Date.UTC(2025, 2, 1, 11, 0, 0, 5) }), // non-canonical text
    make(8, { timestamp: '2025-03-01T11:00:00Z', ts: Date.UTC(2025, 2, 1, 11, 0, 0, 0) }),
    make(9, { reportId: 'legacy-id-42' }), // not derived from drone and time
    make(10, { receivedAt: base + 10 - 300_000 }), // received before its timestamp (drone clock ahead)
    make(11, { citizens: [], words: [] }),
    make(12, {
      citizens: [{ name: "O'Brien \"Jr\", 日本\n", score: 12.345678901234567 }, { name: '', score: 0 }, { name: 'Zoë', score: 100 }],
      words: ['a,b', '"quoted"', 'émeute', ''],
    }),
    make(13, { ts: -1500, timestamp: '1969-12-31T23:59:58.500Z', receivedAt: 0 }), // before 1970
    make(14, { droneId: 'drone:with:colons', reportId: `drone:with:colons:${base + 14}` }),
  ];
}

describe('lake writer: layout, types and exact round trip', () => {
  const tmp = tempDir('dw-lake-writer-');
  let writer: LakeWriter;
  before(async () => {
    writer = await LakeWriter.open(tmp.dir);
  });
  after(async () => {
    await writer.close();
    tmp.cleanup();
  });

  it('writes hour-partitioned zstd Parquet files named by stream range, with the documented types', async () => {
    const root = path.join(tmp.dir, 'layout');
    const w = await LakeWriter.open(root);
    const reports = new SampleFleet({ drones: 40, start: Date.UTC(2025, 0, 15, 9, 59, 0) }).reports(2000);
    const batch = await w.write('reports', 3, recordsOf(reports, 1000));
    await w.close();
    assert.equal(batch.rows, 2000);
    assert.deepEqual(batch.files.map((f) => f.dst).sort(), [
      'reports/tenant=default/date=2025-01-15/hour=09/p0003-0000000000001000-0000000000002999.parquet',
      'reports/tenant=default/date=2025-01-15/hour=10/p0003-0000000000001000-0000000000002999.parquet',
    ]);
    assert.equal(existsSync(path.join(root, '_commits')), false, 'the commit record is pruned once the batch is complete');
    assert.deepEqual(readdirSync(path.join(root, '_checkpoints', 'reports', 'p0003')), ['0000000000002999.json'], 'the checkpoint says where the partition is');
    const files = await listLiveFiles(root, 'reports', { tenant: 'default' });
    assert.equal(files.length, 2);
    const schema = await duckRows(`SELECT name, type, logical_type FROM parquet_schema('${files[0]}') WHERE name <> 'duckdb_schema'`);
    const types = Object.fromEntries(schema.map((r) => [r.name, r.type]));
    assert.equal(types.drone_id, 'BYTE_ARRAY');
    assert.equal(types.ts, 'INT64');
    assert.match(String(schema.find((r) => r.name === 'ts')!.logical_type), /MILLIS/);
    assert.equal(types.lat_e7, 'INT32');
    assert.equal(types.lat_raw, 'DOUBLE');
    assert.equal(types.received_after_ms, 'INT64');
    const codecs = await duckRows(`SELECT DISTINCT compression FROM parquet_metadata('${files[0]}')`);
    assert.deepEqual(codecs.map((c) => c.compression), ['ZSTD']);
    // Rows sorted by drone_id, ts within each file.
    for (const f of files) {
      const [r] = await duckRows(`SELECT count(*) FILTER (WHERE NOT ok) AS unsorted FROM (
        SELECT coalesce((drone_id, ts) >= lag((drone_id, ts)) OVER (ORDER BY file_row_number), true) AS ok FROM read_parquet('${f}', file_row_number = true))`);
      assert.equal(Number(r!.unsorted), 0, `${f} is sorted`);
    }
    // The view adds the hive columns and the derived ones.
    const [first] = await lakeRows(root, `SELECT date, hour, citizen_count, min_score, typeof(ts) AS t, typeof(received_at) AS rt FROM reports ORDER BY ts LIMIT 1`);
    assert.deepEqual(first, { date: '2025-01-15', hour: 9, citizen_count: reports.find((r) => r.ts === Math.min(...reports.map((x) => x.ts)))!.citizens.length,
      min_score: first!.min_score, t: 'TIMESTAMP', rt: 'TIMESTAMP' });
  });

  it('gives back every field of every report exactly (doubles, texts, ids, instants)', async () => {
    const root = path.join(tmp.dir, 'exact');
    const w = await LakeWriter.open(root);
    const reports = [...awkwardReports(), ...new SampleFleet({ drones: 20, seed: 3 }).reports(500)];
    await w.write('reports', 0, recordsOf(reports));
    // -0 cannot come out of JSON.stringify, but a producer may send it: it must survive too.
    const negZero = { ...awkwardReports()[0]!, reportId: 'neg-zero', position: { lat: -0, lon: 2.5 } };
    await w.write('reports', 1, [{ offset: 0, value: JSON.stringify(negZero).replace('"lat":0', '"lat":-0.0') }]);
    await w.close();
    const back = byId(await reportsInLake(root), (r) => r.reportId);
    const expected = byId([...reports, negZero], (r) => r.reportId);
    assert.equal(back.length, expected.length);
    for (let i = 0; i < expected.length; i++) assert.deepStrictEqual(back[i], expected[i], `report ${expected[i]!.reportId}`);
    assert.ok(Object.is(back.find((r) => r.reportId === 'neg-zero')!.position.lat, -0));
    const [derived] = await lakeRows(root, `SELECT citizen_count, min_score FROM reports WHERE report_id = 'legacy-id-42'`);
    assert.deepEqual(derived, { citizen_count: 1, min_score: 50 });
    const [empty] = await lakeRows(root, `SELECT citizen_count, min_score FROM reports WHERE words = []`);
    assert.deepEqual(empty, { citizen_count: 0, min_score: null });
    const hours = await lakeRows(root, `SELECT DISTINCT date, hour FROM reports WHERE drone_id LIKE 'drone-x%' ORDER BY ALL`);
    assert.deepEqual(hours, [{ date: '1969-12-31', hour: 23 }, { date: '2025-03-01', hour: 10 }, { date: '2025-03-01', hour: 11 }]);
  });

  it('stores alert events with every field and shows the latest state per alert', async () => {
    const root = path.join(tmp.dir, 'alerts');
    const w = await LakeWriter.open(root);
    const events = sampleAlertEvents(new SampleFleet({ drones: 30, seed: 5 }).reports(600), 10);
    assert.ok(events.some((e) => e.alert.note !== null) && events.some((e) => e.by !== null));
    await w.write('alerts', 2, recordsOf(events.slice(0, 70)));
    await w.write('alerts', 2, recordsOf(events.slice(70), 70));
    await w.close();
    const back = await alertEventsInLake(root);
    assert.deepStrictEqual(back, byId(events, (e) => e.eventId));
    const latest = await lakeRows(root, `SELECT alert_id, status, note FROM alerts ORDER BY alert_id`);
    const expected = new Map<string, { status: string; note: string | null }>();
    for (const e of events) expected.set(e.alert.alertId, { status: e.alert.status, note: e.alert.note }); // events are in order per alert
    assert.deepEqual(latest, [...expected].sort(([a], [b]) => (a < b ? -1 : 1)).map(([id, v]) => ({ alert_id: id, ...v })));
    const [t] = await lakeRows(root, `SELECT typeof("at") AS a, typeof(resolved_at) AS r, typeof(words) AS w FROM alert_events LIMIT 1`);
    assert.deepEqual(t, { a: 'TIMESTAMP', r: 'TIMESTAMP', w: 'VARCHAR[]' });
  });

  it('sets aside records it cannot store exactly, verbatim, and keeps the others', async () => {
    const root = path.join(tmp.dir, 'rejects');
    const w = await LakeWriter.open(root);
    const good = new SampleFleet({ drones: 5, seed: 9 }).reports(4);
    const values = [
      JSON.stringify(good[0]),
      '{"reportId": "broken", ', // not JSON
      JSON.stringify({ ...good[1], ts: 1.5 }), // fractional epoch ms would be rounded by a BIGINT column
      JSON.stringify(good[2]),
      JSON.stringify({ ...good[3], position: null }),
    ];
    const batch = await w.write('reports', 4, recordsOf(values, 100));
    await w.close();
    assert.equal(batch.rows, 2);
    assert.equal(batch.rejected, 3);
    assert.deepStrictEqual(byId(await reportsInLake(root), (r) => r.reportId), byId([good[0]!, good[2]!], (r) => r.reportId));
    const rejectedFile = path.join(root, '_rejected', 'reports', 'p0004-0000000000000100-0000000000000104.ndjson');
    assert.ok(existsSync(rejectedFile));
    const lines = readFileSync(rejectedFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { offset: number; reason: string; value: string });
    assert.deepEqual(lines.map((l) => l.offset), [101, 102, 104]);
    assert.deepEqual(lines.map((l) => l.value), [values[1], values[2], values[4]]);
    assert.match(lines[1]!.reason, /ts/);
  });

  it('produces the same files with PARTITION_BY as with one COPY per hour', async () => {
    const reports = new SampleFleet({ drones: 30, seed: 11, start: Date.UTC(2025, 0, 15, 9, 59, 30) }).reports(900);
    const roots = ['per-hour', 'partition-by'] as const;
    for (const strategy of roots) {
      const w = await LakeWriter.open(path.join(tmp.dir, strategy), { strategy });
      await w.write('reports', 0, recordsOf(reports));
      await w.close();
    }
    const [a, b] = await Promise.all(roots.map((r) => listLiveFiles(path.join(tmp.dir, r), 'reports', { tenant: 'default' })));
    assert.equal(a!.length, 2);
    assert.deepEqual(a!.map((f) => path.relative(path.join(tmp.dir, 'per-hour'), f)), b!.map((f) => path.relative(path.join(tmp.dir, 'partition-by'), f)));
    for (const f of [...a!, ...b!]) {
      const [r] = await duckRows(`SELECT count(*) FILTER (WHERE NOT ok) AS unsorted FROM (
        SELECT coalesce((drone_id, ts) >= lag((drone_id, ts)) OVER (ORDER BY file_row_number), true) AS ok FROM read_parquet('${f}', file_row_number = true))`);
      assert.equal(Number(r!.unsorted), 0, `${f} is sorted`);
    }
    assert.deepStrictEqual(await reportsInLake(path.join(tmp.dir, 'partition-by')), await reportsInLake(path.join(tmp.dir, 'per-hour')));
    assert.equal(await countRows(path.join(tmp.dir, 'partition-by'), 'reports'), 900);
  });

  it('refuses batches whose offsets do not increase', async () => {
    await assert.rejects(writer.stage('reports', 0, [{ offset: 5, value: '{}' }, { offset: 5, value: '{}' }]), /increase/);
  });
});
