import { createHash } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, PutObjectCommand, UploadPartCommand,
  type CompletedPart, type S3Client,
} from '@aws-sdk/client-s3';
import { ObjectStoreError } from './errors.ts';
import { httpStatusOf, MAX_PARTS, MAX_SINGLE_PUT, MIN_PART_SIZE, s3CodeOf, s3Failure, type ResolvedS3Config } from './s3-config.ts';

/**
 * Uploads from local files: one streamed PUT up to the multipart threshold (and always for put-if-absent), else a
 * multipart upload whose parts go up in parallel. Every request carries Content-MD5, so the server rejects bytes
 * damaged on the way (the SDK's own checksums are off for RGW 16.2: see s3-config.ts).
 */

export function md5Base64(data: Uint8Array): string {
  return createHash('md5').update(data).digest('base64');
}

async function fileMd5Base64(file: string): Promise<string> {
  const hash = createHash('md5');
  for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest('base64');
}

/** 412: the key exists (put-if-absent lost); 409 ConditionalRequestConflict: a concurrent conditional write, retry. */
export function isPreconditionFailed(e: unknown): boolean {
  return httpStatusOf(e) === 412 || s3CodeOf(e) === 'PreconditionFailed';
}

export function isConditionalConflict(e: unknown): boolean {
  return httpStatusOf(e) === 409 && s3CodeOf(e) === 'ConditionalRequestConflict';
}

/**
 * One streamed PUT of a file (put-if-absent of a file above the multipart threshold). The SDK cannot replay a
 * stream, so a retried attempt fails (Content-Length and Content-MD5 make the server refuse a short body) rather
 * than storing a damaged object; this function retries once more itself with a fresh stream.
 */
export async function streamedPut(s3: S3Client, c: ResolvedS3Config, fullKey: string, key: string, file: string, size: number, ifAbsent: boolean): Promise<boolean> {
  if (size > MAX_SINGLE_PUT) {
    // RGW 16.2 ignores If-None-Match when completing a multipart upload (it overwrites), so a conditional write
    // must be one PUT, which S3 caps at 5 GiB.
    throw new ObjectStoreError(`object store ${c.location}: putFile "${key}" with ifAbsent is limited to ${MAX_SINGLE_PUT} bytes (one PUT); the file has ${size}`, {
      op: 'putFile', key, reason: 'TooLargeForConditionalPut',
    });
  }
  const md5 = await fileMd5Base64(file);
  for (let attempt = 1; ; attempt++) {
    try {
      await s3.send(new PutObjectCommand({
        Bucket: c.bucket, Key: fullKey, Body: createReadStream(file), ContentLength: size, ContentMD5: md5, ...(ifAbsent ? { IfNoneMatch: '*' } : {}),
      }));
      return true;
    } catch (e) {
      if (ifAbsent && isPreconditionFailed(e)) return false;
      if (attempt < 3 && (isConditionalConflict(e) || (httpStatusOf(e) ?? 500) >= 500)) continue;
      throw s3Failure(c, 'putFile', key, e);
    }
  }
}

/** Parts read from the file at their offsets and uploaded `partConcurrency` at a time; visible on completion only. */
export async function multipartUpload(s3: S3Client, c: ResolvedS3Config, fullKey: string, key: string, file: string, size: number): Promise<void> {
  const mib = 1024 * 1024;
  const partSize = Math.max(c.partSize, MIN_PART_SIZE, Math.ceil(size / MAX_PARTS / mib) * mib);
  const count = Math.ceil(size / partSize);
  let uploadId: string | undefined;
  try {
    uploadId = (await s3.send(new CreateMultipartUploadCommand({ Bucket: c.bucket, Key: fullKey }))).UploadId;
    if (!uploadId) throw new Error('CreateMultipartUpload returned no UploadId');
    const fh = await fsp.open(file, 'r');
    const parts: CompletedPart[] = [];
    try {
      let next = 0;
      let failed = false;
      const worker = async (): Promise<void> => {
        while (next < count && !failed) {
          const index = next++;
          const offset = index * partSize;
          const buf = Buffer.alloc(Math.min(partSize, size - offset));
          const { bytesRead } = await fh.read(buf, 0, buf.length, offset);
          if (bytesRead !== buf.length) throw new Error(`${file} shrank during the upload`);
          const res = await s3.send(new UploadPartCommand({
            Bucket: c.bucket, Key: fullKey, UploadId: uploadId, PartNumber: index + 1, Body: buf, ContentLength: buf.length, ContentMD5: md5Base64(buf),
          }));
          parts.push({ PartNumber: index + 1, ETag: res.ETag });
        }
      };
      // allSettled: the file stays open until every worker has stopped, then the first failure is thrown.
      const results = await Promise.allSettled(Array.from({ length: Math.min(c.partConcurrency, count) }, () => worker().catch((e: unknown) => {
        failed = true;
        throw e;
      })));
      const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (rejected) throw rejected.reason;
    } finally {
      await fh.close();
    }
    parts.sort((a, b) => a.PartNumber! - b.PartNumber!);
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: c.bucket, Key: fullKey, UploadId: uploadId, MultipartUpload: { Parts: parts } }));
  } catch (e) {
    // Uploaded parts cost space until aborted; nothing is visible under the key either way.
    if (uploadId) await s3.send(new AbortMultipartUploadCommand({ Bucket: c.bucket, Key: fullKey, UploadId: uploadId })).catch(() => undefined);
    throw s3Failure(c, 'putFile', key, e);
  }
}
