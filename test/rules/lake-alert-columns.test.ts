/**
 * The lake's alert events carry the rule version that raised each alert and whether (and by which silence) it was
 * silenced (issue 19), and a lake mixing files from before these columns with newer ones reads in DuckDB (the views,
 * compaction) and in Spark (deploy/spark/lake_stats.py's registration) alike: older rows give NULL, newer rows their
 * values. "Older" files are made as the writer made them before: the same file without the three columns.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, renameSync, statSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Alert, AlertEvent, AlertEventType } from '../../src/alerts/types.ts';
import { compactLake, LakeWriter } from '../../src/lake/index.ts';
import { openDuck } from '../../src/lake/duck.ts';
import { findSpark, sparkOrSkip, SPARK_JOB, tempDir } from '../../src/testkit/index.ts';
import { alertEventsInLake, byId, lakeRows, recordsOf } from '../lake/helpers.ts';

const H10 = Date.UTC(2026, 10, 3, 10, 5);
const H11 = Date.UTC(2026, 10, 3, 11, 5);
const ADDED = ['rule_version', 'silenced', 'silence_id'];

function event(id: string, type: AlertEventType, at: number, extra: Partial<Alert> = {}): AlertEvent {
  const alert: Alert = {
    alertId: id, tenant: 'default', droneId: `drone-${id}`, citizen: `citizen-${id}`, score: 3, severity: 'critical', rule: 'base',
    position: { lat: 48.85, lon: 2.35 }, words: [], firstReportId: `drone-${id}:${at}`, lastReportId: `drone-${id}:${at}`,
    firstSeenTs: at, lastSeenTs: at, raisedAt: at, updatedAt: at, occurrences: 1, status: 'open', assignee: null,
    acknowledgedBy: null, acknowledgedAt: null, resolvedBy: null, resolvedAt: null, note: null, ...extra,
  };
  return { eventId: `${id}#${type}`, type, at, by: type === 'raised' ? null : 'officer', alert };
}

/** Before the columns: alerts from before rules were data (no version) or whose silence the file could not say. */
const OLD = [event('a1', 'raised', H10), event('a2', 'raised', H10 + 1000), event('a3', 'raised', H10 + 2000, { ruleVersion: 1 })];
const NEW = [
  // a1 acknowledged after the upgrade: its latest state is in a new file (no version: raised before rules were data).
  event('a1', 'acknowledged', H10 + 60_000, { status: 'acknowledged', acknowledgedBy: 'officer', acknowledgedAt: H10 + 60_000, updatedAt: H10 + 60_000 }),
  event('a4', 'raised', H10 + 3000, { ruleVersion: 2 }),
  event('a5', 'raised', H10 + 4000, { ruleVersion: 2, silenced: 'silence-1' }),
  event('a6', 'raised', H11, { ruleVersion: 3, rule: 'near-cite' }),
];

/** Rewrites every alerts file of the lake without the added columns: what the writer produced before them. */
async function dropAddedColumns(lake: string): Promise<number> {
  const files = parquetFiles(path.join(lake, 'alerts'));
  const duck = await openDuck();
  try {
    for (const f of files) {
      await duck.conn.run(`COPY (SELECT * EXCLUDE (${ADDED.join(', ')}) FROM read_parquet('${f}', hive_partitioning = false)) TO '${f}.old' (FORMAT parquet, COMPRESSION zstd)`);
      renameSync(`${f}.old`, f);
    }
  } finally {
    duck.close();
  }
  return files.length;
}

function parquetFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    if (e.startsWith('_')) continue;
    const p = path.join(dir, e);
    if (statSync(p).isDirectory()) out.push(...parquetFiles(p));
    else if (e.endsWith('.parquet')) out.push(p);
  }
  return out.sort();
}

async function columnsOf(file: string): Promise<string[]> {
  const duck = await openDuck();
  try {
    const r = await duck.conn.runAndReadAll(`SELECT name FROM parquet_schema('${file}') WHERE name <> 'duckdb_schema'`);
    return r.getRowObjectsJS().map((x) => String(x.name));
  } finally {
    duck.close();
  }
}

