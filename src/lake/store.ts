import { LocalObjectStore, openObjectStore, type ObjectStore, type OpenObjectStoreOptions } from '../objectstore/index.ts';

/**
 * The lake's only view of where it lives: an ObjectStore (a local directory or S3). Everything in src/lake takes a
 * location (`/path`, `s3://bucket/prefix`) or an already opened store.
 */
export type LakeLocationOrStore = string | ObjectStore;

/** Opens the store of a location (the caller closes it when `owned`), or takes the given store as it is. */
export function lakeStore(lake: LakeLocationOrStore, opts: OpenObjectStoreOptions = {}): { store: ObjectStore; owned: boolean } {
  return typeof lake === 'string' ? { store: openObjectStore(lake, opts), owned: true } : { store: lake, owned: false };
}

/** Runs `fn` on the store of `lake`, closing it afterwards when it was opened here. */
export async function withLakeStore<T>(lake: LakeLocationOrStore, fn: (store: ObjectStore) => Promise<T>): Promise<T> {
  const { store, owned } = lakeStore(lake);
  try {
    return await fn(store);
  } finally {
    if (owned) await store.close();
  }
}

/** The local file of a key when the lake is on a local file system (DuckDB reads it in place), else undefined. */
export function localFileOf(store: ObjectStore, key: string): string | undefined {
  return store instanceof LocalObjectStore ? store.pathOf(key) : undefined;
}

/** Runs `fn` over `items` with at most `limit` at a time; results in input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
