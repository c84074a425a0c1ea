import http from 'node:http';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../util/log.ts';
import { ObjectStoreError } from './errors.ts';

/**
 * The HTTP side of WebHDFS (docs/object-store.md, "HDFS"): NameNode calls `/webhdfs/v1<path>?op=...&user.name=...`,
 * the two-step data calls (the NameNode names a DataNode, the bytes go to that DataNode), Hadoop's RemoteException
 * answers turned into ObjectStoreError, and retries of what is safe to retry. Plain Node fetch: no Java, no client
 * library (none is maintained on npm).
 */

/** `{"RemoteException":{"exception":"FileNotFoundException","javaClassName":...,"message":...}}` */
export interface RemoteException {
  exception: string;
  message: string;
}

export class WebHdfsError extends ObjectStoreError {
  /** Hadoop's exception class (`FileNotFoundException`, `FileAlreadyExistsException`...), when the server sent one. */
  readonly exception: string | undefined;
  constructor(message: string, info: { op: string; key?: string; httpStatus?: number; exception?: string; reason?: string; cause?: unknown }) {
    super(message, { ...info, ...(info.reason ?? info.exception ? { reason: info.reason ?? info.exception } : {}) });
    this.exception = info.exception;
  }
}

export interface WebHdfsHttpOptions {
  /** `http://namenode:9870` */
  baseUrl: string;
  user: string;
  /** What messages show: `webhdfs://host:port/root`. */
  location: string;
  requestTimeoutMs: number;
  maxAttempts: number;
  logger: Logger;
}

export type Params = Record<string, string | number | boolean>;

/** Hadoop exceptions worth another attempt: a NameNode starting (safe mode) or failing over, a busy server. */
const RETRIABLE_EXCEPTIONS = new Set(['RetriableException', 'StandbyException', 'SafeModeException', 'ConnectException', 'SocketTimeoutException']);

/** Network-level failure of fetch (refused, reset, timed out): the server may be down or restarting. */
function isNetworkError(e: unknown): boolean {
  if (!(e instanceof Error)) return false;
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return true;
  return e instanceof TypeError && /fetch failed|terminated|other side closed|socket/i.test(`${e.message} ${String((e as { cause?: unknown }).cause ?? '')}`);
}

function networkReason(e: unknown): string {
  // node:http puts the system error code on the error, fetch on its cause.
  const own = (e as { code?: unknown }).code;
  const cause = (e as { cause?: { code?: unknown } }).cause;
  if (typeof own === 'string') return own;
  if (typeof cause?.code === 'string') return cause.code;
  return (e as Error).name ?? 'network';
}

/** Encodes an absolute HDFS path segment by segment. */
export function encodePath(p: string): string {
  return p.split('/').map(encodeURIComponent).join('/');
}

export class WebHdfsHttp {
  constructor(readonly o: WebHdfsHttpOptions) {}

  url(path: string, op: string, params: Params = {}): string {
    const q = new URLSearchParams({ op, 'user.name': this.o.user });
    for (const [k, v] of Object.entries(params)) q.set(k, String(v));
    return `${this.o.baseUrl}/webhdfs/v1${encodePath(path)}?${q.toString()}`;
  }

  /** The error of a non-2xx answer: Hadoop's exception name and the first line of its message (no stack trace). */
  async errorOf(res: Response, op: string, key: string | undefined): Promise<WebHdfsError> {
    let remote: RemoteException | undefined;
    const text = await res.text().catch(() => '');
    try {
      const r = (JSON.parse(text) as { RemoteException?: RemoteException }).RemoteException;
      if (r && typeof r.exception === 'string') remote = { exception: r.exception, message: String(r.message ?? '').split('\n')[0]! };
    } catch {
      // not JSON: a proxy's or a servlet container's page
    }
    const what = key === undefined ? op : `${op} "${key}"`;
    const detail = remote ? `${remote.exception}: ${remote.message}` : `HTTP ${res.status}${text ? `: ${text.slice(0, 200)}` : ''}`;
    return new WebHdfsError(`object store ${this.o.location}: ${what} failed: ${detail}`, {
      op, ...(key === undefined ? {} : { key }), httpStatus: res.status, ...(remote ? { exception: remote.exception } : {}),
    });
  }

  networkError(e: unknown, op: string, key: string | undefined, where: string): WebHdfsError {
    const what = key === undefined ? op : `${op} "${key}"`;
    const reason = networkReason(e);
    return new WebHdfsError(`object store ${this.o.location}: ${what} failed: ${where} did not answer (${reason})`, {
      op, ...(key === undefined ? {} : { key }), reason, cause: e,
    });
  }

