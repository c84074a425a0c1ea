import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { DwError } from '../errors/index.ts';
import type { ObjectStore } from '../objectstore/index.ts';
import { silentLogger, type Logger } from '../util/log.ts';
import type { DataFile } from './live-files.ts';
import { mapLimit } from './store.ts';

/**
 * A bounded local cache of lake objects, so that DuckDB (which reads local files: its httpfs extension is not
 * shipped) can query a lake on S3. Files keep the lake's layout (`<table>/tenant=.../date=.../hour=.../`), so DuckDB's hive
 * partitioning sees the same `date` and `hour` as on a local lake, and a version suffix (the S3 ETag), so that an
 * object written again is fetched again. Least recently used files are evicted once the cache would exceed
 * `maxBytes`, except those of the latest request for each pin (a tenant's table): the engine may still be reading them.
 *
 * The bound is per process: two processes sharing the directory each keep within it for what they fetched.
 */

export class LakeCacheError extends DwError {
  constructor(message: string) {
    super('DW_LAKE_CACHE_TOO_SMALL', message, { status: 507 });
  }
}

/** getToFile found no object: it was deleted (compaction, retention) since the listing. */
export class LakeObjectGoneError extends Error {
  constructor(readonly key: string) {
    super(`lake object ${key} is gone`);
  }
}

export interface LakeCacheOptions {
  /** Directory of the cache (one per lake location). */
  dir: string;
  maxBytes: number;
  /** Downloads in flight at once. Default 4. */
  concurrency?: number;
  logger?: Logger;
}

export interface LakeCacheStats {
  files: number;
  bytes: number;
  hits: number;
  fetches: number;
  fetchedBytes: number;
  evictions: number;
}

interface Entry {
  size: number;
}

/** Longest lake file name (without `.parquet`) cached as is: room for `.v-<ETag>.parquet` within 255 bytes. */
const CACHE_NAME_MAX = 160;

const VERSIONED = /\.v-[A-Za-z0-9-]+\.parquet$/;

function versionOf(f: DataFile): string {
  const v = f.etag ?? `${f.size}-${Math.round(f.mtimeMs)}`;
  return v.replace(/[^A-Za-z0-9-]/g, '');
}

export class LakeCache {
  readonly dir: string;
  readonly maxBytes: number;
  /** Keys fetched from the store, oldest first (the last 10,000): what a query cost in downloads. */
  readonly fetchedKeys: string[] = [];
  private readonly concurrency: number;
  private readonly logger: Logger;
  /** Insertion order is recency: a hit moves its entry to the end. */
  private readonly entries = new Map<string, Entry>();
  private readonly pinned = new Map<string, Set<string>>();
  private bytes = 0;
  private readonly counters = { hits: 0, fetches: 0, fetchedBytes: 0, evictions: 0 };
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(opts: LakeCacheOptions) {
    if (!(opts.maxBytes > 0)) throw new RangeError(`lake cache: maxBytes must be positive, got ${opts.maxBytes}`);
    this.dir = path.resolve(opts.dir);
    this.maxBytes = opts.maxBytes;
    this.concurrency = opts.concurrency ?? 4;
    this.logger = opts.logger ?? silentLogger;
  }

  /** Opens the cache, taking over the files a previous process left (oldest first) and removing partial downloads. */
  static async open(opts: LakeCacheOptions): Promise<LakeCache> {
    const cache = new LakeCache(opts);
    await fsp.mkdir(cache.dir, { recursive: true });
    const found: { file: string; size: number; mtimeMs: number }[] = [];
    for (const rel of await fsp.readdir(cache.dir, { recursive: true })) {
      const file = path.join(cache.dir, String(rel));
      const st = await fsp.stat(file).catch(() => undefined);
      if (!st?.isFile()) continue;
      if (VERSIONED.test(file)) found.push({ file, size: st.size, mtimeMs: st.mtimeMs });
      else await fsp.rm(file, { force: true }); // a download cut short by a crash
    }
    for (const f of found.sort((a, b) => a.mtimeMs - b.mtimeMs)) {
      cache.entries.set(f.file, { size: f.size });
      cache.bytes += f.size;
    }
    await cache.evict(0, new Set());
    return cache;
  }

