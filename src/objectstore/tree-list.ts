import { compareKeys, RESERVED_SEGMENT } from './keys.ts';
import type { ListPage, ObjectInfo } from './types.ts';

/**
 * S3's ListObjectsV2 over a tree of directories (the local store's directories, HDFS's): keys in UTF-8 byte order,
 * optional `/` delimiter, pages resumed after the last key or prefix returned (the token). Each directory's entries
 * are sorted here by name, a directory's name with a `/` appended, which is exactly the byte order of the keys below
 * them (neither a file system's readdir nor HDFS, which orders by signed bytes, gives that order), so the walk emits
 * keys already sorted and can stop after one page; subtrees wholly before the token are skipped without being read.
 */

export type TreeEntry =
  | { name: string; kind: 'file'; info: (key: string) => ObjectInfo }
  /** holdsKey: whether a key exists below it (a prefix only exists on S3 when a key has it); asked only when needed. */
  | { name: string; kind: 'dir'; holdsKey: () => Promise<boolean> };

export interface TreeListRequest {
  prefix: string;
  delimiter: boolean;
  pageSize: number;
  token: string | undefined;
  /** The entries of a directory (its key, '' for the root); none when it is gone or not a directory. */
  readDir(dirKey: string): Promise<TreeEntry[]>;
}

type Item = { object: ObjectInfo } | { prefix: string };

export async function listTree(req: TreeListRequest): Promise<ListPage> {
  const { token } = req;
  const cut = req.prefix.lastIndexOf('/');
  const startDir = cut < 0 ? '' : req.prefix.slice(0, cut);
  const namePrefix = req.prefix.slice(cut + 1);
  const want = req.pageSize + 1; // one more than a page tells whether there is a next one
  const items: Item[] = [];
  const after = (k: string): boolean => token === undefined || compareKeys(k, token) > 0;

  /** Returns true once enough items are collected. */
  const walk = async (dirKey: string, nameFilter: string): Promise<boolean> => {
    const entries: { key: string; sortKey: string; entry: TreeEntry }[] = [];
    for (const entry of await req.readDir(dirKey)) {
      if (!entry.name.startsWith(nameFilter) || (dirKey === '' && entry.name === RESERVED_SEGMENT)) continue;
      const key = dirKey === '' ? entry.name : `${dirKey}/${entry.name}`;
      entries.push({ key, sortKey: entry.kind === 'dir' ? `${key}/` : key, entry });
    }
    entries.sort((a, b) => compareKeys(a.sortKey, b.sortKey));
    for (const { key, sortKey, entry } of entries) {
      if (entry.kind === 'file') {
        if (!after(key)) continue;
        items.push({ object: entry.info(key) });
      } else if (req.delimiter) {
        if (!after(sortKey) || !(await entry.holdsKey())) continue;
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
