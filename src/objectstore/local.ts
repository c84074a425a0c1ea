import { randomBytes } from 'node:crypto';
import { constants as fsConstants, promises as fsp } from 'node:fs';
import path from 'node:path';
import { ObjectStoreError } from './errors.ts';
import { checkKey, checkPageSize, checkPrefix, checkRange, RESERVED_SEGMENT } from './keys.ts';
import { listLocal } from './local-list.ts';
import type { ListOptions, ListPage, ObjectInfo, ObjectStore, PutOptions } from './types.ts';

/**
 * The object store on a local (or mounted) file system: the embedded default. A key is a file under the root, its
 * `/`-separated segments directories. A put writes a temporary file in `<root>/.dw-tmp/`, fsyncs it, renames it over
 * the key (or links it, for put-if-absent: link fails when the name exists) and fsyncs the directory, so a crash
 * leaves the old or the new content and a put is durable when it returns. Directories are created as needed (each
 * new one fsynced into its parent) and removed when a delete empties them, so they behave like S3 prefixes.
 *
 * Unlike S3, a key cannot also be the "directory" of another key (`a` and `a/b`): such a put fails.
 * The temporary directory must be on the same file system as every key (one mount under the root).
 */

const RETRIES = 5;

function errno(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException)?.code;
}

function isMissing(e: unknown): boolean {
  const code = errno(e);
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR';
}