  stats(): LakeCacheStats {
    return { files: this.entries.size, bytes: this.bytes, ...this.counters };
  }

  /** Local path a lake file is cached at. */
  pathOf(f: DataFile): string {
    let base = path.posix.basename(f.key).replace(/\.parquet$/, '');
    // A file merged across partitions may have a name of up to 255 bytes already (layout.ts): the version would
    // push it past a local file name's limit, so such names are cached under their hash (any name is unique).
    if (base.length > CACHE_NAME_MAX) base = `h-${createHash('sha256').update(base).digest('hex').slice(0, 40)}`;
    const name = `${base}.v-${versionOf(f)}.parquet`;
    return path.join(this.dir, ...path.posix.dirname(f.key).split('/'), name);
  }

  /**
   * Local copies of `files` (the files one query needs), fetching the missing ones. They stay pinned until the next
   * call with the same `pin` (the caller's name for a use: a table, a tenant's table...). Throws LakeCacheError when
   * they cannot fit, LakeObjectGoneError when one was deleted since it was listed (list again).
   */
  files(store: ObjectStore, pin: string, files: readonly DataFile[]): Promise<string[]> {
    const run = this.queue.then(() => this.filesNow(store, pin, files));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async filesNow(store: ObjectStore, pinKey: string, files: readonly DataFile[]): Promise<string[]> {
    const paths = files.map((f) => this.pathOf(f));
    const needed = files.reduce((n, f) => n + f.size, 0);
    let otherPinned = 0;
    for (const [k, set] of this.pinned) if (k !== pinKey) for (const p of set) otherPinned += this.entries.get(p)?.size ?? 0;
    if (needed + otherPinned > this.maxBytes) {
      throw new LakeCacheError(`the lake files this query needs (${pinKey}: ${files.length} files, ${needed} bytes, plus ${otherPinned} bytes in use) `
        + `do not fit in the lake cache (${this.maxBytes} bytes): narrow the time range or raise lake.cacheBytes`);
    }
    const pin = new Set(paths);
    this.pinned.set(pinKey, pin);
    for (const p of paths) {
      // Removed from the disk behind our back (by hand, or by another process sharing the directory): fetch again.
      const e = this.entries.get(p);
      if (e && !(await fsp.stat(p).then((st) => st.isFile(), () => false))) {
        this.entries.delete(p);
        this.bytes -= e.size;
      }
    }
    const missing = files.filter((_f, i) => !this.entries.has(paths[i]!));
    this.counters.hits += files.length - missing.length;
    await this.evict(missing.reduce((n, f) => n + f.size, 0), pin);
    await mapLimit(missing, this.concurrency, async (f) => {
      const file = this.pathOf(f);
      await fsp.mkdir(path.dirname(file), { recursive: true });
      if (!(await store.getToFile(f.key, file))) throw new LakeObjectGoneError(f.key);
      const { size } = await fsp.stat(file);
      this.entries.set(file, { size });
      this.bytes += size;
      this.counters.fetches++;
      this.counters.fetchedBytes += size;
      this.fetchedKeys.push(f.key);
      if (this.fetchedKeys.length > 10_000) this.fetchedKeys.splice(0, this.fetchedKeys.length - 10_000);
    });
    for (const p of paths) {
      const e = this.entries.get(p)!;
      this.entries.delete(p);
      this.entries.set(p, e);
    }
    return paths;
  }

  /** Removes least recently used, unpinned files until `incoming` more bytes fit. */
  private async evict(incoming: number, pin: ReadonlySet<string>): Promise<void> {
    const isPinned = (p: string): boolean => pin.has(p) || [...this.pinned.values()].some((s) => s.has(p));
    for (const [p, e] of [...this.entries]) {
      if (this.bytes + incoming <= this.maxBytes) return;
      if (isPinned(p)) continue;
      await fsp.rm(p, { force: true });
      this.entries.delete(p);
      this.bytes -= e.size;
      this.counters.evictions++;
    }
    if (this.bytes + incoming > this.maxBytes) this.logger.warn({ bytes: this.bytes, incoming, maxBytes: this.maxBytes }, 'lake cache: over its limit with pinned files');
  }
}
