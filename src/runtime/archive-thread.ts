/**
 * Body of the archive worker thread (see archive-host.ts): its own stream connection, its own ArchiveWorker.
 * Messages in: `stop`. Messages out: `ready`, `stats` (every 250 ms), `batch` (each batch's metrics), `stopped`, `failed`.
 */
import { getHeapStatistics } from 'node:v8';
import { parentPort, resourceLimits, workerData } from 'node:worker_threads';
import { ArchiveWorker, type ArchiveStats } from '../archive/index.ts';
import { validateConfig } from '../config/index.ts';
import { createLogger } from '../util/log.ts';
import { forwardArchiveBatches, type ArchiveBatchMetrics } from '../metrics/record.ts';
import { archiveWorkerOptions } from './archive-host.ts';
import { openBackend } from '../backend/index.ts';

export type ArchiveThreadMessage =
  | { type: 'ready' }
  | { type: 'stats'; stats: ArchiveStats }
  | { type: 'batch'; batch: ArchiveBatchMetrics }
  | { type: 'stopped'; stats: ArchiveStats }
  /** Every 5 s: the thread's own V8 heap (its isolate; the process's RSS counts it with the main thread's). */
  | { type: 'memory'; memory: ThreadMemory }
  | { type: 'failed'; message: string };

/** A thread's V8 heap, bytes (v8.getHeapStatistics of its isolate). */
export interface ThreadMemory {
  /** Committed and resident: what the heap counts in RSS. */
  heapPhysical: number;
  heapUsed: number;
  /** Memory outside the heap held by its objects (ArrayBuffers, Buffers). */
  external: number;
  /** The thread's young generation limit, MiB (archive.threadYoungGenerationMb, or V8's sizing). */
  youngGenerationMb: number;
}

export function threadMemory(): ThreadMemory {
  const h = getHeapStatistics();
  return { heapPhysical: h.total_physical_size, heapUsed: h.used_heap_size, external: h.external_memory, youngGenerationMb: resourceLimits.maxYoungGenerationSizeMb ?? 0 };
}

const port = parentPort!;
const post = (m: ArchiveThreadMessage): void => port.postMessage(m);

try {
  const config = validateConfig((workerData as { config: unknown }).config);
  const logger = createLogger('archive');
  // The main thread's registry is the one /metrics renders: batches are counted there.
  forwardArchiveBatches((batch) => post({ type: 'batch', batch }));
  const backend = await openBackend(config, { logger });
  const stream = await backend.stream();
  const worker = new ArchiveWorker(archiveWorkerOptions(config, stream, logger));
  await worker.start();
  const timer = setInterval(() => post({ type: 'stats', stats: worker.stats() }), 250);
  const memoryTimer = setInterval(() => post({ type: 'memory', memory: threadMemory() }), 5000);
  memoryTimer.unref();
  port.on('message', (m: unknown) => {
    if (m !== 'stop') return;
    clearInterval(timer);
    clearInterval(memoryTimer);
    void (async () => {
      await worker.stop();
      await backend.close();
      post({ type: 'stopped', stats: worker.stats() });
      port.close();
    })();
  });
  post({ type: 'ready' });
  post({ type: 'memory', memory: threadMemory() });
} catch (err) {
  post({ type: 'failed', message: (err as Error).message });
}
