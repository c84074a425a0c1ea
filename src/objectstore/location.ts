import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LakeLocationError, ObjectStoreRequestError } from './errors.ts';
import { checkKey } from './keys.ts';
import { LocalObjectStore } from './local.ts';
import type { S3ObjectStoreOptions } from './s3-config.ts';
import { S3ObjectStore } from './s3-lazy.ts';
import type { ObjectStore } from './types.ts';
import { formatWebHdfsLocation, parseWebHdfsLocation, type WebHdfsObjectStoreOptions } from './webhdfs-config.ts';
import { WebHdfsObjectStore } from './webhdfs.ts';

/**
 * Where the lake is: one setting for every command (`--lake`, `DRONEWATCH_LAKE`, config `lake.path`):
 * `s3://bucket/prefix`, `webhdfs://namenode:9870/path` (HDFS through the NameNode's WebHDFS interface) or a local path
 * (absolute, relative to the working directory, or `file://`). The default, `<dataDir>/lake`, is the embedded local
 * store. Credentials never go in it (a location is logged and shown in errors): S3 takes them from the AWS variables
 * or files, and its endpoint from S3_ENDPOINT; HDFS its user from HADOOP_USER_NAME.
 */
export type LakeLocation =
  | { kind: 'local'; root: string }
  | { kind: 's3'; bucket: string; prefix: string }
  | { kind: 'webhdfs'; host: string; port: number; root: string };

const SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//;
// AWS bucket naming rules (DNS-compatible), which RGW and MinIO also accept.
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

export function defaultLakeLocation(dataDir: string): string {
  return path.join(dataDir, 'lake');
}

export function parseLakeLocation(location: string, cwd = process.cwd()): LakeLocation {
  if (typeof location !== 'string' || location.trim() === '') throw new LakeLocationError('the lake location is empty: give a path or s3://bucket/prefix');
  const scheme = SCHEME.exec(location)?.[1]?.toLowerCase();
  if (scheme === undefined) return { kind: 'local', root: path.resolve(cwd, location) };
  if (scheme === 'file') {
    try {
      return { kind: 'local', root: fileURLToPath(location) };
    } catch (e) {
      throw new LakeLocationError(`the lake location ${JSON.stringify(location)} is not a valid file:// URL: ${(e as Error).message}`);
    }
  }
  if (scheme === 'webhdfs') return { kind: 'webhdfs', ...parseWebHdfsLocation(`webhdfs://${location.slice('webhdfs://'.length)}`) };
  if (scheme !== 's3') {
    throw new LakeLocationError(`the lake location must be a path, s3://bucket/prefix or webhdfs://namenode:port/path; "${scheme}://" is not supported`);
  }
  const rest = location.slice('s3://'.length);
  const slash = rest.indexOf('/');
  const bucket = slash < 0 ? rest : rest.slice(0, slash);
  // Not echoed: what looks like user:password@ may be real credentials.
  if (bucket.includes('@') || bucket.includes(':')) {
    throw new LakeLocationError('the lake location must not contain credentials or a port (s3://bucket/prefix): put keys in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or ~/.aws files, the server in S3_ENDPOINT');
  }
  if (!BUCKET.test(bucket) || bucket.includes('..')) {
    throw new LakeLocationError(`the lake location ${JSON.stringify(location)} has an invalid bucket name "${bucket}": 3-63 characters, lower-case letters, digits, "." and "-"`);
  }
  if (/[?#]/.test(rest)) throw new LakeLocationError(`the lake location ${JSON.stringify(location)} must not have a query or fragment`);
  const prefix = slash < 0 ? '' : rest.slice(slash + 1).replace(/\/+$/, '');
  if (prefix !== '') {
    try {
      checkKey(prefix);
    } catch (e) {
      if (e instanceof ObjectStoreRequestError) throw new LakeLocationError(`the lake location ${JSON.stringify(location)} has an invalid prefix: ${e.message}`);
      throw e;
    }
  }
  return { kind: 's3', bucket, prefix };
}

export function formatLakeLocation(l: LakeLocation): string {
  if (l.kind === 'webhdfs') return formatWebHdfsLocation(l);
  return l.kind === 'local' ? l.root : `s3://${l.bucket}${l.prefix ? `/${l.prefix}` : ''}`;
}

export interface OpenObjectStoreOptions {
  /** Base of a relative path; default process.cwd(). */
  cwd?: string;
  /** Endpoint, region, credentials, multipart sizes... of an s3:// location (defaults from the environment). */
  s3?: Omit<S3ObjectStoreOptions, 'bucket' | 'prefix'>;
  /** User, timeouts, retries... of a webhdfs:// location (the user defaults to HADOOP_USER_NAME). */
  webhdfs?: Omit<WebHdfsObjectStoreOptions, 'host' | 'port' | 'root'>;
}

/** The store of a lake location (parsed with parseLakeLocation). */
export function openObjectStore(location: string | LakeLocation, opts: OpenObjectStoreOptions = {}): ObjectStore {
  const l = typeof location === 'string' ? parseLakeLocation(location, opts.cwd) : location;
  if (l.kind === 'local') return new LocalObjectStore(l.root);
  if (l.kind === 'webhdfs') return new WebHdfsObjectStore({ ...opts.webhdfs, host: l.host, port: l.port, root: l.root === '' ? '/' : l.root });
  return new S3ObjectStore({ ...opts.s3, bucket: l.bucket, prefix: l.prefix });
}
