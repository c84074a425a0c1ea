import { promises as fsp, type Stats } from 'node:fs';
import path from 'node:path';
import { compareKeys, RESERVED_SEGMENT } from './keys.ts';
import type { ListPage, ObjectInfo } from './types.ts';

/**
 * S3's ListObjectsV2 over a directory tree: keys in UTF-8 byte order, optional `/` delimiter, pages resumed after
 * the last key or prefix returned (the token). A directory is walked in the order of its entries' names with a `/`
 * appended to directories, which is exactly the byte order of the keys below them, so the walk emits keys already
 * sorted and can stop after one page; subtrees wholly before the token are skipped without being read.
 */

type Item = { object: ObjectInfo } | { prefix: string };

function isGone(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

async function statOrUndefined(p: string): Promise<Stats | undefined> {
  try {
    return await fsp.stat(p);
  } catch (e) {
    if (isGone(e)) return undefined; // deleted while listing: simply absent, as on S3
    throw e;
  }
}

async function readdirOrEmpty(p: string): Promise<string[]> {
  try {
    return await fsp.readdir(p);
  } catch (e) {
    if (isGone(e)) return [];
    throw e;
  }
}

/** Whether a directory holds a file somewhere below it (a prefix only exists on S3 when a key has it). */
async function holdsFile(dir: string): Promise<boolean> {
  for (const name of await readdirOrEmpty(dir)) {
    const p = path.join(dir, name);
    const st = await statOrUndefined(p);
    if (st?.isFile() || (st?.isDirectory() && (await holdsFile(p)))) return true;
  }
  return false;
}

export interface LocalListRequest {
  root: string;
  prefix: string;
  delimiter: boolean;
  pageSize: number;
  token: string | undefined;
}

export async function listLocal(req: LocalListRequest): Promise<ListPage> {
  const { root, token } = req;
  const cut = req.prefix.lastIndexOf('/');
  const startDir = cut < 0 ? '' : req.prefix.slice(0, cut);
  const namePrefix = req.prefix.slice(cut + 1);
  const want = req.pageSize + 1; // one more than a page tells whether there is a next one
  const items: Item[] = [];
  const after = (k: string): boolean => token === undefined || compareKeys(k, token) > 0;

  /** Returns true once enough items are collected. */
  const walk = async (dirKey: string, nameFilter: string): Promise<boolean> => {
    const dirPath = dirKey === '' ? root : path.join(root, ...dirKey.split('/'));
    const entries: { key: string; sortKey: string; st: Stats }[] = [];
    for (const name of await readdirOrEmpty(dirPath)) {
      if (!name.startsWith(nameFilter) || (dirKey === '' && name === RESERVED_SEGMENT)) continue;
      const st = await statOrUndefined(path.join(dirPath, name));
      if (!st || !(st.isFile() || st.isDirectory())) continue;
      const key = dirKey === '' ? name : `${dirKey}/${name}`;
      entries.push({ key, sortKey: st.isDirectory() ? `${key}/` : key, st });
    }
    entries.sort((a, b) => compareKeys(a.sortKey, b.sortKey));
    for (const { key, sortKey, st } of entries) {
      if (st.isFile()) {
        if (!after(key)) continue;
        items.push({ object: { key, size: st.size, mtimeMs: st.mtimeMs } });
      } else if (req.delimiter) {
        if (!after(sortKey) || !(await holdsFile(path.join(dirPath, path.basename(key))))) continue;
        items.push({ prefix: sortKey });
      } else {
        // Every key below starts with sortKey: all of them are at or before the token unless the token is inside.
        if (!after(sortKey) && !(token ?? '').startsWith(sortKey)) continue;
        if (await walk(key, '')) return true;
      }
      if (items.length >= want) return true;
    }
    return false;
  };

  await walk(startDir, namePrefix);
  const page = items.slice(0, req.pageSize);
  const last = page[page.length - 1];
  return {
    objects: page.flatMap((i) => ('object' in i ? [i.object] : [])),
    prefixes: page.flatMap((i) => ('prefix' in i ? [i.prefix] : [])),
    nextToken: items.length > req.pageSize && last ? ('object' in last ? last.object.key : last.prefix) : undefined,
  };
}