  /** Whether a failed attempt may be repeated: no answer, a 5xx, or an exception Hadoop marks as transient. */
  static retriable(e: unknown): boolean {
    if (!(e instanceof WebHdfsError)) return false;
    if (e.httpStatus === undefined) return true; // no answer at all
    if (e.exception !== undefined && RETRIABLE_EXCEPTIONS.has(e.exception)) return true;
    return e.httpStatus >= 500;
  }

  /**
   * The same for a DataNode's part of a read, or an upload to a private temporary file (safe to start again): a
   * DataNode answers a failed block read or write pipeline (a dead peer) with a plain IOException and 403.
   */
  static dataRetriable(e: unknown): boolean {
    return WebHdfsHttp.retriable(e) || (e instanceof WebHdfsError && (e.exception === 'IOException' || e.exception === 'EOFException'));
  }

  /** Runs `attempt` up to maxAttempts times while it fails retriably, backing off 250 ms, 500 ms, 1 s... (at most 4 s). */
  async retry<T>(op: string, attempt: (n: number) => Promise<T>, retriable: (e: unknown) => boolean = WebHdfsHttp.retriable): Promise<T> {
    for (let n = 1; ; n++) {
      try {
        return await attempt(n);
      } catch (e) {
        if (n >= this.o.maxAttempts || !retriable(e)) throw e;
        const wait = Math.min(4000, 250 * 2 ** (n - 1));
        this.o.logger.warn({ op, attempt: n, err: (e as Error).message }, 'webhdfs: retrying');
        await sleep(wait);
      }
    }
  }

  /** One request; network failures become WebHdfsError without httpStatus (retriable). */
  async fetch(url: string, init: RequestInit, op: string, key: string | undefined, where: string): Promise<Response> {
    try {
      return await fetch(url, { ...init, redirect: 'manual', signal: AbortSignal.timeout(this.o.requestTimeoutMs) });
    } catch (e) {
      throw this.networkError(e, op, key, where);
    }
  }

  /** A NameNode call answering JSON; `ok` statuses pass, others throw their error. */
  async json<T>(method: string, path: string, op: string, params: Params, key: string | undefined): Promise<T> {
    const res = await this.fetch(this.url(path, op, params), { method }, op, key, 'the NameNode');
    if (res.status < 200 || res.status > 299) throw await this.errorOf(res, op, key);
    let text: string;
    try {
      text = await res.text();
    } catch (e) {
      throw this.networkError(e, op, key, 'the NameNode');
    }
    // RENAME with options answers 200 and no body.
    return (text === '' ? {} : JSON.parse(text)) as T;
  }

  /**
   * Step one of OPEN and CREATE: the NameNode answers which DataNode serves the bytes (`noredirect=true`: a JSON
   * `Location` rather than a 307 whose body would have to be re-sent). The address is the DataNode's own, as it
   * registered with the NameNode (`dfs.datanode.hostname`): it must be reachable from this process.
   */
  async dataNodeUrl(method: 'GET' | 'PUT', path: string, webhdfsOp: 'OPEN' | 'CREATE', params: Params, op: string, key: string): Promise<string> {
    const res = await this.fetch(this.url(path, webhdfsOp, { ...params, noredirect: true }), { method }, op, key, 'the NameNode');
    if (res.status < 200 || res.status > 299) throw await this.errorOf(res, op, key);
    let Location: unknown;
    try {
      Location = ((await res.json()) as { Location?: unknown }).Location;
    } catch (e) {
      throw this.networkError(e, op, key, 'the NameNode');
    }
    if (typeof Location !== 'string' || !/^https?:\/\//.test(Location)) {
      throw new WebHdfsError(`object store ${this.o.location}: ${op} "${key}" failed: the NameNode named no DataNode for ${webhdfsOp}`, { op, key, reason: 'NoDataNode' });
    }
    return Location;
  }

  /**
   * Sends a file's bytes to the DataNode the NameNode named, and returns its answer (201 when the file is written and
   * closed). node:http rather than fetch: a DataNode answers CREATE with `100 Continue` whether or not the request
   * asked for it, and fetch (undici) fails on an unexpected 1xx answer ("bad response"); node:http skips it.
   */
  async putToDataNode(target: string, body: Uint8Array | (() => Readable), size: number, op: string, key: string): Promise<{ status: number; text: string }> {
    try {
      return await new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = http.request(target, {
          method: 'PUT',
          headers: { 'content-type': 'application/octet-stream', 'content-length': size },
          signal: AbortSignal.timeout(this.o.requestTimeoutMs),
        }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        });
        req.on('error', reject);
        if (body instanceof Uint8Array) req.end(body);
        else pipeline(body(), req).catch(reject);
      });
    } catch (e) {
      throw this.networkError(e, op, key, 'the DataNode');
    }
  }
}
