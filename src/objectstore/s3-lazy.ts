import { positive, resolveS3Config, type S3ObjectStoreOptions } from './s3-config.ts';
import type { S3Store } from './s3.ts';
import type { ListOptions, ListPage, ObjectInfo, ObjectStore, PutOptions } from './types.ts';
import type { IncompleteUpload } from './s3-uploads.ts';

/**
 * The object store on S3 or an S3-compatible server (Ceph RGW, MinIO...), under a key prefix of one bucket: see
 * S3Store (s3.ts) for what it does. This front loads the AWS SDK on the first request only: importing it costs
 * 0.3-0.8 s of every process start, and most processes (every CLI command, a local lake) never talk to S3.
 * Options are checked at construction, as before, so a bad location or endpoint still fails at once.
 */
export class S3ObjectStore implements ObjectStore {
  readonly kind = 's3' as const;
  readonly location: string;
  readonly bucket: string;
  readonly prefix: string;
  private readonly opts: S3ObjectStoreOptions;
  private store: Promise<S3Store> | undefined;
  private closed = false;

  constructor(opts: S3ObjectStoreOptions) {
    const c = resolveS3Config(opts);
    positive('maxAttempts', opts.maxAttempts, 3);
    this.opts = opts;
    this.location = c.location;
    this.bucket = c.bucket;
    this.prefix = c.prefix;
  }

  private real(): Promise<S3Store> {
    this.store ??= import('./s3.ts').then((m) => new m.S3Store(this.opts));
    return this.store;
  }

  async put(key: string, data: string | Uint8Array, opts?: PutOptions): Promise<boolean> {
    return (await this.real()).put(key, data, opts);
  }

  async putFile(key: string, file: string, opts?: PutOptions): Promise<boolean> {
    return (await this.real()).putFile(key, file, opts);
  }

  async get(key: string): Promise<Buffer | undefined> {
    return (await this.real()).get(key);
  }

  async getRange(key: string, offset: number, length: number): Promise<Buffer | undefined> {
    return (await this.real()).getRange(key, offset, length);
  }

  async getToFile(key: string, file: string): Promise<boolean> {
    return (await this.real()).getToFile(key, file);
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    return (await this.real()).head(key);
  }

  async list(prefix: string, opts?: ListOptions): Promise<ListPage> {
    return (await this.real()).list(prefix, opts);
  }

  async delete(key: string): Promise<void> {
    return (await this.real()).delete(key);
  }

  async deleteMany(keys: readonly string[]): Promise<void> {
    return (await this.real()).deleteMany(keys);
  }

  /** Housekeeping of incomplete multipart uploads (S3 only; see s3-uploads.ts). */
  async incompleteUploads(): Promise<IncompleteUpload[]> {
    return (await this.real()).incompleteUploads();
  }

  async abortIncompleteUploads(olderThanMs: number): Promise<IncompleteUpload[]> {
    return (await this.real()).abortIncompleteUploads(olderThanMs);
  }

  /** The bucket's lifecycle rules after adding the one that aborts this prefix's incomplete uploads after `days`. */
  async ensureAbortIncompleteUploadsRule(days: number): Promise<{ id?: string | undefined; prefix?: string | undefined; days?: number | undefined }[]> {
    return (await (await this.real()).ensureAbortIncompleteUploadsRule(days)).map((r) => ({
      id: r.ID, prefix: r.Filter?.Prefix ?? r.Prefix, days: r.AbortIncompleteMultipartUpload?.DaysAfterInitiation,
    }));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.store) await (await this.store).close();
  }
}
