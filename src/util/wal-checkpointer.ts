import { realpathSync } from 'node:fs';
import path from 'node:path';
import { getEnvironmentData, setEnvironmentData, Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';

/** SQLite's own auto-checkpoint threshold (pages), given back when no thread checkpoints for a connection. */
const AUTO_PAGES = 1000;
/**
 * A connection whose file is checkpointed by a thread of its parent (see below) keeps this much larger threshold: it
 * never fires while that thread runs (the WAL stays far below it), and it bounds the WAL if the parent stops first.
 */
const FALLBACK_PAGES = 16384;

/** The one checkpointer thread a thread runs for a database file, and the connections of that thread relying on it. */
interface FileCheckpointer {
  worker: Worker | undefined;
  conns: Set<Database.Database>;
  ready: Promise<boolean>;
}

const byFile = new Map<string, FileCheckpointer>();
const envKey = (file: string): string => `dronewatch:wal-checkpointer:${file}`;

function canonical(file: string): string {
  try {
    return realpathSync(file);
  } catch {
    return path.resolve(file);
  }
}

function setAuto(db: Database.Database, pages: number): void {
  if (db.open) db.pragma(`wal_autocheckpoint = ${pages}`);
}

/**
 * Moves SQLite's WAL checkpoints off the thread that commits. By default the committing connection checkpoints
 * itself every 1,000 pages, and that copy (several milliseconds) lands on whichever publish triggered it: measured on
 * the alert path at 10k reports/s, publish-call p99 13.7 ms with auto-checkpoints vs 1.8 ms without. So the
 * connection's auto-checkpoint is turned off and a worker thread with its own connection runs PASSIVE checkpoints
 * (which never block readers or writers) every `intervalMs`. If the thread cannot start, auto-checkpoint stays on.
 *
 * One checkpointer thread per database file: every connection of a thread on the same file shares it, and a worker
 * thread started after it (the archive thread opens its own stream on stream.db) finds it through the worker
 * environment data and starts none. Two checkpointers on one file only compete for the same pages (the e2e profile
 * showed three checkpointer threads, two of them on stream.db).
 */
export class WalCheckpointer {
  private shared: FileCheckpointer | undefined;

  private constructor(private readonly db: Database.Database, private readonly key: string) {}

  static async start(db: Database.Database, file: string, intervalMs = 100): Promise<WalCheckpointer> {
    const key = canonical(file);
    const c = new WalCheckpointer(db, key);
    let shared = byFile.get(key);
    if (!shared && getEnvironmentData(envKey(key)) === true) {
      // A thread of our parent checkpoints this file: do not start a second checkpointer on it.
      setAuto(db, FALLBACK_PAGES);
      return c;
    }
    if (!shared) {
      const s: FileCheckpointer = { worker: undefined, conns: new Set(), ready: Promise.resolve(false) };
      s.ready = startThread(key, s, intervalMs);
      byFile.set(key, s);
      shared = s;
    }
    shared.conns.add(db);
    c.shared = shared;
    if (await shared.ready) {
      if (shared.worker) setAuto(db, 0);
    } else {
      // Keep SQLite's own auto-checkpoint: slower tail, same correctness.
      shared.conns.delete(db);
      c.shared = undefined;
    }
    return c;
  }

  /** True while a thread does the checkpoints (this process's, or its parent's). */
  get active(): boolean {
    if (!this.shared) return getEnvironmentData(envKey(this.key)) === true && byFile.get(this.key) === undefined && this.db.open;
    return this.shared.worker !== undefined && this.shared.conns.has(this.db);
  }

  /** Ends the thread abruptly (tests: what happens when it dies). */
  async kill(): Promise<void> {
    const w = this.shared?.worker;
    if (w) await w.terminate();
  }

  /** Stops relying on the thread and gives checkpointing back to the connection (which checkpoints on close anyway). */
  async stop(): Promise<void> {
    const s = this.shared;
    this.shared = undefined;
    if (!s) {
      setAuto(this.db, AUTO_PAGES);
      return;
    }
    s.conns.delete(this.db);
    setAuto(this.db, AUTO_PAGES);
    if (s.conns.size > 0) return;
    const w = s.worker;
    s.worker = undefined;
    if (byFile.get(this.key) === s) {
      byFile.delete(this.key);
      setEnvironmentData(envKey(this.key), undefined);
    }
    if (!w) return;
    const exited = new Promise<void>((resolve) => w.once('exit', () => resolve()));
    w.ref(); // an unref'd worker would let the process exit before its 'exit' event
    w.postMessage('stop');
    await exited;
  }
}

async function startThread(key: string, s: FileCheckpointer, intervalMs: number): Promise<boolean> {
  try {
    const worker = new Worker(new URL('./wal-checkpoint-thread.js', import.meta.url), { workerData: { file: key, intervalMs } });
    await new Promise<void>((resolve, reject) => {
      worker.once('message', () => resolve());
      worker.once('error', reject);
    });
    worker.unref();
    s.worker = worker;
    setEnvironmentData(envKey(key), true);
    // If the thread dies, the WAL must not grow without bound: the connections checkpoint by themselves again.
    worker.once('exit', () => {
      if (s.worker !== worker) return;
      s.worker = undefined;
      for (const db of s.conns) setAuto(db, AUTO_PAGES);
      if (byFile.get(key) === s) {
        byFile.delete(key);
        setEnvironmentData(envKey(key), undefined);
      }
    });
    return true;
  } catch {
    if (byFile.get(key) === s) byFile.delete(key);
    return false;
  }
}
