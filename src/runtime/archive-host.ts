import { Worker } from 'node:worker_threads';
import type { ArchiveStats, ArchiveWorkerOptions } from '../archive/index.ts';
// The light module, not the archive's index: the worker (DuckDB) loads in its thread only.
import { emptyTopicStats } from '../archive/topic-archiver.ts';
import { dataPaths, lakeRetentionDays, type Config } from '../config/index.ts';
import { DwError } from '../errors/index.ts';
import { logFormat, type Logger } from '../util/log.ts';
import type { Stream } from '../stream/types.ts';
import type { ArchiveThreadMessage, ThreadMemory } from './archive-thread.ts';
import { recordArchiveBatch } from '../metrics/record.ts';

/** The archive consumer's options from the configuration: the same wherever it runs (thread, process, `archive`). */
export function archiveWorkerOptions(config: Config, stream: Stream, logger: Logger): ArchiveWorkerOptions {
  const paths = dataPaths(config);
  return {
    stream, lakeRoot: paths.lake, scratchDir: paths.lakeScratch, maxBatchRecords: config.archive.maxBatchRecords, maxBatchAgeMs: config.archive.maxBatchAgeMs,
    ...(config.archive.maxEventBatchAgeMs === undefined ? {} : { maxEventBatchAgeMs: config.archive.maxEventBatchAgeMs }),
    compactMinFiles: config.archive.compactMinFiles, compactMemoryLimit: config.archive.compactMemoryLimit, compactIn: config.archive.compactIn, compactionHourLevel: config.archive.compactionHourLevel, retentionDays: lakeRetentionDays(config), logger,
  };
}

/** What the platform needs from an archive consumer, wherever it runs. */
export interface ArchiveRunner {
  start(): Promise<void>;
  stop(): Promise<void>;
  stats(): ArchiveStats;
}

/**
 * Runs the archive consumer in a worker thread of the same process. In embedded mode everything shares one process,
 * and the archive's work (reading batches from the stream, building NDJSON, driving DuckDB, fsyncs) would otherwise
 * compete with ingestion and alerting for the main thread: the thread gives it the second core. It is the same
 * consumer as `dronewatch archive` (its own stream connection, the same group), so nothing else changes.
 */
export class ArchiveThread implements ArchiveRunner {
  private worker: Worker | undefined;
  private last: ArchiveStats | undefined;
  private lastMemory: ThreadMemory | undefined;
  private stopped: Promise<void> | undefined;

  constructor(private readonly config: Config, private readonly logger: Logger) {}

  start(): Promise<void> {
    // The thread's module beside this one: archive-thread.ts in src/, archive-thread.js in the compiled dist/.
    const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
    const worker = new Worker(new URL('./thread-entry.js', import.meta.url), {
      workerData: { module: new URL(`./archive-thread${ext}`, import.meta.url).href, config: this.config },
      // A thread's stderr is never a terminal: it logs in the format the process chose, not always JSON.
      env: { ...process.env, DRONEWATCH_LOG_FORMAT: logFormat() },
      ...(this.config.archive.threadYoungGenerationMb > 0 ? { resourceLimits: { maxYoungGenerationSizeMb: this.config.archive.threadYoungGenerationMb } } : {}),
    });
    this.worker = worker;
    return new Promise((resolve, reject) => {
      worker.on('message', (m: ArchiveThreadMessage) => {
        if (m.type === 'ready') resolve();
        else if (m.type === 'stats' || m.type === 'stopped') this.last = m.stats;
        else if (m.type === 'batch') recordArchiveBatch(m.batch);
        else if (m.type === 'memory') this.lastMemory = m.memory;
        else if (m.type === 'failed') reject(new DwError('DW_LAKE_WRITE_FAILED', `archive thread failed to start: ${m.message}`));
      });
      worker.on('error', (err) => {
        this.logger.error({ err }, 'archive thread crashed');
        reject(err);
      });
    });
  }

  /** Flushes buffered reports to the lake and commits, then ends the thread. */
  stop(): Promise<void> {
    const worker = this.worker;
    if (!worker) return Promise.resolve();
    this.stopped ??= new Promise<void>((resolve) => {
      worker.on('message', (m: ArchiveThreadMessage) => {
        if (m.type === 'stopped') resolve();
      });
      worker.on('exit', () => resolve());
      worker.postMessage('stop');
    });
    return this.stopped;
  }

  stats(): ArchiveStats {
    return this.last ?? EMPTY_STATS;
  }

  /** The thread's V8 heap as it last reported it (every 5 s), undefined before its first report. */
  memory(): ThreadMemory | undefined {
    return this.lastMemory;
  }
}

const EMPTY_STATS: ArchiveStats = {
  ...emptyTopicStats(),
  buffered: 0, pollErrors: 0, flushErrors: 0, compactions: 0, compactionErrors: 0, partitions: {}, perTopic: {},
};
