import type { Logger } from '../util/log.ts';
import { LakeLocationError, ObjectStoreError, ObjectStoreRequestError } from './errors.ts';
import { checkKey } from './keys.ts';

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface S3ObjectStoreOptions {
  bucket: string;
  /** Key prefix inside the bucket ('' or without leading/trailing `/`): the store's root. */
  prefix?: string;
  /** `http(s)://host:port` of a non-AWS store; default S3_ENDPOINT, then AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, else AWS. */
  endpoint?: string;
  /** Default AWS_REGION, then AWS_DEFAULT_REGION, else us-east-1 (what RGW and most S3 servers accept). */
  region?: string;
  /** Path-style URLs (`endpoint/bucket/key`); default true with an endpoint (RGW, MinIO...), false on AWS. */
  forcePathStyle?: boolean;
  /** Default: the AWS SDK chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE and ~/.aws files, SSO, instance roles...). */
  credentials?: S3Credentials;
  /** Files larger than this are uploaded in parts; default 64 MiB. */
  multipartThreshold?: number;
  /** Part size, >= 5 MiB (the S3 minimum); default 16 MiB, raised when a file would need more than 10000 parts. */
  partSize?: number;
  /** Parts uploaded at once; default 4 (each holds one part in memory). */
  partConcurrency?: number;
  /** Attempts per request (the SDK retries throttling, 5xx and network errors with backoff); default 3. */
  maxAttempts?: number;
  /** Environment read for the endpoint and region defaults; default process.env (the SDK's credential chain always reads process.env). */
  env?: NodeJS.ProcessEnv;
  /** Receives the SDK's warnings and errors (its per-request info logs are dropped); default silent. */
  logger?: Logger;
}

export const MIN_PART_SIZE = 5 * 1024 * 1024;
export const MAX_PARTS = 10_000;
export const MAX_SINGLE_PUT = 5 * 1024 ** 3;

export interface ResolvedS3Config {
  bucket: string;
  prefix: string;
  endpoint: string | undefined;
  region: string;
  forcePathStyle: boolean;
  multipartThreshold: number;
  partSize: number;
  partConcurrency: number;
  /** `s3://bucket/prefix`: what messages show. */
  location: string;
  /** Credentials that must never appear in a message (explicit ones and those in the environment). */
  secrets: string[];
}

/** Checks an endpoint URL without ever echoing userinfo, which could hold credentials. */
export function checkEndpoint(endpoint: string, source: string): string {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new LakeLocationError(`${source} is not a URL: expected http(s)://host[:port]`);
  }
  if (url.username || url.password) throw new LakeLocationError(`${source} must not contain credentials: use AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or ~/.aws files`);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new LakeLocationError(`${source} must be an http:// or https:// URL, not ${url.protocol}`);
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) throw new LakeLocationError(`${source} must be just http(s)://host[:port] (no path, query or fragment)`);
  return url.origin;
}

export function positive(name: string, v: number | undefined, dflt: number, min = 1): number {
  const n = v ?? dflt;
  if (!Number.isSafeInteger(n) || n < min) throw new ObjectStoreRequestError(`S3 option ${name} must be an integer >= ${min}, not ${n}`);
  return n;
}

export function resolveS3Config(opts: S3ObjectStoreOptions): ResolvedS3Config {
  const env = opts.env ?? process.env;
  const prefix = (opts.prefix ?? '').replace(/^\/+|\/+$/g, '');
  if (typeof opts.bucket !== 'string' || opts.bucket === '') throw new LakeLocationError('the S3 bucket name is empty');
  if (prefix !== '') {
    try {
      checkKey(prefix);
    } catch (e) {
      throw new LakeLocationError(`invalid S3 prefix: ${(e as Error).message}`);
    }
  }
  const [endpointRaw, source] = opts.endpoint !== undefined ? [opts.endpoint, 'the S3 endpoint']
    : env.S3_ENDPOINT ? [env.S3_ENDPOINT, 'S3_ENDPOINT']
      : env.AWS_ENDPOINT_URL_S3 ? [env.AWS_ENDPOINT_URL_S3, 'AWS_ENDPOINT_URL_S3']
        : env.AWS_ENDPOINT_URL ? [env.AWS_ENDPOINT_URL, 'AWS_ENDPOINT_URL'] : [undefined, ''];
  const endpoint = endpointRaw === undefined ? undefined : checkEndpoint(endpointRaw, source);
  const secrets = [opts.credentials?.accessKeyId, opts.credentials?.secretAccessKey, opts.credentials?.sessionToken,
    env.AWS_ACCESS_KEY_ID, env.AWS_SECRET_ACCESS_KEY, env.AWS_SESSION_TOKEN]
    .filter((s): s is string => typeof s === 'string' && s.length >= 4);
  return {
    bucket: opts.bucket,
    prefix,
    endpoint,
    region: opts.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
    forcePathStyle: opts.forcePathStyle ?? endpoint !== undefined,
    multipartThreshold: positive('multipartThreshold', opts.multipartThreshold, 64 * 1024 * 1024, MIN_PART_SIZE),
    partSize: positive('partSize', opts.partSize, 16 * 1024 * 1024, MIN_PART_SIZE),
    partConcurrency: positive('partConcurrency', opts.partConcurrency, 4),
    location: `s3://${opts.bucket}${prefix ? `/${prefix}` : ''}`,
    secrets,
  };
}

interface SdkError {
  name?: string;
  message?: string;
  code?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number; requestId?: string };
}

export function httpStatusOf(e: unknown): number | undefined {
  return (e as SdkError)?.$metadata?.httpStatusCode;
}

export function s3CodeOf(e: unknown): string | undefined {
  const err = e as SdkError;
  return err?.Code ?? (err?.name && err.name !== 'Error' && err.name !== 'UnknownError' ? err.name : undefined) ?? err?.code;
}

/** An ObjectStoreError from an SDK error, with every known secret removed from the text. */
export function s3Failure(c: ResolvedS3Config, op: string, key: string | undefined, e: unknown): ObjectStoreError {
  if (e instanceof ObjectStoreError) return e;
  const err = e as SdkError;
  const status = httpStatusOf(e);
  const code = s3CodeOf(e);
  // RGW's error bodies give the SDK nothing better than "UnknownError": then the code and status say it all.
  const detail = err?.message && err.message !== 'UnknownError' && err.message !== code ? `: ${err.message}` : '';
  let text = `object store ${c.location}: ${op}${key === undefined ? '' : ` "${key}"`} failed: ${code ?? 'error'}`
    + `${status ? ` (HTTP ${status})` : ''}${detail}${err?.$metadata?.requestId ? ` [request ${err.$metadata.requestId}]` : ''}`;
  for (const s of c.secrets) text = text.split(s).join('***');
  return new ObjectStoreError(text, { op, ...(key === undefined ? {} : { key }), ...(status ? { httpStatus: status } : {}), ...(code ? { reason: code } : {}) });
}
