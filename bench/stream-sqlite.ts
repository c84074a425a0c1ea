/**
 * Micro-benchmark of the embedded SQLite stream, with a baseline measured in the same run: raw better-sqlite3 inserts
 * of the same rows into a plain table, one transaction per batch, same pragmas (WAL, synchronous=NORMAL).
 * Run: node --import tsx bench/stream-sqlite.ts [records]
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { type OutgoingRecord } from '../src/stream/index.ts';
import { tempDir } from '../src/testkit/index.ts';
import { SqliteStream } from '../src/backend/index.ts';

const BATCH = 1000;
const VALUE_BYTES = 300;
const KEYS = 1000;

function makeBatches(records: number, withIds: boolean, prefix: string): OutgoingRecord[][] {
  const value = new Uint8Array(VALUE_BYTES).fill(120);
  const batches: OutgoingRecord[][] = [];
  for (let i = 0; i < records; i += BATCH) {
    const n = Math.min(BATCH, records - i);
    batches.push(Array.from({ length: n }, (_, j) => {
      const k = i + j;
      return withIds ? { key: `drone-${k % KEYS}`, value, id: `${prefix}-drone-${k % KEYS}:${1_700_000_000_000 + k}` } : { key: `drone-${k % KEYS}`, value };
    }));
  }
  return batches;
}

function percentile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
}

function baseline(file: string, batches: OutgoingRecord[][]): number {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec('CREATE TABLE rows (id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL)');
  const insert = db.prepare('INSERT INTO rows (ts, key, value) VALUES (?, ?, ?)');
  const tx = db.transaction((batch: OutgoingRecord[]) => {
    const now = Date.now();
    for (const r of batch) insert.run(now, r.key, Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength));
  });
  const t0 = performance.now();
  let n = 0;
  for (const b of batches) { tx(b); n += b.length; }
  const rate = n / ((performance.now() - t0) / 1000);
  db.close();
  return rate;
}

async function publishRate(stream: SqliteStream, topic: string, batches: OutgoingRecord[][]): Promise<number> {
  const t0 = performance.now();
  let n = 0;
  for (const b of batches) { await stream.publish(topic, b); n += b.length; }
  return n / ((performance.now() - t0) / 1000);
}

async function consumeRate(stream: SqliteStream, topic: string, expected: number): Promise<number> {
  const c = await stream.consumer({ topic, group: 'bench' });
  const t0 = performance.now();
  let n = 0;
  while (n < expected) {
    const got = await c.poll({ maxRecords: 1000, waitMs: 100 });
    if (got.length === 0) break;
    await c.commit(got);
    n += got.length;
  }
  const rate = n / ((performance.now() - t0) / 1000);
  await c.close();
  return rate;
}

/** Publish-to-poll latency in one process: a consumer waits in poll while one record is published. */
async function latency(stream: SqliteStream, topic: string, rounds: number): Promise<{ p50: number; p99: number }> {
  const c = await stream.consumer({ topic, group: 'latency', start: 'latest' });
  const value = new Uint8Array(VALUE_BYTES);
  const samples: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const waiting = c.poll({ waitMs: 5000, maxRecords: 10 });
    // Let the poll reach its wait before publishing.
    await new Promise((r) => setImmediate(r));
    const t0 = performance.now();
    await Promise.all([stream.publish(topic, [{ key: `drone-${i % KEYS}`, value }]), waiting.then((recs) => {
      samples.push(performance.now() - t0);
      return c.commit(recs);
    })]);
  }
  await c.close();
  samples.sort((a, b) => a - b);
  return { p50: percentile(samples, 0.5), p99: percentile(samples, 0.99) };
}

export async function benchStreamSqlite(opts: { records: number }): Promise<Record<string, number>> {
  const tmp = tempDir('dw-bench-stream-');
  try {
    const plain = makeBatches(opts.records, false, 'a');
    const withIds = makeBatches(opts.records, true, 'b');
    const baselineRate = baseline(path.join(tmp.dir, 'baseline.db'), plain);
    const stream = await SqliteStream.open(path.join(tmp.dir, 'stream.db'), { maintenanceIntervalMs: 0 });
    try {
      await stream.ensureTopic('plain', { partitions: 8 });
      await stream.ensureTopic('reports', { partitions: 8, duplicateWindowMs: 10 * 60_000 });
      await stream.ensureTopic('latency', { partitions: 8 });
      const publishPlain = await publishRate(stream, 'plain', plain);
      const publishDedup = await publishRate(stream, 'reports', withIds);
      const consume = await consumeRate(stream, 'reports', opts.records);
      const lat = await latency(stream, 'latency', 2000);
      return {
        baseline_insert_rps: Math.round(baselineRate),
        publish_rps: Math.round(publishPlain),
        publish_dedup_rps: Math.round(publishDedup),
        consume_commit_rps: Math.round(consume),
        latency_p50_ms: Number(lat.p50.toFixed(3)),
        latency_p99_ms: Number(lat.p99.toFixed(3)),
      };
    } finally {
      await stream.close();
    }
  } finally {
    tmp.cleanup();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const records = Number(process.argv[2] ?? 200_000);
  const r = await benchStreamSqlite({ records });
  const rows: [string, string][] = [
    ['baseline: raw inserts, 1 tx / 1000 rows', `${r.baseline_insert_rps!.toLocaleString('en')} rec/s`],
    ['publish, batches of 1000 x 300 B', `${r.publish_rps!.toLocaleString('en')} rec/s (${((r.publish_rps! / r.baseline_insert_rps!) * 100).toFixed(0)}% of baseline)`],
    ['publish with dedup ids', `${r.publish_dedup_rps!.toLocaleString('en')} rec/s (${((r.publish_dedup_rps! / r.baseline_insert_rps!) * 100).toFixed(0)}% of baseline)`],
    ['consume + commit, polls of 1000', `${r.consume_commit_rps!.toLocaleString('en')} rec/s`],
    ['publish-to-poll latency p50', `${r.latency_p50_ms} ms`],
    ['publish-to-poll latency p99', `${r.latency_p99_ms} ms`],
  ];
  console.log(`stream-sqlite: ${records.toLocaleString('en')} records of ${VALUE_BYTES} B`);
  const w = Math.max(...rows.map(([k]) => k.length));
  for (const [k, v] of rows) console.log(`  ${k.padEnd(w)}  ${v}`);
}
