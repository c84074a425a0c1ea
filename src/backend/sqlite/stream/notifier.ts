import { watch, type FSWatcher } from 'node:fs';

type Wake = () => void;

/**
 * Wakes waiting polls when a topic may have changed. One per database file per process, shared by every SqliteStream
 * of the process that opened that file:
 * - a publish (or group change) in this process calls `notify(topic)` right after its commit, which wakes waiters of
 *   that topic synchronously: no timer, no syscall on the wakeup path;
 * - writes by other processes are seen through fs.watch (inotify on Linux) on the `-wal` file, which wakes every waiter;
 *   waiters also re-check on a short fallback timer, since file watching is best-effort on some platforms.
 */
export class FileNotifier {
  private readonly waiters = new Map<string, Set<Wake>>();
  private watcher: FSWatcher | undefined;
  private watchFailed = false;
  refs = 0;

  constructor(private readonly walPath: string) {}

  /** Registers a one-shot waiter; returns its unregister function. */
  wait(topic: string, wake: Wake): () => void {
    this.ensureWatcher();
    let set = this.waiters.get(topic);
    if (!set) { set = new Set(); this.waiters.set(topic, set); }
    set.add(wake);
    return () => { set.delete(wake); };
  }

  notify(topic: string): void {
    const set = this.waiters.get(topic);
    if (!set || set.size === 0) return;
    const wakes = [...set];
    set.clear();
    for (const w of wakes) w();
  }

  notifyAll(): void {
    for (const topic of this.waiters.keys()) this.notify(topic);
  }

  close(): void {
    this.watcher?.close();
    this.watcher = undefined;
    this.notifyAll();
  }

  private ensureWatcher(): void {
    if (this.watcher || this.watchFailed) return;
    try {
      const w = watch(this.walPath, { persistent: false }, () => this.notifyAll());
      w.on('error', () => { w.close(); if (this.watcher === w) this.watcher = undefined; });
      w.unref();
      this.watcher = w;
    } catch {
      // The fallback timer of waiting polls still picks up other processes' writes.
      this.watchFailed = true;
    }
  }
}

const notifiers = new Map<string, FileNotifier>();

/** The notifier of a database file (absolute path); release it with releaseNotifier. */
export function acquireNotifier(dbPath: string): FileNotifier {
  let n = notifiers.get(dbPath);
  if (!n) { n = new FileNotifier(`${dbPath}-wal`); notifiers.set(dbPath, n); }
  n.refs++;
  return n;
}

export function releaseNotifier(dbPath: string, n: FileNotifier): void {
  n.refs--;
  if (n.refs <= 0 && notifiers.get(dbPath) === n) {
    notifiers.delete(dbPath);
    n.close();
  }
}
