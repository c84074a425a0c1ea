/**
 * Soak (issue 15, item 11): the embedded platform as `up` runs it (HTTP API, alert consumer, archive consumer in its
 * thread) under a steady offered load for N minutes (HTTP clients in a process of their own, bench/soak-clients.ts),
 * with the other work an officer's day brings: an SSE subscriber
 * on the live alert feed and a SQL query every few seconds. Measured: reports acknowledged per second against the
 * offered rate, answers other than 202 (503s counted apart: refused, not lost), log lines at warn and error, RSS
 * sampled every 5 s (first minute vs last minute vs peak), and at the end, after a clean stop, the lake against what
 * was acknowledged (count and distinct report ids). Not a test: its figures are recorded in docs/benchmarks.md.
 * Loopback only; it stops by itself after --minutes.
 *
 *   node --import tsx bench/soak.ts [--minutes=30] [--rate=10000] [--batch=500] [--report-time=now|spread]
 *     [--compaction=on|off] [--compact-in=child|here] [--memory-detail]
 *
 * --report-time=now (default): the drones' reports are stamped near the wall clock, as in production (a fleet of
 *   rate x 60 drones, each reporting once a minute): the newest hour is open, and a closed hour's merge across
 *   partitions happens only if the soak crosses an hour boundary (10 minutes after it). `spread`: the soak's
 *   reports span ~36 h of past report time (the behaviour before issue 14's soak work), so the archive's compaction
 *   merges 30+ closed hours during the load: a "compaction under load" run.
 * --compaction=off: the archive worker does not compact (archive.compactMinFiles 0), for an A/B.
 * --compact-in=here: closed hours are merged in the archive thread (archive.compactIn here, before issue 14) instead
 *   of a child process (the default).
 * --memory-detail: each 5-s sample also splits RSS by mapping (/proc/self/smaps: glibc's main arena [heap],
 *   anonymous mappings, file-backed) and records the V8 heap of the main and of the archive thread; printed per minute.
 * --heap-snapshot-at=8[,9]: a heap snapshot of the main thread at these minutes of the load (soak-<minute>.heapsnapshot
 *   in the working directory; it pauses the platform for a few seconds): what holds the Buffers and the heap.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { getHeapStatistics, writeHeapSnapshot } from 'node:v8';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { dataPaths, validateConfig } from '../src/config/index.ts';
import { openLakeQuery } from '../src/lake/index.ts';
import type { ArchiveStats } from '../src/archive/index.ts';
import { ArchiveThread } from '../src/runtime/archive-host.ts';
import type { ThreadMemory } from '../src/runtime/archive-thread.ts';
import { Platform } from '../src/runtime/platform.ts';
import { tempDir } from '../src/testkit/index.ts';
import type { SoakClientResult, SoakClientSettings } from './soak-clients.ts';
import { isMain, printTable } from './util.ts';

export interface SoakOptions {
  minutes: number;
  /** Offered reports per second. */
  rate: number;
  /** Reports per request (NDJSON). */
  batch: number;
  /** Concurrent posting clients. */
  clients?: number;
  /** `now` (default): report time near the wall clock; `spread`: ~36 h of past report time (compaction under load). */
  reportTime?: 'now' | 'spread';
  /** false: the archive worker does not compact. Default true. */
  compaction?: boolean;
  /** archive.compactIn (default: the configuration's, `child`). */
  compactIn?: 'child' | 'here';
  /** Split RSS by mapping and V8 heaps per thread, every sample. */
  memoryDetail?: boolean;
  /** Minutes into the load at which to write a heap snapshot of the main thread (into the working directory). */
  heapSnapshotsAt?: number[];
}

