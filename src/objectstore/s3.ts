import { randomBytes } from 'node:crypto';
import { createWriteStream, promises as fsp } from 'node:fs';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  DeleteObjectCommand, DeleteObjectsCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client,
} from '@aws-sdk/client-s3';
import { silentLogger, type Logger } from '../util/log.ts';
import { ObjectStoreError, ObjectStoreRequestError } from './errors.ts';
import { checkKey, checkPageSize, checkPrefix, checkRange, MAX_KEY_BYTES } from './keys.ts';
import { httpStatusOf, positive, resolveS3Config, s3CodeOf, s3Failure, type ResolvedS3Config, type S3ObjectStoreOptions } from './s3-config.ts';
import { isConditionalConflict, isPreconditionFailed, md5Base64, multipartUpload, streamedPut } from './s3-upload.ts';
import type { ListOptions, ListPage, ObjectInfo, ObjectStore, PutOptions } from './types.ts';
import { abortIncompleteUploads, ensureAbortIncompleteUploadsRule, lifecycleRules, listIncompleteUploads, type IncompleteUpload } from './s3-uploads.ts';
import type { LifecycleRule } from '@aws-sdk/client-s3';

export function createS3Client(c: ResolvedS3Config, opts: S3ObjectStoreOptions): S3Client {
  // The SDK warns on every process under Node < 22 that its releases from 2027 will need Node 22; the project pins
  // the SDK version (docs/object-store.md), so the warning would only be noise on every CLI command.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  return new S3Client({
    region: c.region,
    ...(c.endpoint ? { endpoint: c.endpoint } : {}),
    forcePathStyle: c.forcePathStyle,
    ...(opts.credentials ? { credentials: opts.credentials } : {}),
    maxAttempts: positive('maxAttempts', opts.maxAttempts, 3),
    logger: sdkLogger(opts.logger ?? silentLogger),
    // RGW 16.2 rejects the default flexible checksums (streaming bodies fail with MissingContentLength); the store
    // sends Content-MD5 itself where it has the bytes.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/**
 * The SDK logs every request at info level once given a logger, and prints its warnings with console.warn when not
 * given one: keep only warnings and errors, in the project's logger.
 */
function sdkLogger(log: Logger): { trace(): void; debug(): void; info(): void; warn(...a: unknown[]): void; error(...a: unknown[]): void } {
  const text = (a: unknown[]): string => a.map((x) => (typeof x === 'string' ? x : x instanceof Error ? x.message : JSON.stringify(x))).join(' ');
  return {
    trace: () => undefined,
    debug: () => undefined,
    info: () => undefined,
    warn: (...a) => log.warn({ component: 'aws-sdk' }, text(a)),
    error: (...a) => log.error({ component: 'aws-sdk' }, text(a)),
  };
}

/**
 * The object store on S3 or an S3-compatible server (Ceph RGW, MinIO...), under a key prefix of one bucket.
 * A PUT is atomic and durable on S3 by definition; put-if-absent is `If-None-Match: *` (AWS since 2024, RGW 16.2 on
 * single PUTs). docs/object-store.md lists what RGW 16.2 lacks.
 */

function isNotFound(e: unknown): boolean {
  const code = s3CodeOf(e);
  return httpStatusOf(e) === 404 && code !== 'NoSuchBucket';
}

function unquote(etag: string | undefined): string | undefined {
  return etag?.replace(/^"|"$/g, '');
}

export class S3Store implements ObjectStore {
  readonly kind = 's3' as const;
  readonly location: string;
  readonly bucket: string;
  readonly prefix: string;
  private readonly config: ResolvedS3Config;
  private readonly s3: S3Client;

  constructor(opts: S3ObjectStoreOptions) {
    this.config = resolveS3Config(opts);
    this.location = this.config.location;
    this.bucket = this.config.bucket;
    this.prefix = this.config.prefix;
    this.s3 = createS3Client(this.config, opts);
  }

  /** Bucket key of a store key. */
  private full(key: string): string {
    checkKey(key);
    const k = this.prefix ? `${this.prefix}/${key}` : key;
    if (Buffer.byteLength(k) > MAX_KEY_BYTES) throw new ObjectStoreRequestError(`invalid object key "${key}": with the store prefix it is over ${MAX_KEY_BYTES} bytes`);
    return k;
  }

  private get root(): string {
    return this.prefix ? `${this.prefix}/` : '';
  }

  private fail(op: string, key: string | undefined, e: unknown): ObjectStoreError {
    return s3Failure(this.config, op, key, e);
  }

  async put(key: string, data: string | Uint8Array, opts: PutOptions = {}): Promise<boolean> {
    const fullKey = this.full(key);
    const body = typeof data === 'string' ? Buffer.from(data) : data;
    const md5 = md5Base64(body);
    for (let attempt = 1; ; attempt++) {
      try {
        await this.s3.send(new PutObjectCommand({
          Bucket: this.bucket, Key: fullKey, Body: body, ContentLength: body.length, ContentMD5: md5, ...(opts.ifAbsent ? { IfNoneMatch: '*' } : {}),
        }));
        return true;
      } catch (e) {
        if (opts.ifAbsent && isPreconditionFailed(e)) return false;
        if (attempt < 5 && isConditionalConflict(e)) continue;
        throw this.fail('put', key, e);
      }
    }
  }

  async putFile(key: string, file: string, opts: PutOptions = {}): Promise<boolean> {
    const fullKey = this.full(key);
    let size: number;
    try {
      size = (await fsp.stat(file)).size;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'read';
      throw new ObjectStoreError(`object store ${this.location}: putFile "${key}" failed: cannot read ${file}: ${code}`, { op: 'putFile', key, reason: code, cause: e });
    }
    // Small files go up from memory: a buffer can be replayed by the SDK's retries, a stream cannot.
    if (size <= this.config.multipartThreshold) {
      let data: Buffer;
      try {
        data = await fsp.readFile(file);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code ?? 'read';
        throw new ObjectStoreError(`object store ${this.location}: putFile "${key}" failed: cannot read ${file}: ${code}`, { op: 'putFile', key, reason: code, cause: e });
      }
      return this.put(key, data, opts);
    }
    if (opts.ifAbsent) return streamedPut(this.s3, this.config, fullKey, key, file, size, true);
    await multipartUpload(this.s3, this.config, fullKey, key, file, size);
    return true;
  }

  async get(key: string): Promise<Buffer | undefined> {
    const fullKey = this.full(key);
    try {
      const res = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: fullKey }));
      return Buffer.from(await res.Body!.transformToByteArray());
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw this.fail('get', key, e);
    }
  }

  async getRange(key: string, offset: number, length: number): Promise<Buffer | undefined> {
    const fullKey = this.full(key);
    checkRange(offset, length);
    // S3 cannot express an empty range: answer it from HEAD.
    if (length === 0) return (await this.head(key)) ? Buffer.alloc(0) : undefined;
    try {
      const res = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: fullKey, Range: `bytes=${offset}-${offset + length - 1}` }));
      return Buffer.from(await res.Body!.transformToByteArray());
    } catch (e) {
      if (isNotFound(e)) return undefined;
      // 416: the range starts at or beyond the end (or the object is empty): the object exists, the answer is empty.
      if (httpStatusOf(e) === 416 || s3CodeOf(e) === 'InvalidRange') return Buffer.alloc(0);
      throw this.fail('getRange', key, e);
    }
  }

  async getToFile(key: string, file: string): Promise<boolean> {
    const fullKey = this.full(key);
    const tmp = `${file}.dw-part-${randomBytes(6).toString('hex')}`;
    try {
      const res = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: fullKey }));
      await pipeline(res.Body as Readable, createWriteStream(tmp, { flags: 'wx' }));
      const written = (await fsp.stat(tmp)).size;
      if (res.ContentLength !== undefined && written !== res.ContentLength) {
        throw new ObjectStoreError(`object store ${this.location}: getToFile "${key}" failed: got ${written} of ${res.ContentLength} bytes`, { op: 'getToFile', key, reason: 'ShortRead' });
      }
      await fsp.rename(tmp, file);
      return true;
    } catch (e) {
      await fsp.rm(tmp, { force: true });
      if (isNotFound(e)) return false;
      throw this.fail('getToFile', key, e);
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const fullKey = this.full(key);
    try {
      const res = await this.s3.send(new HeadObjectCommand({ Bucket: this.bucket, Key: fullKey }));
      const etag = unquote(res.ETag);
      return { key, size: res.ContentLength ?? 0, mtimeMs: res.LastModified?.getTime() ?? 0, ...(etag ? { etag } : {}) };
    } catch (e) {
      // HEAD answers have no body: a missing bucket is a bare 404 too, indistinguishable from a missing key.
      if (isNotFound(e)) return undefined;
      throw this.fail('head', key, e);
    }
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListPage> {
    checkPrefix(prefix);
    const pageSize = checkPageSize(opts.pageSize);
    const root = this.root;
    try {
      const res = await this.s3.send(new ListObjectsV2Command({
        Bucket: this.bucket, Prefix: root + prefix, MaxKeys: pageSize,
        ...(opts.delimiter ? { Delimiter: opts.delimiter } : {}), ...(opts.token ? { ContinuationToken: opts.token } : {}),
      }));
      const objects: ObjectInfo[] = (res.Contents ?? []).flatMap((o) => {
        if (!o.Key?.startsWith(root)) return [];
        const etag = unquote(o.ETag);
        return [{ key: o.Key.slice(root.length), size: o.Size ?? 0, mtimeMs: o.LastModified?.getTime() ?? 0, ...(etag ? { etag } : {}) }];
      });
      const prefixes = (res.CommonPrefixes ?? []).flatMap((p) => (p.Prefix?.startsWith(root) ? [p.Prefix.slice(root.length)] : []));
      return { objects, prefixes, nextToken: res.IsTruncated ? res.NextContinuationToken : undefined };
    } catch (e) {
      throw this.fail('list', prefix, e);
    }
  }

  async delete(key: string): Promise<void> {
    const fullKey = this.full(key);
    try {
      await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: fullKey }));
    } catch (e) {
      if (isNotFound(e)) return;
      throw this.fail('delete', key, e);
    }
  }

  async deleteMany(keys: readonly string[]): Promise<void> {
    const full = keys.map((k) => this.full(k));
    for (let i = 0; i < full.length; i += 1000) {
      const batch = full.slice(i, i + 1000);
      let res;
      try {
        res = await this.s3.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }));
      } catch (e) {
        throw this.fail('deleteMany', undefined, e);
      }
      const errors = (res.Errors ?? []).filter((er) => er.Code !== 'NoSuchKey');
      if (errors.length > 0) {
        const first = errors[0]!;
        const key = first.Key?.slice(this.root.length);
        throw new ObjectStoreError(`object store ${this.location}: deleteMany failed for ${errors.length} key(s), first "${key}": ${first.Code ?? 'error'}`, {
          op: 'deleteMany', ...(key ? { key } : {}), ...(first.Code ? { reason: first.Code } : {}),
        });
      }
    }
  }

  /** Multipart uploads under this store's prefix never completed nor aborted (s3-uploads.ts). */
  async incompleteUploads(): Promise<IncompleteUpload[]> {
    try {
      return (await listIncompleteUploads(this.s3, this.bucket, this.root)).map((u) => ({ ...u, key: u.key.slice(this.root.length) }));
    } catch (e) {
      throw this.fail('list incomplete uploads', undefined, e);
    }
  }

  /** Aborts this prefix's incomplete uploads older than `olderThanMs`; returns them (keys relative to the store). */
  async abortIncompleteUploads(olderThanMs: number): Promise<IncompleteUpload[]> {
    try {
      return (await abortIncompleteUploads(this.s3, this.bucket, this.root, olderThanMs)).map((u) => ({ ...u, key: u.key.slice(this.root.length) }));
    } catch (e) {
      throw this.fail('abort incomplete uploads', undefined, e);
    }
  }

  /** Sets the bucket rule that aborts this prefix's incomplete uploads after `days`; returns the bucket's rules. */
  async ensureAbortIncompleteUploadsRule(days: number): Promise<LifecycleRule[]> {
    try {
      await ensureAbortIncompleteUploadsRule(this.s3, this.bucket, this.root, days);
      return await lifecycleRules(this.s3, this.bucket);
    } catch (e) {
      if (e instanceof RangeError) throw new ObjectStoreRequestError(e.message);
      throw this.fail('set lifecycle rule', undefined, e);
    }
  }

  async close(): Promise<void> {
    this.s3.destroy();
  }
}
