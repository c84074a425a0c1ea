/**
 * Body of the archive worker thread (see archive-host.ts): its own stream connection, its own ArchiveWorker.
 * Messages in: `stop`. Messages out: `ready`, `stats` (every 250 ms), `batch` (each batch's metrics), `stopped`, `failed`.
 */
import { parentPort, workerData } from 'node:worker_threads';
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
  | { type: 'failed'; message: string };

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
  port.on('message', (m: unknown) => {
    if (m !== 'stop') return;
    clearInterval(timer);
    void (async () => {
      await worker.stop();
      await backend.close();
      post({ type: 'stopped', stats: worker.stats() });
      port.close();
    })();
  });
  post({ type: 'ready' });
} catch (err) {
  post({ type: 'failed', message: (err as Error).message });
}