async function fsyncPath(p: string): Promise<void> {
  const fh = await fsp.open(p, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export class LocalObjectStore implements ObjectStore {
  readonly kind = 'local' as const;
  readonly root: string;
  readonly location: string;
  private readonly tmpDir: string;

  constructor(root: string) {
    this.root = path.resolve(root);
    this.location = this.root;
    this.tmpDir = path.join(this.root, RESERVED_SEGMENT);
  }

  /** Local file path of a key (DuckDB can read a local lake's Parquet files in place). */
  pathOf(key: string): string {
    checkKey(key);
    return path.join(this.root, ...key.split('/'));
  }

  private fail(op: string, key: string | undefined, e: unknown): ObjectStoreError {
    const reason = errno(e);
    const what = key === undefined ? op : `${op} "${key}"`;
    return new ObjectStoreError(`object store ${this.location}: ${what} failed: ${reason ?? (e as Error)?.message ?? String(e)}`, {
      op, ...(key === undefined ? {} : { key }), ...(reason ? { reason } : {}), cause: e,
    });
  }

  /** Creates the directory and missing parents; each new directory is fsynced into its parent. */
  private async ensureDir(dir: string): Promise<void> {
    try {
      if ((await fsp.stat(dir)).isDirectory()) return;
    } catch (e) {
      if (errno(e) !== 'ENOENT') throw e;
    }
    const parent = path.dirname(dir);
    if (parent !== dir) await this.ensureDir(parent);
    try {
      await fsp.mkdir(dir);
    } catch (e) {
      if (errno(e) !== 'EEXIST') throw e;
      // Created concurrently: its creator may not have fsynced the parent yet, and our put must not return before.
    }
    await fsyncPath(parent);
  }

  /** Makes a temporary file with `fill` (given its path) and fsyncs it; returns its path. */
  private async writeTemp(fill: (tmp: string) => Promise<void>): Promise<string> {
    await this.ensureDir(this.tmpDir);
    const tmp = path.join(this.tmpDir, `${Date.now().toString(36)}-${randomBytes(8).toString('hex')}`);
    try {
      await fill(tmp);
      await fsyncPath(tmp);
    } catch (e) {
      await fsp.rm(tmp, { force: true });
      throw e;
    }
    return tmp;
  }

  private conflict(key: string, code: string | undefined): ObjectStoreError {
    return new ObjectStoreError(`object store ${this.location}: put "${key}" failed: the key or one of its prefixes is already used the other way `
      + '(as an object and as a prefix), which a file system cannot hold', { op: 'put', key, ...(code ? { reason: code } : {}) });
  }

  /** Moves a synced temporary file to the key: rename (replace) or link (create only). */
  private async publish(key: string, tmp: string, ifAbsent: boolean): Promise<boolean> {
    const target = this.pathOf(key);
    const dir = path.dirname(target);
    try {
      for (let attempt = 1; ; attempt++) {
        try {
          await this.ensureDir(dir);
          if (ifAbsent) await fsp.link(tmp, target);
          else await fsp.rename(tmp, target);
          break;
        } catch (e) {
          const code = errno(e);
          if (ifAbsent && code === 'EEXIST') {
            if ((await fsp.stat(target)).isDirectory()) throw this.conflict(key, code);
            return false;
          }
          // A concurrent delete removed the (then empty) directory between ensureDir and now: create it again.
          if (code === 'ENOENT' && attempt < RETRIES) continue;
          if (code === 'EISDIR' || code === 'ENOTDIR') throw this.conflict(key, code);
          throw e;
        }
      }
      await fsyncPath(dir);
      return true;
    } finally {
      await fsp.rm(tmp, { force: true }); // after link (or a failure); a renamed file is already gone
    }
  }

  async put(key: string, data: string | Uint8Array, opts: PutOptions = {}): Promise<boolean> {
    checkKey(key);
    try {
      const tmp = await this.writeTemp((t) => fsp.writeFile(t, data, { flag: 'wx' }));
      return await this.publish(key, tmp, opts.ifAbsent === true);
    } catch (e) {
      throw e instanceof ObjectStoreError ? e : this.fail('put', key, e);
    }
  }

  async putFile(key: string, file: string, opts: PutOptions = {}): Promise<boolean> {
    checkKey(key);
    try {
      const tmp = await this.writeTemp((t) => fsp.copyFile(file, t, fsConstants.COPYFILE_EXCL));
      return await this.publish(key, tmp, opts.ifAbsent === true);
    } catch (e) {
      throw e instanceof ObjectStoreError ? e : this.fail('putFile', key, e);
    }
  }

  async get(key: string): Promise<Buffer | undefined> {
    const p = this.pathOf(key);
    try {
      return await fsp.readFile(p);
    } catch (e) {
      if (isMissing(e)) return undefined;
      throw this.fail('get', key, e);
    }
  }

  async getRange(key: string, offset: number, length: number): Promise<Buffer | undefined> {
    const p = this.pathOf(key);
    checkRange(offset, length);
    let fh: fsp.FileHandle;
    try {
      fh = await fsp.open(p, 'r');
    } catch (e) {
      if (isMissing(e)) return undefined;
      throw this.fail('getRange', key, e);
    }
    try {
      const st = await fh.stat();
      if (!st.isFile()) return undefined;
      const n = Math.max(0, Math.min(length, st.size - offset));
      const buf = Buffer.alloc(n);
      let done = 0;
      while (done < n) {
        const { bytesRead } = await fh.read(buf, done, n - done, offset + done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
      return done === n ? buf : buf.subarray(0, done);
    } catch (e) {
      if (errno(e) === 'EISDIR') return undefined;
      throw this.fail('getRange', key, e);
    } finally {
      await fh.close();
    }
  }

  async getToFile(key: string, file: string): Promise<boolean> {
    const p = this.pathOf(key);
    const tmp = `${file}.dw-part-${randomBytes(6).toString('hex')}`;
    try {
      await fsp.copyFile(p, tmp);
      await fsp.rename(tmp, file);
      return true;
    } catch (e) {
      await fsp.rm(tmp, { force: true });
      // A missing destination directory is the caller's error, not a missing key.
      if (isMissing(e) && (await this.head(key)) === undefined) return false;
      throw this.fail('getToFile', key, e);
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const p = this.pathOf(key);
    try {
      const st = await fsp.stat(p);
      return st.isFile() ? { key, size: st.size, mtimeMs: st.mtimeMs } : undefined;
    } catch (e) {
      if (isMissing(e)) return undefined;
      throw this.fail('head', key, e);
    }
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListPage> {
    checkPrefix(prefix);
    const pageSize = checkPageSize(opts.pageSize);
    try {
      return await listLocal({ root: this.root, prefix, delimiter: opts.delimiter === '/', pageSize, token: opts.token });
    } catch (e) {
      throw this.fail('list', prefix, e);
    }
  }

  async delete(key: string): Promise<void> {
    const p = this.pathOf(key);
    try {
      await fsp.unlink(p);
    } catch (e) {
      if (isMissing(e) || errno(e) === 'EPERM') {
        // EPERM: unlink of a directory on some systems; a directory is a prefix, not an object: nothing to delete.
        return;
      }
      throw this.fail('delete', key, e);
    }
    try {
      await fsyncPath(path.dirname(p));
      await this.pruneEmptyDirs(path.dirname(p));
    } catch (e) {
      throw this.fail('delete', key, e);
    }
  }

  async deleteMany(keys: readonly string[]): Promise<void> {
    for (const key of keys) checkKey(key);
    for (const key of keys) await this.delete(key);
  }

  /** Removes directories a delete left empty, up to the root: an emptied prefix disappears, as on S3. */
  private async pruneEmptyDirs(dir: string): Promise<void> {
    while (dir !== this.root && dir.startsWith(this.root + path.sep)) {
      try {
        await fsp.rmdir(dir);
      } catch (e) {
        const code = errno(e);
        if (code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'ENOENT' || code === 'EBUSY') return;
        throw e;
      }
      dir = path.dirname(dir);
    }
  }

  async close(): Promise<void> {
    // Nothing held open between calls.
  }
}
