import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fsp } from 'node:fs';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { silentLogger } from '../util/log.ts';
import { ObjectStoreError, ObjectStoreRequestError } from './errors.ts';
import { checkKey, checkPageSize, checkPrefix, checkRange, RESERVED_SEGMENT } from './keys.ts';
import { checkHdfsRoot, defaultHdfsUser, DEFAULT_WEBHDFS_PORT, formatWebHdfsLocation, type WebHdfsObjectStoreOptions } from './webhdfs-config.ts';
import { WebHdfsError, WebHdfsHttp, type Answer } from './webhdfs-http.ts';
import { listHdfs, objectInfo, type HdfsFileStatus } from './webhdfs-list.ts';
import type { ListOptions, ListPage, ObjectInfo, ObjectStore, PutOptions } from './types.ts';

/**
 * The object store on HDFS, through WebHDFS (the NameNode's REST interface: no Java in this process). A key is a file
 * under the root directory, its segments directories. A put writes a new file under `<root>/.dw-tmp/` (CREATE
 * without overwrite: the NameNode names a DataNode, the bytes go there, the file is closed, with its replicas, before
 * the DataNode answers), then renames it onto the key in one NameNode operation: RENAME with `renameoptions=OVERWRITE`
 * replaces the key atomically, `renameoptions=NONE` fails when the key exists, which makes put-if-absent exactly-once
 * among racing writers. Readers never see a file being written: it is elsewhere until the rename.
 * Deletes prune the directories they empty, so an emptied prefix disappears as on S3. docs/object-store.md, "HDFS".
 */

const MiB = 1024 * 1024;
/** Attempts of the rename step when a concurrent delete removed the directory between MKDIRS and RENAME. */
const PUBLISH_ATTEMPTS = 10;
const DELETE_CONCURRENCY = 8;

function exceptionOf(e: unknown): string | undefined {
  return e instanceof WebHdfsError ? e.exception : undefined;
}

/** The key, or a directory on its way, does not exist or is a file where a directory was expected. */
function isMissing(e: unknown): boolean {
  const x = exceptionOf(e);
  return x === 'FileNotFoundException' || x === 'ParentNotDirectoryException'
    || (x === 'AccessControlException' && /is not a directory/.test((e as Error).message));
}

export class WebHdfsObjectStore implements ObjectStore {
  readonly kind = 'webhdfs' as const;
  readonly location: string;
  readonly host: string;
  readonly port: number;
  /** Absolute HDFS directory of the store ('' for `/`). */
  readonly root: string;
  readonly user: string;
  private readonly http: WebHdfsHttp;
  private readonly bufferLimit: number;
  private readonly maxAttempts: number;

  constructor(opts: WebHdfsObjectStoreOptions) {
    this.host = opts.host;
    this.port = opts.port ?? DEFAULT_WEBHDFS_PORT;
    this.root = checkHdfsRoot(opts.root);
    this.location = formatWebHdfsLocation({ host: this.host, port: this.port, root: this.root });
    this.user = opts.user ?? defaultHdfsUser(opts.env);
    this.bufferLimit = opts.bufferLimit ?? 64 * MiB;
    this.maxAttempts = opts.maxAttempts ?? 6;
    for (const [name, v] of [['requestTimeoutMs', opts.requestTimeoutMs], ['maxAttempts', opts.maxAttempts], ['bufferLimit', opts.bufferLimit]] as const) {
      if (v !== undefined && (!Number.isSafeInteger(v) || v < (name === 'bufferLimit' ? 0 : 1))) throw new ObjectStoreRequestError(`invalid ${name} ${v}`);
    }
    this.http = new WebHdfsHttp({
      baseUrl: `http://${this.host}:${this.port}`,
      user: this.user,
      location: this.location,
      requestTimeoutMs: opts.requestTimeoutMs ?? 120_000,
      maxAttempts: this.maxAttempts,
      logger: opts.logger ?? silentLogger,
    });
  }

  /** Absolute HDFS path of a key. */
  pathOf(key: string): string {
    checkKey(key);
    return `${this.root}/${key}`;
  }

  private dirPath(dirKey: string): string {
    return dirKey === '' ? (this.root === '' ? '/' : this.root) : `${this.root}/${dirKey}`;
  }

  private newTmpPath(): string {
    return `${this.root}/${RESERVED_SEGMENT}/${Date.now().toString(36)}-${randomBytes(8).toString('hex')}`;
  }

