import {
  AbortMultipartUploadCommand, GetBucketLifecycleConfigurationCommand, ListMultipartUploadsCommand, PutBucketLifecycleConfigurationCommand,
  type LifecycleRule, type S3Client,
} from '@aws-sdk/client-s3';
import { httpStatusOf, s3CodeOf } from './s3-config.ts';

/**
 * Incomplete multipart uploads: an upload whose writer died before completing or aborting it keeps its parts in the
 * bucket (billed, invisible to LIST). Two remedies, both limited to the store's prefix:
 * - a bucket lifecycle rule (AbortIncompleteMultipartUpload) that the server applies by itself, daily;
 * - a sweep that lists the uploads and aborts those older than an age (works where lifecycle rules are not allowed).
 */

export interface IncompleteUpload {
  key: string;
  uploadId: string;
  initiated: Date | undefined;
}

/** Uploads under `root` (bucket keys) not completed nor aborted, oldest first. */
export async function listIncompleteUploads(s3: S3Client, bucket: string, root: string): Promise<IncompleteUpload[]> {
  const out: IncompleteUpload[] = [];
  let keyMarker: string | undefined;
  let uploadIdMarker: string | undefined;
  for (;;) {
    const res = await s3.send(new ListMultipartUploadsCommand({
      Bucket: bucket, Prefix: root, ...(keyMarker ? { KeyMarker: keyMarker } : {}), ...(uploadIdMarker ? { UploadIdMarker: uploadIdMarker } : {}),
    }));
    for (const u of res.Uploads ?? []) if (u.Key && u.UploadId) out.push({ key: u.Key, uploadId: u.UploadId, initiated: u.Initiated });
    if (!res.IsTruncated) break;
    keyMarker = res.NextKeyMarker;
    uploadIdMarker = res.NextUploadIdMarker;
  }
  return out.sort((a, b) => (a.initiated?.getTime() ?? 0) - (b.initiated?.getTime() ?? 0));
}

/** Aborts the uploads under `root` started more than `olderThanMs` ago (a running upload is younger: keep a margin). */
export async function abortIncompleteUploads(s3: S3Client, bucket: string, root: string, olderThanMs: number, now = Date.now()): Promise<IncompleteUpload[]> {
  const aborted: IncompleteUpload[] = [];
  for (const u of await listIncompleteUploads(s3, bucket, root)) {
    if (u.initiated && now - u.initiated.getTime() < olderThanMs) continue;
    try {
      await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: u.key, UploadId: u.uploadId }));
      aborted.push(u);
    } catch (e) {
      // Completed or aborted meanwhile by its writer: nothing left to free.
      if (httpStatusOf(e) !== 404) throw e;
    }
  }
  return aborted;
}

const RULE_PREFIX = 'dronewatch-abort-incomplete-uploads';

/**
 * Adds (or updates) the bucket lifecycle rule that aborts uploads under `root` after `days`, keeping every other
 * rule of the bucket. Returns the rule id.
 */
export async function ensureAbortIncompleteUploadsRule(s3: S3Client, bucket: string, root: string, days: number): Promise<string> {
  if (!Number.isInteger(days) || days < 1) throw new RangeError(`days must be a positive integer, got ${days}`);
  let rules: LifecycleRule[] = [];
  try {
    rules = (await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket }))).Rules ?? [];
  } catch (e) {
    if (s3CodeOf(e) !== 'NoSuchLifecycleConfiguration' && httpStatusOf(e) !== 404) throw e;
  }
  const id = `${RULE_PREFIX}${root ? `:${root}` : ''}`.slice(0, 255);
  const rule: LifecycleRule = { ID: id, Status: 'Enabled', Filter: { Prefix: root }, AbortIncompleteMultipartUpload: { DaysAfterInitiation: days } };
  const next = [...rules.filter((r) => r.ID !== id), rule];
  await s3.send(new PutBucketLifecycleConfigurationCommand({ Bucket: bucket, LifecycleConfiguration: { Rules: next } }));
  return id;
}

/** The bucket's lifecycle rules (empty when it has none). */
export async function lifecycleRules(s3: S3Client, bucket: string): Promise<LifecycleRule[]> {
  try {
    return (await s3.send(new GetBucketLifecycleConfigurationCommand({ Bucket: bucket }))).Rules ?? [];
  } catch (e) {
    if (s3CodeOf(e) === 'NoSuchLifecycleConfiguration' || httpStatusOf(e) === 404) return [];
    throw e;
  }
}
