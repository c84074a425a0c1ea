// Body of the WAL checkpointer thread (see wal-checkpointer.ts). Plain JavaScript: it needs no TypeScript loader.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const { file, intervalMs } = workerData;
const db = new Database(file);
db.pragma('busy_timeout = 1000');
let stopping = false;
let timer;
const tick = () => {
  if (stopping) return;
  try {
    // PASSIVE: copies what it can without waiting for, or blocking, any reader or writer.
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch {
    // Busy or closing: the next tick tries again.
  }
  timer = setTimeout(tick, intervalMs);
};
parentPort.on('message', (m) => {
  if (m !== 'stop') return;
  stopping = true;
  clearTimeout(timer);
  db.close();
  parentPort.close();
});
timer = setTimeout(tick, intervalMs);
parentPort.postMessage('ready');