  private conflict(key: string, e: unknown): ObjectStoreError {
    return new ObjectStoreError(`object store ${this.location}: put "${key}" failed: the key or one of its prefixes is already used the other way `
      + '(as an object and as a prefix), which a file system cannot hold', { op: 'put', key, reason: exceptionOf(e) ?? 'conflict' });
  }

  /** Writes a new file at a fresh temporary path and returns the path. A failed attempt starts over on another path. */
  private async upload(op: string, key: string, body: Uint8Array | (() => Readable), size: number): Promise<string> {
    return this.http.retry(op, async () => {
      const tmp = this.newTmpPath();
      const target = await this.http.dataNodeUrl('PUT', tmp, 'CREATE', { overwrite: false }, op, key);
      try {
        const res = await this.http.putToDataNode(target, body, size, op, key);
        if (res.status !== 201) throw this.http.errorOfText(res.status, res.text, op, key);
      } catch (e) {
        await this.deleteQuietly(tmp);
        throw e;
      }
      return tmp;
    }, WebHdfsHttp.dataRetriable);
  }

  private async deleteQuietly(path: string): Promise<void> {
    try {
      await this.http.json('DELETE', path, 'DELETE', { recursive: false }, undefined);
    } catch {
      // An under-construction file of a dead DataNode: its lease expires and it can be deleted later; never listed.
    }
  }

  private async exists(path: string): Promise<boolean> {
    try {
      await this.http.retry('head', () => this.http.json('GET', path, 'GETFILESTATUS', {}, undefined));
      return true;
    } catch (e) {
      if (isMissing(e)) return false;
      throw e;
    }
  }

  /** Renames the uploaded temporary file onto the key: replacing it, or only when absent. */
  private async publish(op: string, key: string, tmp: string, ifAbsent: boolean): Promise<boolean> {
    const dst = this.pathOf(key);
    const parent = dst.slice(0, dst.lastIndexOf('/')) || '/';
    /** A rename whose answer was lost may have been applied: then the temporary file is gone. */
    let unanswered = false;
    for (let n = 1; ; n++) {
      try {
        await this.http.retry(op, () => this.http.json('PUT', parent, 'MKDIRS', {}, key));
      } catch (e) {
        await this.deleteQuietly(tmp);
        if (exceptionOf(e) === 'ParentNotDirectoryException' || exceptionOf(e) === 'FileAlreadyExistsException') throw this.conflict(key, e);
        throw e;
      }
      try {
        await this.http.json('PUT', tmp, 'RENAME', { destination: dst, renameoptions: ifAbsent ? 'NONE' : 'OVERWRITE' }, key);
        return true;
      } catch (e) {
        const x = exceptionOf(e);
        if (unanswered && (x === 'FileNotFoundException' || x === 'FileAlreadyExistsException') && !(await this.exists(tmp))) return true;
        if (x === 'FileAlreadyExistsException' && ifAbsent) {
          await this.deleteQuietly(tmp);
          const st = await this.status(dst);
          if (st?.type === 'DIRECTORY') throw this.conflict(key, e);
          return false;
        }
        // The directory was pruned by a concurrent delete between MKDIRS and RENAME: make it again.
        if (x === 'FileNotFoundException' && n < PUBLISH_ATTEMPTS) continue;
        if (WebHdfsHttp.retriable(e) && n < this.maxAttempts) {
          unanswered ||= (e as WebHdfsError).httpStatus === undefined;
          await sleep(Math.min(4000, 250 * 2 ** (n - 1)));
          continue;
        }
        await this.deleteQuietly(tmp);
        if (x === 'ParentNotDirectoryException' || (x === 'IOException' && /must both be directories|is a directory/i.test((e as Error).message))) throw this.conflict(key, e);
        throw e;
      }
    }
  }

  async put(key: string, data: string | Uint8Array, opts: PutOptions = {}): Promise<boolean> {
    checkKey(key);
    const body = typeof data === 'string' ? Buffer.from(data) : data;
    const tmp = await this.upload('put', key, body, body.length);
    return this.publish('put', key, tmp, opts.ifAbsent === true);
  }

