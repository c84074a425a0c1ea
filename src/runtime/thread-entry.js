// Entry of worker threads: TypeScript sources run through tsx, as in bin/dronewatch.js.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';
register();
await import(workerData.module);