const LATEST = 'SELECT alert_id, rule_version, silenced, silence_id FROM alerts ORDER BY alert_id';
/** What the statistics can now count: alerts per rule and version, silenced ones apart (NULL: written before the columns). */
const PER_VERSION = `SELECT rule, rule_version, count(*) AS alerts, count(*) FILTER (WHERE silenced) AS silenced,
  count(*) FILTER (WHERE silenced IS NULL) AS unknown FROM alerts GROUP BY ALL ORDER BY rule, rule_version NULLS FIRST`;

const EXPECTED_LATEST = [
  { alert_id: 'a1', rule_version: null, silenced: false, silence_id: null },
  { alert_id: 'a2', rule_version: null, silenced: null, silence_id: null },
  { alert_id: 'a3', rule_version: null, silenced: null, silence_id: null },
  { alert_id: 'a4', rule_version: 2, silenced: false, silence_id: null },
  { alert_id: 'a5', rule_version: 2, silenced: true, silence_id: 'silence-1' },
  { alert_id: 'a6', rule_version: 3, silenced: false, silence_id: null },
];
const EXPECTED_PER_VERSION = [
  { rule: 'base', rule_version: null, alerts: 3, silenced: 0, unknown: 2 },
  { rule: 'base', rule_version: 2, alerts: 2, silenced: 1, unknown: 0 },
  { rule: 'near-cite', rule_version: 3, alerts: 1, silenced: 0, unknown: 0 },
];

const plain = (rows: Record<string, unknown>[]): Record<string, unknown>[] =>
  rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v])));