  async putFile(key: string, file: string, opts: PutOptions = {}): Promise<boolean> {
    checkKey(key);
    let size: number;
    try {
      size = (await fsp.stat(file)).size;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? 'read';
      throw new ObjectStoreError(`object store ${this.location}: putFile "${key}" failed: cannot read ${file}: ${code}`, { op: 'putFile', key, reason: code, cause: e });
    }
    // A buffer can be sent again when a DataNode fails mid-upload; a large file is re-read from disk for each attempt.
    const data = size <= this.bufferLimit ? await fsp.readFile(file) : undefined;
    const tmp = await this.upload('putFile', key, data ?? (() => createReadStream(file)), size);
    return this.publish('putFile', key, tmp, opts.ifAbsent === true);
  }

  /** The DataNode's answer to OPEN, its body to read, or undefined when the key is not a file. One attempt: the callers retry. */
  private async open(op: string, key: string, params: Record<string, number>): Promise<Answer | undefined> {
    let target: string;
    try {
      target = await this.http.dataNodeUrl('GET', this.pathOf(key), 'OPEN', params, op, key);
    } catch (e) {
      if (isMissing(e)) return undefined;
      throw e;
    }
    const res = await this.http.request(target, { method: 'GET' }, op, key, 'the DataNode');
    if (res.status === 200) return res;
    const err = await this.http.errorOf(res, op, key);
    if (isMissing(err)) return undefined; // a directory, or deleted since the NameNode answered
    throw err;
  }

  private readBody(op: string, key: string, res: Answer): Promise<Buffer> {
    return this.http.body(res, op, key, 'the DataNode');
  }

  async get(key: string): Promise<Buffer | undefined> {
    checkKey(key);
    return this.http.retry('get', async () => {
      const res = await this.open('get', key, {});
      return res && this.readBody('get', key, res);
    }, WebHdfsHttp.dataRetriable);
  }

  async getRange(key: string, offset: number, length: number): Promise<Buffer | undefined> {
    checkKey(key);
    checkRange(offset, length);
    if (length === 0) return (await this.head(key)) ? Buffer.alloc(0) : undefined;
    try {
      return await this.http.retry('getRange', async () => {
        const res = await this.open('getRange', key, { offset, length });
        return res && this.readBody('getRange', key, res);
      }, (e) => WebHdfsHttp.dataRetriable(e) && !/out of the range/.test((e as Error).message));
    } catch (e) {
      // From or beyond the end: S3 answers 416, the local store an empty buffer, HDFS "Offset=... out of the range".
      if (exceptionOf(e) === 'IOException' && /out of the range/.test((e as Error).message)) return Buffer.alloc(0);
      throw e;
    }
  }

  async getToFile(key: string, file: string): Promise<boolean> {
    checkKey(key);
    return this.http.retry('getToFile', async () => {
      const res = await this.open('getToFile', key, {});
      if (!res) return false;
      const tmp = `${file}.dw-part-${randomBytes(6).toString('hex')}`;
      try {
        let bytes = 0;
        res.body.on('data', (c: Buffer) => { bytes += c.length; });
        // Which side failed first: pipeline then destroys the other with the same error.
        let failed: 'body' | 'file' | undefined;
        res.body.once('error', () => { failed ??= 'body'; });
        const out = createWriteStream(tmp, { flags: 'wx' }).once('error', () => { failed ??= 'file'; });
        try {
          await pipeline(res.body, out);
        } catch (e) {
          // The body breaking off (or the request timing out) is the DataNode's failure (retried); anything else is the local file's.
          if (failed !== 'file' || res.signal.aborted) throw this.http.networkError(res.signal.aborted ? res.signal.reason : e, 'getToFile', key, 'the DataNode');
          const code = (e as NodeJS.ErrnoException).code ?? 'write';
          throw new ObjectStoreError(`object store ${this.location}: getToFile "${key}" failed: cannot write ${file}: ${code}`, { op: 'getToFile', key, reason: code, cause: e });
        }
        const expected = Number(res.headers['content-length'] ?? NaN);
        if (Number.isFinite(expected) && expected !== bytes) {
          throw new WebHdfsError(`object store ${this.location}: getToFile "${key}" failed: received ${bytes} of ${expected} bytes`, { op: 'getToFile', key, reason: 'ShortRead' });
        }
        await fsp.rename(tmp, file);
        return true;
      } finally {
        await fsp.rm(tmp, { force: true });
      }
    }, WebHdfsHttp.dataRetriable);
  }

