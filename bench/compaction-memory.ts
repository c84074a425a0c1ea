/**
 * Peak memory of a closed hour's merge (docs/lake-format.md, "Size and speed"): synthetic rows of the reports schema
 * (3 citizens of 50,000 names, 4 words of 300) in 8 partition files, merged by the compaction's own stageCompaction
 * and DuckDB (openCompactionDuck) at zstd 15. Two processes, so that generating the inputs does not count:
 *
 *   node --import tsx bench/compaction-memory.ts gen <dir> <rows>
 *   /usr/bin/time -v node --import tsx bench/compaction-memory.ts merge <dir> [memoryLimit] [threads]
 *
 * `merge` prints rows, seconds and the process's peak RSS (getrusage maxrss, the same as time -v's figure).
 *
 *   node --import tsx bench/compaction-memory.ts retained <dir> [memoryLimit]
 *
 * `retained` runs the same merge in a worker thread, as the archive worker's thread did before issue 14's child
 * process, and prints the process's RSS before it, at its peak, and 10 s after its DuckDB is closed and the thread
 * has exited: what a merge leaves in the platform's RSS when it runs in the platform's process.
 */
import { Worker, isMainThread, workerData } from 'node:worker_threads';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { openCompactionDuck, stageCompaction } from '../src/lake/compact.ts';
import type { CompactionGroup } from '../src/lake/compact-plan.ts';
import { openDuck, sqlString } from '../src/lake/duck.ts';
import { dataFileName, type StreamRange } from '../src/lake/layout.ts';
import { openScratch } from '../src/lake/scratch.ts';
import { LocalObjectStore } from '../src/objectstore/index.ts';

const PARTITIONS = 8;
const DIR = 'reports/tenant=default/date=2025-01-15/hour=10';

async function gen(root: string, rows: number): Promise<void> {
  const dir = path.join(root, DIR);
  await fsp.mkdir(dir, { recursive: true });
  const duck = await openDuck();
  try {
    const per = Math.ceil(rows / PARTITIONS);
    for (let p = 0; p < PARTITIONS; p++) {
      const file = path.join(dir, dataFileName({ partition: p, first: 0, last: per - 1 }));
      // Drones by partition (as the stream keys them), one report a second each; names and words drawn at random.
      await duck.conn.run(`COPY (SELECT 'default' AS tenant, 'drone-' || (${p} + ${PARTITIONS} * (i % 2500)) AS drone_id,
          CAST(TIMESTAMP '2025-01-15 10:00:00' + to_milliseconds(CAST(i // 2500 * 1000 + i % 1000 AS BIGINT)) AS TIMESTAMP_MS) AS ts,
          CAST(480000000 + random() * 1000000 AS INTEGER) AS lat_e7, CAST(20000000 + random() * 1000000 AS INTEGER) AS lon_e7,
          CAST(NULL AS DOUBLE) AS lat_raw, CAST(NULL AS DOUBLE) AS lon_raw,
          [{'name': 'citizen-' || CAST(floor(random() * 50000) AS INTEGER), 'score': round(random(), 3)} for x in range(3)] AS citizens,
          ['word' || CAST(floor(random() * 300) AS INTEGER) for x in range(4)] AS words,
          CAST(random() * 2000 AS BIGINT) AS received_after_ms, CAST(NULL AS VARCHAR) AS report_id_raw, CAST(NULL AS VARCHAR) AS timestamp_raw
        FROM range(${per}) t(i)) TO ${sqlString(file)} (FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 3)`);
    }
  } finally {
    duck.close();
  }
}

async function merge(root: string, memoryLimit: string | undefined, threads: number | undefined): Promise<void> {
  const store = new LocalObjectStore(root);
  const names = (await fsp.readdir(path.join(root, DIR))).filter((n) => n.startsWith('p')).sort();
  const ranges: StreamRange[] = names.map((_, p) => ({ partition: p, first: 0, last: 0 }));
  const group: CompactionGroup = {
    table: 'reports', tenant: 'default', dir: DIR, kind: 'hour', ranges, output: `${DIR}/merged.parquet`,
    inputs: names.map((n, p) => ({ ranges: [ranges[p]!], tenant: 'default', key: `${DIR}/${n}`, dir: DIR, hour: { date: '2025-01-15', hour: '10' }, size: 0, mtimeMs: 0 })),
  };
  const scratch = await openScratch(path.join(root, 'scratch'));
  const duck = await openCompactionDuck(scratch, { ...(memoryLimit ? { memoryLimit } : {}), ...(threads ? { threads } : {}) });
  const t = performance.now();
  try {
    const s = await stageCompaction(store, duck, scratch, group, 15);
    const rss = process.resourceUsage().maxRSS / 1024 ** 2; // KiB -> GiB
    process.stdout.write(`${JSON.stringify({ rows: s.rows, bytes: s.bytes, seconds: Math.round((performance.now() - t) / 100) / 10, memoryLimit: memoryLimit ?? 'default', threads: threads ?? 1, peakRssGiB: Math.round(rss * 100) / 100 })}\n`);
  } finally {
    duck.close();
    await scratch.remove();
  }
  if (!isMainThread) {
    // In a thread that lives on (the archive worker's): the process's RSS once the merge's DuckDB is closed.
    await new Promise((r) => setTimeout(r, 5000));
    process.stdout.write(`${JSON.stringify({ rssAfterCloseInThreadMiB: Math.round(process.memoryUsage().rss / 2 ** 20) })}\n`);
  }
}

async function retained(root: string, memoryLimit: string | undefined): Promise<void> {
  const mib = (b: number): number => Math.round(b / 2 ** 20);
  const before = process.memoryUsage().rss;
  let peak = before;
  const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 200);
  const worker = new Worker(new URL('../src/runtime/thread-entry.js', import.meta.url), {
    workerData: { module: import.meta.url, args: ['merge', root, memoryLimit ?? ''] },
  });
  await new Promise<void>((resolve, reject) => {
    worker.on('error', reject);
    worker.on('exit', () => resolve());
  });
  const atExit = process.memoryUsage().rss;
  await new Promise((r) => setTimeout(r, 10_000));
  clearInterval(timer);
  process.stdout.write(`${JSON.stringify({ rssBeforeMiB: mib(before), rssPeakMiB: mib(peak), rssAtThreadExitMiB: mib(atExit), rss10sAfterMiB: mib(process.memoryUsage().rss) })}\n`);
}

const [mode, root, a, b] = isMainThread ? process.argv.slice(2) : (workerData as { args: string[] }).args;
if (mode === 'retained' && root) await retained(root, a);
else if (mode === 'gen' && root && a) await gen(root, Number(a));
else if (mode === 'merge' && root) await merge(root, a || undefined, b ? Number(b) : undefined);
else throw new Error('usage: compaction-memory.ts gen <dir> <rows> | merge <dir> [memoryLimit] [threads]');