describe('the lake\'s alert events: rule version and silence, over old and new files', () => {
  const tmp = tempDir('dw-lake-alert-cols-');
  const mixed = path.join(tmp.dir, 'mixed');
  const oldOnly = path.join(tmp.dir, 'old-only');

  before(async () => {
    for (const lake of [mixed, oldOnly]) {
      const w = await LakeWriter.open(lake);
      try {
        await w.write('alerts', 0, recordsOf(OLD));
      } finally {
        await w.close();
      }
      assert.ok((await dropAddedColumns(lake)) > 0);
    }
    const w = await LakeWriter.open(mixed);
    try {
      await w.write('alerts', 0, recordsOf(NEW, OLD.length));
    } finally {
      await w.close();
    }
  });
  after(() => tmp.cleanup());

  it('new files store the columns; a view over old and new files fills NULL for the old rows', async () => {
    const files = parquetFiles(path.join(mixed, 'alerts'));
    const has = await Promise.all(files.map(async (f) => (await columnsOf(f)).filter((c) => ADDED.includes(c)).length));
    assert.deepEqual(has, [0, 3, 3], 'the old batch (10:00) lacks the columns; the new batch (10:00 and 11:00) has all three');
    assert.deepEqual(plain(await lakeRows(mixed, LATEST)), EXPECTED_LATEST);
    assert.deepEqual(plain(await lakeRows(mixed, PER_VERSION)), EXPECTED_PER_VERSION);
    const events = plain(await lakeRows(mixed, "SELECT alert_id, \"type\", silenced FROM alert_events WHERE alert_id = 'a1' ORDER BY \"at\""));
    assert.deepEqual(events, [{ alert_id: 'a1', type: 'raised', silenced: null }, { alert_id: 'a1', type: 'acknowledged', silenced: false }]);
  });

  it('the new events come back exactly as the stream carried them (rule version and silence included)', async () => {
    const back = (await alertEventsInLake(mixed)).filter((e) => NEW.some((n) => n.eventId === e.eventId));
    assert.deepEqual(byId(back, (e) => e.eventId), byId(NEW, (e) => e.eventId));
  });

  it('a lake of old files only still has the columns (NULL)', async () => {
    const rows = plain(await lakeRows(oldOnly, 'SELECT alert_id, rule_version, silenced, silence_id FROM alert_events ORDER BY alert_id'));
    assert.deepEqual(rows, ['a1', 'a2', 'a3'].map((alert_id) => ({ alert_id, rule_version: null, silenced: null, silence_id: null })));
  });

  it('Spark registers the same columns over the same files and agrees with DuckDB', { skip: sparkOrSkip(), timeout: 300_000 }, async () => {
    const found = findSpark();
    assert.ok(!('missing' in found));
    // The job's own registration (Lake.register), then the two queries above; the session set as main() sets it.
    const script = `
import json, sys
sys.path.insert(0, ${JSON.stringify(path.dirname(SPARK_JOB))})
from lake_stats import Lake
from pyspark.sql import SparkSession
spark = (SparkSession.builder.master("local[1]").config("spark.sql.session.timeZone", "UTC")
         .config("spark.sql.sources.partitionColumnTypeInference.enabled", "false").config("spark.ui.enabled", "false")
         .config("spark.driver.bindAddress", "127.0.0.1").config("spark.driver.host", "127.0.0.1")
         .config("spark.sql.shuffle.partitions", "1").getOrCreate())
spark.sparkContext.setLogLevel("ERROR")
out = {}
for name, lake in (("mixed", sys.argv[1]), ("old", sys.argv[2])):
    Lake(spark, lake, "default").register()
    out[name] = {
        "latest": [r.asDict() for r in spark.sql(${JSON.stringify(LATEST)}).collect()],
        "perVersion": [r.asDict() for r in spark.sql(${JSON.stringify(PER_VERSION.replace('GROUP BY ALL', 'GROUP BY rule, rule_version'))}).collect()],
    }
spark.stop()
print("RESULT " + json.dumps(out))
`;
    const { stdout } = await promisify(execFile)(found.python, ['-c', script, mixed, oldOnly], {
      timeout: 280_000, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, SPARK_LOCAL_IP: '127.0.0.1', PYTHONUNBUFFERED: '1' },
    });
    const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
    assert.ok(line, `the script printed its result: ${stdout.slice(-500)}`);
    const got = JSON.parse(line.slice('RESULT '.length)) as Record<string, { latest: unknown[]; perVersion: unknown[] }>;
    assert.deepEqual(got.mixed!.latest, EXPECTED_LATEST);
    assert.deepEqual(got.mixed!.perVersion, EXPECTED_PER_VERSION);
    assert.deepEqual(got.old!.latest, ['a1', 'a2', 'a3'].map((alert_id) => ({ alert_id, rule_version: null, silenced: null, silence_id: null })));
  });

  it('compaction merges an hour of old and new files by column name', async () => {
    const r = await compactLake(mixed, { table: 'alerts', minFiles: 2, olderThanMs: 0 });
    assert.equal(r.merged, 1, 'the 10:00 hour (one old file, one new) merged');
    const hour10 = parquetFiles(path.join(mixed, 'alerts')).filter((f) => f.includes('hour=10'));
    assert.equal(hour10.length, 1);
    const cols = await columnsOf(hour10[0]!);
    for (const c of ADDED) assert.ok(cols.includes(c), `the merged file has ${c}`);
    assert.deepEqual(plain(await lakeRows(mixed, LATEST)), EXPECTED_LATEST, 'the same answer after compaction');
    assert.deepEqual(plain(await lakeRows(mixed, PER_VERSION)), EXPECTED_PER_VERSION);
  });

  it('an event whose rule version is not a positive integer is refused with the reason, the batch\'s others kept', async () => {
    const lake = path.join(tmp.dir, 'bad');
    const w = await LakeWriter.open(lake);
    try {
      const bad = event('b1', 'raised', H10, { ruleVersion: 1.5 });
      const batch = await w.write('alerts', 0, recordsOf([bad, event('b2', 'raised', H10, { ruleVersion: 4 })]));
      assert.deepEqual([batch.rows, batch.rejected], [1, 1]);
      const dir = path.join(lake, '_rejected', 'alerts');
      const lines = readFileSync(path.join(dir, readdirSync(dir)[0]!), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { reason: string });
      assert.deepEqual(lines.map((l) => l.reason), ['alert.ruleVersion must be a positive 32-bit integer when present']);
    } finally {
      await w.close();
    }
    assert.deepEqual(plain(await lakeRows(lake, 'SELECT alert_id, rule_version, silenced FROM alert_events')), [{ alert_id: 'b2', rule_version: 4, silenced: false }]);
  });
});
