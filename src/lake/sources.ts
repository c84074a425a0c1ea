import { createHash } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { LocalObjectStore, type ObjectStore } from '../objectstore/index.ts';
import type { Logger } from '../util/log.ts';
import { LakeCache, LakeObjectGoneError } from './cache.ts';
import type { LakeTable } from './layout.ts';
import { liveDataFiles, type TenantScope } from './live-files.ts';
import type { LakeFileSource } from './query.ts';
import { lakeStore, type LakeLocationOrStore } from './store.ts';

/**
 * Where the analysis engine's files come from, whatever the lake's location: the engine is only ever given local
 * file lists. A local lake hands over its own files; a lake on S3 fetches the objects a query's time range needs
 * into a bounded local cache (cache.ts) and hands over those copies.
 */

/** Default size limit of the local cache of an S3 lake (`lake.cacheBytes`). */
export const DEFAULT_LAKE_CACHE_BYTES = 2 * 1024 ** 3;

export interface LakeFilesOptions {
  /** Cache directory of an object-store lake; a sub-directory per lake location is used. Default: under the OS temp dir. */
  cacheDir?: string;
  /** Size limit of that cache. Default 2 GiB. */
  cacheBytes?: number;
  /** Read a local lake through the cache too, as if it were remote (tests, benchmarks). Default false: in place. */
  alwaysCache?: boolean;
  logger?: Logger;
}

/** A LakeFileSource that can say what it fetched and release its connections. */
export interface LakeFileSet extends LakeFileSource {
  readonly store: ObjectStore;
  /** The cache of an object-store lake (undefined for a local lake, read in place). */
  cache(): LakeCache | undefined;
  close(): Promise<void>;
}

/** The files of a lake at any location: in place when it is local, through a local cache when it is on S3. */
export function lakeFilesFor(lake: LakeLocationOrStore, opts: LakeFilesOptions = {}): LakeFileSet {
  const { store, owned } = lakeStore(lake);
  if (store instanceof LocalObjectStore && opts.alwaysCache !== true) {
    return {
      store,
      cache: () => undefined,
      async liveFiles(table, scope) {
        return (await liveDataFiles(store, table, scope)).map((f) => store.pathOf(f.key));
      },
      close: async () => {
        if (owned) await store.close();
      },
    };
  }
  const base = opts.cacheDir ?? path.join(os.tmpdir(), 'dronewatch-lake-cache');
  // One directory per location: two lakes never share cached files.
  const dir = path.join(base, createHash('sha256').update(store.location).digest('hex').slice(0, 16));
  let cache: LakeCache | undefined;
  let opening: Promise<LakeCache> | undefined;
  const open = async (): Promise<LakeCache> => {
    opening ??= LakeCache.open({ dir, maxBytes: opts.cacheBytes ?? DEFAULT_LAKE_CACHE_BYTES, ...(opts.logger ? { logger: opts.logger } : {}) });
    cache = await opening;
    return cache;
  };
  const fetch = async (table: LakeTable, scope: TenantScope): Promise<string[]> => {
    const c = await open();
    // Pinned per tenant and table, whole-table snapshots apart from ranged ones: a ranged request of one tenant must
    // not unpin the files another tenant's (or its own full) snapshot is reading.
    const pin = `${scope.tenant}/${table}/${scope.range ? 'range' : 'all'}`;
    return c.files(store, pin, await liveDataFiles(store, table, scope));
  };
  return {
    store,
    cache: () => cache,
    async liveFiles(table, scope) {
      try {
        return await fetch(table, scope);
      } catch (e) {
        // Compaction or retention deleted a listed object before it was fetched: the next listing is current.
        if (!(e instanceof LakeObjectGoneError)) throw e;
        return fetch(table, scope);
      }
    },
    close: async () => {
      if (owned) await store.close();
    },
  };
}

/**
 * The lake's files for the analysis engine. Kept for callers written when the lake was always local; it accepts an
 * `s3://` location too (cache under the OS temp dir, 2 GiB). `lakeFilesFor` takes the cache settings.
 */
export function localLakeFiles(lake: LakeLocationOrStore): LakeFileSource {
  return lakeFilesFor(lake);
}