/** RSS split by kind of mapping (/proc/self/smaps), bytes. */
export interface MappingSplit {
  /** glibc's main arena (brk heap): malloc of the main thread and small allocations. */
  brkHeap: number;
  /** Anonymous mappings: V8 heaps, other glibc arenas (threads), DuckDB's and SQLite's large allocations, mmap'd Buffers. */
  anon: number;
  /** File-backed: code of node, DuckDB, SQLite; mapped files. */
  file: number;
  /** Thread stacks and the rest. */
  other: number;
  /** Anonymous mappings of 64 MiB-aligned glibc thread arenas (an estimate: rw part of a heap reserved in 64 MiB). */
  arenas: number;
}

/** Reads /proc/self/smaps; undefined where it does not exist (not Linux). */
export function mappingSplit(pid: number | 'self' = 'self'): MappingSplit | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/smaps`, 'utf8');
  } catch {
    return undefined;
  }
  const out: MappingSplit = { brkHeap: 0, anon: 0, file: 0, other: 0, arenas: 0 };
  let kind: keyof MappingSplit = 'other';
  let arenaLike = false;
  for (const line of text.split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ (\d+)\s*(.*)$/.exec(line);
    if (head) {
      const name = head[5]!;
      const start = BigInt(`0x${head[1]!}`);
      if (name === '[heap]') kind = 'brkHeap';
      else if (name === '' || name.startsWith('[anon')) kind = 'anon';
      else if (name.startsWith('/')) kind = 'file';
      else kind = 'other';
      // glibc reserves each thread arena as a 64 MiB-aligned region (HEAP_MAX_SIZE), read-write at its start.
      arenaLike = kind === 'anon' && head[3]!.startsWith('rw') && start % BigInt(64 * MiB) === 0n;
      continue;
    }
    if (line.startsWith('Rss:')) {
      const bytes = Number(/(\d+)/.exec(line)![1]) * 1024;
      out[kind] += bytes;
      if (arenaLike) out.arenas += bytes;
    }
  }
  return out;
}

const MiB = 2 ** 20;

export async function benchSoak(o: SoakOptions): Promise<Record<string, number | string>> {
  const tmp = tempDir('dw-soak-');
  const log = { warn: 0, error: 0, first: [] as string[] };
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line) continue;
        const level = (JSON.parse(line) as { level: number }).level;
        if (level >= 50) log.error++;
        else if (level >= 40) log.warn++;
        if (log.first.length < 5) log.first.push(line.slice(0, 300));
      }
      done();
    },
  });
  const logger = pino({ level: 'warn' }, sink);
  const config = validateConfig({ dataDir: tmp.dir, security: { enabled: false }, http: { port: 0, host: '127.0.0.1' }, ingest: { perDroneRequestsPerSecond: 0 },
    archive: { ...(o.compaction === false ? { compactMinFiles: 0 } : {}), ...(o.compactIn ? { compactIn: o.compactIn } : {}) } });
  const platform = await Platform.open(config, { logger });
  let stopped = false;
  try {
    await platform.start({ http: 'api', alerts: true, archive: 'thread' });
    const base = platform.address!;
    const total = o.rate * o.minutes * 60;
    let drones: number;
    let fleetStart: number;
    if (o.reportTime === 'spread') {
      // Drones enough that the soak's reports span under two days of report time ending now (no future timestamps).
      drones = Math.max(1000, Math.ceil(total / (36 * 60)));
      fleetStart = Date.now() - Math.ceil(total / drones + 5) * 60_000;
    } else {
      // One report a minute per drone at the offered rate: report time follows the wall clock (a minute behind at
      // most), as a live fleet's does.
      drones = Math.max(1000, Math.round(o.rate * 60));
      fleetStart = Date.now() - 60_000;
    }

    // The officers' side: one live-feed subscriber, and a query every 5 s.
    const sse = { events: 0, errors: 0 };
    const sseAbort = new AbortController();
    const sseDone = (async () => {
      try {
        const res = await fetch(`${base}/v1/alerts/stream`, { signal: sseAbort.signal });
        const reader = res.body!.getReader();
        const text = new TextDecoder();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          sse.events += (text.decode(value, { stream: true }).match(/^data:/gm) ?? []).length;
        }
      } catch (e) {
        if (!sseAbort.signal.aborted) { sse.errors++; log.first.push(`sse: ${(e as Error).message}`); }
      }
    })();
    const queries = { ok: 0, failed: new Map<string, number>(), ms: [] as number[] };
    // The first answer of each kind of failure is kept whole in the first log lines (a 400 says why in its message).
    const queryFailed = (why: string, text?: string): void => {
      if (!queries.failed.has(why) && text !== undefined && !why.startsWith('429')) log.first.push(`query ${why}: ${text.slice(0, 400)}`);
      queries.failed.set(why, (queries.failed.get(why) ?? 0) + 1);
    };
    const queryTimer = setInterval(() => {
      const t0 = performance.now();
      fetch(`${base}/v1/query`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sql: 'SELECT count(*) AS n, count(DISTINCT drone_id) AS d FROM reports' }) })
        .then(async (res) => {
          const text = await res.text();
          if (res.ok) { queries.ok++; queries.ms.push(performance.now() - t0); } else queryFailed(`${res.status} ${/"code":"(\w+)"/.exec(text)?.[1] ?? ''}`.trim(), text);
        }, (e: Error) => { queryFailed(e.message); });
    }, 5000);

    const rss: {
      at: number; bytes: number; heap: number; external: number; lag: Record<string, number>; lakeRows: number;
      split?: MappingSplit; mainHeap?: ThreadMemory; archiveHeap?: ThreadMemory | undefined; compactions?: number;
    }[] = [];
    const started = Date.now();
    const archiveThread = platform.archiveWorker instanceof ArchiveThread ? platform.archiveWorker : undefined;
    const rssTimer = setInterval(() => {
      const m = process.memoryUsage();
      const s = platform.snapshot();
      const sample: (typeof rss)[number] = { at: Date.now() - started, bytes: m.rss, heap: m.heapUsed, external: m.external, lag: s.lag, lakeRows: s.lakeRows };
      if (o.memoryDetail) {
        const split = mappingSplit();
        if (split) sample.split = split;
        const h = getHeapStatistics();
        sample.mainHeap = { heapPhysical: h.total_physical_size, heapUsed: h.used_heap_size, external: h.external_memory, youngGenerationMb: 0 };
        sample.archiveHeap = archiveThread?.memory();
        sample.compactions = platform.archiveWorker?.stats().compactions ?? 0;
      }
      rss.push(sample);
    }, 5000);
    const snapshotTimers = (o.heapSnapshotsAt ?? []).map((minute) => setTimeout(() => {
      const file = writeHeapSnapshot(`soak-${minute}.heapsnapshot`);
      process.stderr.write(`soak: heap snapshot ${file}\n`);
    }, minute * 60_000));
    // The drones: a process of their own (bench/soak-clients.ts), as real ones would be.
    const end = started + o.minutes * 60_000;
    const settings: SoakClientSettings = {
      base, rate: o.rate, batch: o.batch, clients: o.clients ?? 8, startAt: started, endAt: end, drones, seed: 11, fleetStart,
    };
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./soak-clients.ts', import.meta.url)), JSON.stringify(settings)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const sent = await new Promise<SoakClientResult>((resolve, reject) => {
      child.once('message', (m) => resolve(m as SoakClientResult));
      child.once('exit', (code) => reject(new Error(`soak clients exited (${code}) without their counts`)));
    });
    const answers = new Map(sent.answers);
    const { acknowledged, offered } = sent;
    // The load's window (the clients' process starts and reports after it).
    const loadSeconds = (Math.min(Date.now(), end) - started) / 1000;
    const archive = platform.status().components.archive as ArchiveStats | undefined;
    const refused = platform['admission']?.stats().refused;
    clearInterval(queryTimer);
    clearInterval(rssTimer);
    for (const t of snapshotTimers) clearTimeout(t);
    sseAbort.abort();
    await sseDone;
    const stopT0 = performance.now();
    await platform.stop();
    stopped = true;
    const stopSeconds = (performance.now() - stopT0) / 1000;

    const q = await openLakeQuery(dataPaths(config).lake, { tenant: 'default' });
    let lakeRows = 0;
    let lakeDistinct = 0;
    try {
      const r = await q.run('SELECT count(*) AS n, count(DISTINCT report_id) AS d FROM reports');
      lakeRows = Number(r.rows[0]![0]);
      lakeDistinct = Number(r.rows[0]![1]);
    } finally {
      await q.close();
    }
    const mib = (b: number): number => Math.round(b / MiB);
    const first = rss.filter((s) => s.at <= 60_000);
    const last = rss.filter((s) => s.at >= loadSeconds * 1000 - 60_000);
    const firstMinute = first.map((s) => s.bytes);
    const lastMinute = last.map((s) => s.bytes);
    const maxOf = (xs: readonly number[]): number | string => (xs.length ? mib(Math.max(...xs)) : 'none');
    const notAccepted = [...answers].filter(([k]) => k !== '202').map(([k, n]) => `${k} x${n}`).join(', ') || 'none';
    const sortedQ = [...queries.ms].sort((a, b) => a - b);
    // One line per minute (the last sample of each): whether memory and the consumers' lag level off or keep growing.
    const timeline = rss.filter((s, i) => i === rss.length - 1 || Math.floor(rss[i + 1]!.at / 60_000) > Math.floor(s.at / 60_000));
    printTable('soak timeline (per minute)', Object.fromEntries(timeline.map((s) => [
      `${(s.at / 60_000).toFixed(1)} min`,
      `RSS ${mib(s.bytes)} MiB, heap ${mib(s.heap)}, external ${mib(s.external)}, lag ${Object.entries(s.lag).map(([g, n]) => `${g} ${n}`).join(' ')}, lake ${s.lakeRows}`
        + (s.split ? `; [heap] ${mib(s.split.brkHeap)}, anon ${mib(s.split.anon)} (64M-aligned arenas ${mib(s.split.arenas)}), file ${mib(s.split.file)}, other ${mib(s.split.other)}` : '')
        + (s.mainHeap ? `; V8 main ${mib(s.mainHeap.heapPhysical)} (used ${mib(s.mainHeap.heapUsed)}, ext ${mib(s.mainHeap.external)})` : '')
        + (s.archiveHeap ? `, archive ${mib(s.archiveHeap.heapPhysical)} (used ${mib(s.archiveHeap.heapUsed)}, ext ${mib(s.archiveHeap.external)})` : '')
        + (s.compactions !== undefined ? `; merges ${s.compactions}` : ''),
    ])));
    return {
      'minutes of load': Number((loadSeconds / 60).toFixed(2)),
      'offered reports/s': Math.round(offered / loadSeconds),
      'acknowledged reports/s': Math.round(acknowledged / loadSeconds),
      'reports acknowledged': acknowledged,
      'answers other than 202': notAccepted,
      'log lines warn / error': `${log.warn} / ${log.error}`,
      'SSE alert events received': sse.events,
      'SSE errors': sse.errors,
      '503 by signal': refused ? Object.entries(refused).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(', ') || 'none' : 'none',
      'queries ok': queries.ok,
      'queries failed': [...queries.failed].map(([k, n]) => `${k} x${n}`).join(', ') || 'none',
      'query ms median': sortedQ.length ? Math.round(sortedQ[Math.floor(sortedQ.length / 2)]!) : 'none',
      'RSS MiB first minute (max)': firstMinute.length ? mib(Math.max(...firstMinute)) : 'none',
      'RSS MiB last minute (max)': lastMinute.length ? mib(Math.max(...lastMinute)) : 'none',
      'RSS MiB peak': rss.length ? mib(Math.max(...rss.map((s) => s.bytes))) : 'none',
      // Flat or not, once warm: the least-squares slope of RSS over the second half of the load (the stream's dedup
      // index grows until its window, 10 minutes, is full; a run of 30 minutes has 15 warm ones).
      'RSS slope over the second half, MiB/min': slopeMiBPerMin(rss.filter((s) => s.at >= loadSeconds * 500)),
      // RSS growth outside the JS heap and Buffers is native memory: DuckDB (analysis, lake writer), SQLite caches.
      'JS heap used MiB first / last minute (max)': `${maxOf(first.map((s) => s.heap))} / ${maxOf(last.map((s) => s.heap))}`,
      'external (Buffers) MiB first / last minute (max)': `${maxOf(first.map((s) => s.external))} / ${maxOf(last.map((s) => s.external))}`,
      'archive lag max (records), first / last minute': `${Math.max(0, ...first.map((s) => s.lag.archive ?? 0))} / ${Math.max(0, ...last.map((s) => s.lag.archive ?? 0))}`,
      'archive compactions (merged files) / errors': `${archive?.compactions ?? 0} / ${archive?.compactionErrors ?? 0}`,
      'stop s (drains the archive)': Number(stopSeconds.toFixed(1)),
      // What each topic's batches cost the archive during the load: the small topics pay the same steps per batch.
      ...Object.fromEntries(Object.entries(archive?.perTopic ?? {}).map(([topic, t]) => {
        const ms = Object.values(t.flushStepMs).reduce((a, b) => a + b, 0);
        return [`archive ${topic}: batches, rows, flush s`, `${t.batchesWritten}, ${t.rowsWritten}, ${(ms / 1000).toFixed(1)}`];
      })),
      'lake rows / distinct ids': `${lakeRows} / ${lakeDistinct}`,
      'lake = acknowledged': lakeRows === acknowledged && lakeDistinct === acknowledged ? 'yes' : `NO (${lakeDistinct - acknowledged})`,
      ...(log.first.length ? { 'first log lines': log.first.join(' | ') } : {}),
    };
  } finally {
    if (!stopped) await platform.stop();
    tmp.cleanup();
  }
}

/** Least-squares slope of RSS against time, MiB per minute ('none' under 2 samples). */
function slopeMiBPerMin(samples: readonly { at: number; bytes: number }[]): number | string {
  if (samples.length < 2) return 'none';
  const n = samples.length;
  const mx = samples.reduce((a, s) => a + s.at, 0) / n;
  const my = samples.reduce((a, s) => a + s.bytes, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (const s of samples) {
    sxy += (s.at - mx) * (s.bytes - my);
    sxx += (s.at - mx) ** 2;
  }
  return Number(((sxy / sxx) * 60_000 / MiB).toFixed(2));
}

if (isMain(import.meta.url)) {
  const arg = (name: string, dflt: number): number => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? dflt);
  const str = (name: string, dflt: string): string => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? dflt;
  const reportTime = str('report-time', 'now');
  if (reportTime !== 'now' && reportTime !== 'spread') throw new Error(`--report-time must be now or spread, got ${reportTime}`);
  const compaction = str('compaction', 'on');
  if (compaction !== 'on' && compaction !== 'off') throw new Error(`--compaction must be on or off, got ${compaction}`);
  const compactIn = str('compact-in', 'child');
  if (compactIn !== 'child' && compactIn !== 'here') throw new Error(`--compact-in must be child or here, got ${compactIn}`);
  const o: SoakOptions = {
    compactIn,
    minutes: arg('minutes', 30), rate: arg('rate', 10_000), batch: arg('batch', 500), reportTime, compaction: compaction === 'on',
    memoryDetail: process.argv.includes('--memory-detail'),
    heapSnapshotsAt: str('heap-snapshot-at', '').split(',').filter((m) => m !== '').map(Number),
  };
  if (o.heapSnapshotsAt!.some((m) => !(m > 0))) throw new Error('--heap-snapshot-at takes minutes > 0, comma-separated');
  const figures = await benchSoak(o);
  printTable(`soak: ${o.minutes} min offered at ${o.rate} reports/s, report time ${reportTime}, compaction ${compaction} in ${compactIn} (archive, alerts, SSE, a query every 5 s)`, figures);
}
