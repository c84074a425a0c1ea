/**
 * The object store the lake lives on: a flat namespace of keys (`reports/date=2026-01-01/hour=03/p0001-....parquet`)
 * holding immutable byte strings, each replaced or deleted as a whole. Deliberately the intersection of a local file
 * system and S3: no rename, no append, no directories (a "directory" is a key prefix ending in `/`), no fsync (every
 * write is durable when it returns). docs/object-store.md states what each implementation guarantees.
 *
 * Keys are `/`-separated, relative (no leading `/`), without empty, `.` or `..` segments or control characters,
 * at most 1024 bytes of UTF-8 and 255 per segment; `.dw-tmp` as first segment is reserved. Both implementations
 * refuse the same keys, so a lake can move between them.
 */

export interface ObjectInfo {
  /** Key relative to the store's root (its prefix, for S3). */
  key: string;
  size: number;
  /** Last write, epoch ms. Only second granularity is guaranteed (S3 HEAD answers whole seconds). */
  mtimeMs: number;
  /**
   * A tag that changes whenever the key is written: S3's entity tag without quotes (`<md5>` or `<md5>-<parts>` for a
   * multipart upload), the file's inode id on HDFS; absent on the local store.
   */
  etag?: string;
}

export interface ListOptions {
  /**
   * `/`: group keys by their next segment: `prefixes` holds each `<prefix...>/` under which some key exists, and
   * `objects` only the keys with no `/` after the prefix (one "directory level"). Default: every key under the prefix.
   */
  delimiter?: '/';
  /** Most objects plus prefixes in one page: 1..1000 (the S3 limit), default 1000. */
  pageSize?: number;
  /** `nextToken` of the previous page. */
  token?: string;
}

export interface ListPage {
  /** In UTF-8 byte order of the key (S3's order; the local store sorts the same way). */
  objects: ObjectInfo[];
  /** With a delimiter: common prefixes, each ending in `/`, in the same order. */
  prefixes: string[];
  /** Present when there is more: pass it as `token` to get the next page. Opaque. */
  nextToken: string | undefined;
}

export interface PutOptions {
  /**
   * Only create: when the key already exists nothing is written and the put returns false. Atomic with respect to
   * concurrent writers of the same key (exactly one of several racing creators wins). On S3 this is a conditional
   * PUT (`If-None-Match: *`), which Ceph RGW 16.2 honours on a single PUT but ignores on a multipart upload's
   * completion, so a conditional `putFile` always uses one PUT (at most 5 GiB).
   */
  ifAbsent?: boolean;
}

export interface ObjectStore {
  readonly kind: 'local' | 's3' | 'webhdfs';
  /** Where it is, safe to log: an absolute path, `s3://bucket/prefix` or `webhdfs://namenode:port/path` (never credentials). */
  readonly location: string;

  /**
   * Writes a whole object. Readers see the old content or the new, never a mix or a prefix of it; once it returns
   * the object is durable (local: fsynced file and directory). Returns true when written (false only with
   * `ifAbsent` on an existing key).
   */
  put(key: string, data: string | Uint8Array, opts?: PutOptions): Promise<boolean>;
  /**
   * Like `put`, from a local file, without reading it into memory. S3: files above the multipart threshold are
   * uploaded in parts (in parallel), and become visible all at once when the upload completes.
   * The file must not change while it is uploaded.
   */
  putFile(key: string, file: string, opts?: PutOptions): Promise<boolean>;

  /** Whole content, or undefined when the key does not exist. */
  get(key: string): Promise<Buffer | undefined>;
  /**
   * Bytes [offset, offset + length) clamped to the object's end (an empty buffer from or beyond the end), or
   * undefined when the key does not exist.
   */
  getRange(key: string, offset: number, length: number): Promise<Buffer | undefined>;
  /**
   * Copies the object to a local file (written beside it then renamed, so the file is never seen half-written; not
   * fsynced: meant for caches). Returns false, leaving the file alone, when the key does not exist.
   */
  getToFile(key: string, file: string): Promise<boolean>;
  /** Size and mtime without the content, or undefined when the key does not exist. */
  head(key: string): Promise<ObjectInfo | undefined>;

  /** One page of the keys starting with `prefix` (any string, not only up to a `/`; '' = everything). */
  list(prefix: string, opts?: ListOptions): Promise<ListPage>;

  /** Removes an object; a missing key is not an error (idempotent). Durable when it returns. */
  delete(key: string): Promise<void>;
  /** Removes objects (S3: 1000 per request); missing keys are not an error. Not atomic as a whole. */
  deleteMany(keys: readonly string[]): Promise<void>;

  /** Releases connections; the store must not be used afterwards. */
  close(): Promise<void>;
}
