import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';

/** One entry of a store "directory". */
export interface StoreEntry {
  name: string;
  isDir: boolean;
  size: number;
  mtimeMs: number;
}

/**
 * Every file-system access of the lake goes through this interface, so an object store can replace the local disk
 * later. Keys are `/`-separated paths relative to the lake root (`reports/date=2025-01-15/hour=10/p0003-....parquet`).
 *
 * Durability contract (what the commit protocol relies on): `putAtomic` leaves either the old or the new content,
 * never a torn file, and both it and `rename` are durable once `syncDir` of the affected directories returned.
 */
export interface LakeStore {
  readonly root: string;
  /** Local file path of a key: DuckDB reads and writes Parquet there directly. */
  localPath(key: string): string;
  /** Writes a temporary sibling, fsyncs it, renames it over `key` and fsyncs the directory. */
  putAtomic(key: string, data: string | Uint8Array): Promise<void>;
  /** Writes (truncating) without the atomic dance: for scratch files nobody reads after a crash. */
  putScratch(key: string, data: string | Uint8Array | readonly Uint8Array[]): Promise<void>;
  /** Content of a key, or undefined if it does not exist. */
  read(key: string): Promise<Buffer | undefined>;
  exists(key: string): Promise<boolean>;
  /** Entries directly under a directory key; [] if it does not exist. */
  list(dirKey: string): Promise<StoreEntry[]>;
  /** Creates the directory and its missing parents, fsyncing each parent that gained an entry. */
  ensureDir(dirKey: string): Promise<void>;
  /** Atomic rename within the lake (the destination directory must exist). Not durable until syncDir. */
  rename(from: string, to: string): Promise<void>;
  /** Removes a file; a missing file is not an error. */
  remove(key: string): Promise<void>;
  /** Removes a directory and everything under it; missing is not an error. */
  removeTree(dirKey: string): Promise<void>;
  /** fsync of a file's content. */
  syncFile(key: string): Promise<void>;
  /** fsync of a directory: makes creations, renames and deletions of its entries durable. */
  syncDir(dirKey: string): Promise<void>;
}

function isNotFound(e: unknown): boolean {
  return (e as NodeJS.ErrnoException)?.code === 'ENOENT';
}

export function parentKey(key: string): string {
  const i = key.lastIndexOf('/');
  return i < 0 ? '' : key.slice(0, i);
}

export function baseName(key: string): string {
  return key.slice(key.lastIndexOf('/') + 1);
}

/** The lake on a local (or mounted) file system. */
export class LocalLakeStore implements LakeStore {
  readonly root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  localPath(key: string): string {
    if (key === '') return this.root;
    const parts = key.split('/');
    if (parts.some((p) => p === '' || p === '.' || p === '..')) throw new Error(`invalid lake key "${key}"`);
    return path.join(this.root, ...parts);
  }

  async putAtomic(key: string, data: string | Uint8Array): Promise<void> {
    const target = this.localPath(key);
    const tmp = `${target}.tmp-${randomBytes(4).toString('hex')}`;
    const fh = await fsp.open(tmp, 'w');
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      await fsp.rename(tmp, target);
    } catch (e) {
      await fsp.rm(tmp, { force: true });
      throw e;
    }
    await this.syncDir(parentKey(key));
  }

  async putScratch(key: string, data: string | Uint8Array | readonly Uint8Array[]): Promise<void> {
    const fh = await fsp.open(this.localPath(key), 'w');
    try {
      if (typeof data === 'string' || data instanceof Uint8Array) await fh.writeFile(data);
      else await fh.writev(data as Uint8Array[]);
    } finally {
      await fh.close();
    }
  }

  async read(key: string): Promise<Buffer | undefined> {
    try {
      return await fsp.readFile(this.localPath(key));
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  async exists(key: string): Promise<boolean> {
    try {
      await fsp.lstat(this.localPath(key));
      return true;
    } catch (e) {
      if (isNotFound(e)) return false;
      throw e;
    }
  }

  async list(dirKey: string): Promise<StoreEntry[]> {
    const dir = this.localPath(dirKey);
    let names: string[];
    try {
      names = await fsp.readdir(dir);
    } catch (e) {
      if (isNotFound(e) || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return [];
      throw e;
    }
    const out: StoreEntry[] = [];
    for (const name of names) {
      try {
        const st = await fsp.lstat(path.join(dir, name));
        out.push({ name, isDir: st.isDirectory(), size: st.size, mtimeMs: st.mtimeMs });
      } catch (e) {
        if (!isNotFound(e)) throw e; // deleted between readdir and lstat (compaction): simply absent
      }
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async ensureDir(dirKey: string): Promise<void> {
    if (dirKey === '') {
      await fsp.mkdir(this.root, { recursive: true });
      return;
    }
    if (await this.exists(dirKey)) return;
    await this.ensureDir(parentKey(dirKey));
    try {
      await fsp.mkdir(this.localPath(dirKey));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    // A new directory is only durable once its parent's entry is.
    await this.syncDir(parentKey(dirKey));
  }

  async rename(from: string, to: string): Promise<void> {
    await fsp.rename(this.localPath(from), this.localPath(to));
  }

  async remove(key: string): Promise<void> {
    await fsp.rm(this.localPath(key), { force: true });
  }

  async removeTree(dirKey: string): Promise<void> {
    await fsp.rm(this.localPath(dirKey), { recursive: true, force: true });
  }

  async syncFile(key: string): Promise<void> {
    const fh = await fsp.open(this.localPath(key), 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  }

  async syncDir(dirKey: string): Promise<void> {
    let fh: fsp.FileHandle;
    try {
      fh = await fsp.open(this.localPath(dirKey), 'r');
    } catch (e) {
      if (isNotFound(e)) return;
      throw e;
    }
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  }
}
