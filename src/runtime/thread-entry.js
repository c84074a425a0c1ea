// Entry of worker threads. A TypeScript module (running from src/) goes through tsx, as in bin/dronewatch.js; the
// compiled CLI (dist/, where this file is copied beside archive-thread.js) imports plain JavaScript and skips
// registering tsx, which would cost the thread its start time for nothing.
import { workerData } from 'node:worker_threads';

if (workerData.module.endsWith('.ts')) {
  const { register } = await import('tsx/esm/api');
  register();
}
await import(workerData.module);