  private async status(path: string): Promise<HdfsFileStatus | undefined> {
    try {
      return (await this.http.retry('head', () => this.http.json<{ FileStatus: HdfsFileStatus }>('GET', path, 'GETFILESTATUS', {}, undefined))).FileStatus;
    } catch (e) {
      if (isMissing(e)) return undefined;
      throw e;
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const st = await this.status(this.pathOf(key));
    return st?.type === 'FILE' ? objectInfo(key, st) : undefined;
  }

  /** A directory's children (LISTSTATUS_BATCH pages, as the NameNode hands them out), or undefined when it is not a directory. */
  private async listDir(dirKey: string): Promise<HdfsFileStatus[] | undefined> {
    const path = this.dirPath(dirKey);
    const out: HdfsFileStatus[] = [];
    let startAfter: string | undefined;
    for (;;) {
      type Batch = { DirectoryListing: { partialListing: { FileStatuses: { FileStatus: HdfsFileStatus[] } }; remainingEntries: number } };
      let batch: Batch;
      try {
        batch = await this.http.retry('list', () => this.http.json<Batch>('GET', path, 'LISTSTATUS_BATCH', startAfter === undefined ? {} : { startAfter }, dirKey || undefined));
      } catch (e) {
        if (isMissing(e)) return undefined;
        throw e;
      }
      const page = batch.DirectoryListing.partialListing.FileStatuses.FileStatus;
      // Listing a file answers the file itself, with an empty name.
      if (page.some((s) => s.pathSuffix === '')) return undefined;
      out.push(...page);
      if (batch.DirectoryListing.remainingEntries === 0 || page.length === 0) return out;
      startAfter = page[page.length - 1]!.pathSuffix;
    }
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListPage> {
    checkPrefix(prefix);
    const pageSize = checkPageSize(opts.pageSize);
    return listHdfs({ prefix, delimiter: opts.delimiter === '/', pageSize, token: opts.token, listDir: (d) => this.listDir(d) });
  }

  /** Deletes a file (never a non-empty directory); false when there was nothing to delete. */
  private async deleteOne(key: string): Promise<void> {
    try {
      await this.http.retry('delete', () => this.http.json('DELETE', this.pathOf(key), 'DELETE', { recursive: false }, key));
    } catch (e) {
      // A non-empty directory is a prefix, not an object: nothing to delete.
      if (isMissing(e) || exceptionOf(e) === 'PathIsNotEmptyDirectoryException') return;
      throw e;
    }
  }

  /**
   * Removes the directories deletes left empty, from `dirKey` up to the root (never the root or `.dw-tmp`). A
   * non-recursive DELETE refuses a directory that is not empty, atomically in the NameNode, so a put that renamed a
   * file into it first keeps it, and a put that comes after makes the directory again.
   */
  private async prune(dirKey: string): Promise<void> {
    while (dirKey !== '' && dirKey !== RESERVED_SEGMENT) {
      try {
        await this.http.retry('delete', () => this.http.json('DELETE', this.dirPath(dirKey), 'DELETE', { recursive: false }, undefined));
      } catch (e) {
        if (exceptionOf(e) === 'PathIsNotEmptyDirectoryException') return;
        if (!isMissing(e)) throw e;
      }
      const cut = dirKey.lastIndexOf('/');
      dirKey = cut < 0 ? '' : dirKey.slice(0, cut);
    }
  }

  private static parentKey(key: string): string {
    const cut = key.lastIndexOf('/');
    return cut < 0 ? '' : key.slice(0, cut);
  }

  async delete(key: string): Promise<void> {
    checkKey(key);
    await this.deleteOne(key);
    await this.prune(WebHdfsObjectStore.parentKey(key));
  }

  async deleteMany(keys: readonly string[]): Promise<void> {
    for (const key of keys) checkKey(key);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < keys.length) await this.deleteOne(keys[next++]!);
    };
    await Promise.all(Array.from({ length: Math.min(DELETE_CONCURRENCY, keys.length) }, worker));
    // Each directory once, deepest first, after all its keys are gone.
    const dirs = [...new Set(keys.map((k) => WebHdfsObjectStore.parentKey(k)))].sort((a, b) => b.split('/').length - a.split('/').length);
    for (const d of dirs) await this.prune(d);
  }

  async close(): Promise<void> {
    this.http.close();
  }
}
