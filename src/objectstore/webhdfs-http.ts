import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../util/log.ts';
import { ObjectStoreError } from './errors.ts';
import { newAgent, readBody, send, type HttpAnswer, type HttpRequest } from './webhdfs-request.ts';

/**
 * The HTTP side of WebHDFS (docs/object-store.md, "HDFS"): NameNode calls `/webhdfs/v1<path>?op=...&user.name=...`,
 * the two-step data calls (the NameNode names a DataNode, the bytes go to that DataNode), Hadoop's RemoteException
 * answers turned into ObjectStoreError, and retries of what is safe to retry. node:http (webhdfs-request.ts says why
 * not fetch): no Java, no client library (none is maintained on npm).
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

/** ECONNREFUSED, ECONNRESET (also a body cut short), TimeoutError (the request timeout)... */
function networkReason(e: unknown): string {
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string' && code !== 'ABORT_ERR' && !/^\d+$/.test(code)) return code;
  return (e as Error).name ?? 'network';
}

/** Encodes an absolute HDFS path segment by segment. */
export function encodePath(p: string): string {
  return p.split('/').map(encodeURIComponent).join('/');
}

/** An answer to read, with the signal that bounds the reading (the request's timeout). */
export interface Answer extends HttpAnswer {
  signal: AbortSignal;
}

export class WebHdfsHttp {
  private readonly agent = newAgent();
  constructor(readonly o: WebHdfsHttpOptions) {}

  /** Ends the kept-alive connections (the store's close). */
  close(): void {
    this.agent.destroy();
  }

  url(path: string, op: string, params: Params = {}): string {
    const q = new URLSearchParams({ op, 'user.name': this.o.user });
    for (const [k, v] of Object.entries(params)) q.set(k, String(v));
    return `${this.o.baseUrl}/webhdfs/v1${encodePath(path)}?${q.toString()}`;
  }

  /** The error of a non-2xx answer, its body read (a body that breaks off counts as empty). */
  async errorOf(res: Answer, op: string, key: string | undefined): Promise<WebHdfsError> {
    const text = await readBody(res, res.signal).then((b) => b.toString('utf8'), () => '');
    return this.errorOfText(res.status, text, op, key);
  }

  /** The error of a non-2xx answer: Hadoop's exception name and the first line of its message (no stack trace). */
  errorOfText(status: number, text: string, op: string, key: string | undefined): WebHdfsError {
    let remote: RemoteException | undefined;
    try {
      const r = (JSON.parse(text) as { RemoteException?: RemoteException }).RemoteException;
      if (r && typeof r.exception === 'string') remote = { exception: r.exception, message: String(r.message ?? '').split('\n')[0]! };
    } catch {
      // not JSON: a proxy's or a servlet container's page
    }
    const what = key === undefined ? op : `${op} "${key}"`;
    const detail = remote ? `${remote.exception}: ${remote.message}` : `HTTP ${status}${text ? `: ${text.slice(0, 200)}` : ''}`;
    return new WebHdfsError(`object store ${this.o.location}: ${what} failed: ${detail}`, {
      op, ...(key === undefined ? {} : { key }), httpStatus: status, ...(remote ? { exception: remote.exception } : {}),
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

  /**
   * One request, its answer's body still to read; network failures become WebHdfsError without httpStatus
   * (retriable). The request timeout bounds the whole exchange, the reading of the body included.
   */
  async request(url: string, r: Omit<HttpRequest, 'signal'>, op: string, key: string | undefined, where: string): Promise<Answer> {
    const signal = AbortSignal.timeout(this.o.requestTimeoutMs);
    try {
      return { ...(await send(this.agent, url, { ...r, signal })), signal };
    } catch (e) {
      throw this.networkError(e, op, key, where);
    }
  }

  /** The whole body of an answer; a connection that breaks off is the server's failure (retriable). */
  async body(res: Answer, op: string, key: string | undefined, where: string): Promise<Buffer> {
    try {
      return await readBody(res, res.signal);
    } catch (e) {
      throw this.networkError(e, op, key, where);
    }
  }

  /** A NameNode call answering JSON; `ok` statuses pass, others throw their error. */
  async json<T>(method: string, path: string, op: string, params: Params, key: string | undefined): Promise<T> {
    const res = await this.request(this.url(path, op, params), { method }, op, key, 'the NameNode');
    if (res.status < 200 || res.status > 299) throw await this.errorOf(res, op, key);
    const text = (await this.body(res, op, key, 'the NameNode')).toString('utf8');
    // RENAME with options answers 200 and no body.
    return (text === '' ? {} : JSON.parse(text)) as T;
  }

  /**
   * Step one of OPEN and CREATE: the NameNode answers which DataNode serves the bytes (`noredirect=true`: a JSON
   * `Location` rather than a 307 whose body would have to be re-sent). The address is the DataNode's own, as it
   * registered with the NameNode (`dfs.datanode.hostname`): it must be reachable from this process.
   */
  async dataNodeUrl(method: 'GET' | 'PUT', path: string, webhdfsOp: 'OPEN' | 'CREATE', params: Params, op: string, key: string): Promise<string> {
    const res = await this.request(this.url(path, webhdfsOp, { ...params, noredirect: true }), { method }, op, key, 'the NameNode');
    if (res.status < 200 || res.status > 299) throw await this.errorOf(res, op, key);
    const text = (await this.body(res, op, key, 'the NameNode')).toString('utf8');
    let Location: unknown;
    try {
      Location = (JSON.parse(text) as { Location?: unknown }).Location;
    } catch {
      // not JSON: said below as no DataNode named
    }
    if (typeof Location !== 'string' || !/^https?:\/\//.test(Location)) {
      throw new WebHdfsError(`object store ${this.o.location}: ${op} "${key}" failed: the NameNode named no DataNode for ${webhdfsOp}`, { op, key, reason: 'NoDataNode' });
    }
    return Location;
  }

  /**
   * Sends a file's bytes to the DataNode the NameNode named, and returns its answer (201 when the file is written and
   * closed; a DataNode's `100 Continue` is skipped).
   */
  async putToDataNode(target: string, body: Uint8Array | (() => Readable), size: number, op: string, key: string): Promise<{ status: number; text: string }> {
    const headers = { 'content-type': 'application/octet-stream', 'content-length': size };
    const res = await this.request(target, { method: 'PUT', headers, body }, op, key, 'the DataNode');
    return { status: res.status, text: (await this.body(res, op, key, 'the DataNode')).toString('utf8') };
  }
}
