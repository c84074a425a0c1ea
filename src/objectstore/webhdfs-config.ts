import os from 'node:os';
import type { Logger } from '../util/log.ts';
import { LakeLocationError, ObjectStoreRequestError } from './errors.ts';
import { checkKey } from './keys.ts';

/** Hadoop 3's NameNode HTTP port (`dfs.namenode.http-address`). */
export const DEFAULT_WEBHDFS_PORT = 9870;

export interface WebHdfsObjectStoreOptions {
  /** NameNode host name or address (IPv6 in brackets). */
  host: string;
  /** NameNode HTTP port; default 9870. */
  port?: number;
  /** Absolute HDFS directory holding the lake: `/` or `/data/lake` (no trailing `/`). */
  root: string;
  /**
   * The HDFS user of every request (`user.name`, Hadoop's "simple" authentication: the NameNode believes it).
   * Default HADOOP_USER_NAME, else the operating-system user, as Hadoop's own clients do. Kerberos (SPNEGO) and
   * delegation tokens are not supported.
   */
  user?: string;
  /** Each HTTP request (a whole upload or download included) must finish within this; default 120 s. */
  requestTimeoutMs?: number;
  /** Attempts of a request that failed without an answer, with a 5xx, or on a DataNode; default 6 (~8 s of back-off). */
  maxAttempts?: number;
  /** putFile sends files up to this from memory (repeatable when a DataNode fails mid-upload); larger ones are streamed. Default 64 MiB. */
  bufferLimit?: number;
  /** Environment read for the user default; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Receives retry warnings; default silent. */
  logger?: Logger;
}

export interface WebHdfsLocation {
  host: string;
  port: number;
  /** '' for the file system's root, else `/a/b`. */
  root: string;
}

export function formatWebHdfsLocation(l: WebHdfsLocation): string {
  return `webhdfs://${l.host}:${l.port}${l.root === '' ? '/' : l.root}`;
}

const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])$/;

/** Normalizes and checks an HDFS root directory: absolute, `/`-separated, valid segments; '' for `/`. */
export function checkHdfsRoot(root: string): string {
  if (!root.startsWith('/')) throw new ObjectStoreRequestError(`the HDFS root "${root}" must be an absolute path`);
  const r = root.replace(/\/+$/, '');
  if (r !== '') checkKey(r.slice(1));
  return r;
}

/** `webhdfs://namenode[:9870]/path/of/lake`: no user, password, query or fragment (the user comes from HADOOP_USER_NAME). */
export function parseWebHdfsLocation(location: string): WebHdfsLocation {
  const rest = location.slice('webhdfs://'.length);
  const slash = rest.indexOf('/');
  const authority = slash < 0 ? rest : rest.slice(0, slash);
  const rawPath = slash < 0 ? '/' : rest.slice(slash);
  // Not echoed: what looks like user:password@ may be a real secret.
  if (authority.includes('@')) {
    throw new LakeLocationError('the lake location must not contain a user or credentials (webhdfs://namenode:9870/path): the HDFS user comes from HADOOP_USER_NAME');
  }
  if (/[?#]/.test(rest)) throw new LakeLocationError(`the lake location ${JSON.stringify(location)} must not have a query or fragment`);
  const m = /^(.*?)(?::(\d{1,5}))?$/.exec(authority);
  const host = m?.[1] ?? '';
  const port = m?.[2] === undefined ? DEFAULT_WEBHDFS_PORT : Number(m[2]);
  if (!HOST.test(host)) throw new LakeLocationError(`the lake location ${JSON.stringify(location)} has an invalid NameNode host "${host}"`);
  if (port < 1 || port > 65535) throw new LakeLocationError(`the lake location ${JSON.stringify(location)} has an invalid port ${port}`);
  let path: string;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    throw new LakeLocationError(`the lake location ${JSON.stringify(location)} has an invalid %-escape in its path`);
  }
  try {
    return { host: host.toLowerCase(), port, root: checkHdfsRoot(path) };
  } catch (e) {
    if (e instanceof ObjectStoreRequestError) throw new LakeLocationError(`the lake location ${JSON.stringify(location)} has an invalid path: ${e.message}`);
    throw e;
  }
}

export function defaultHdfsUser(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.HADOOP_USER_NAME?.trim();
  if (fromEnv) return fromEnv;
  try {
    return os.userInfo().username;
  } catch {
    return 'dronewatch';
  }
}
