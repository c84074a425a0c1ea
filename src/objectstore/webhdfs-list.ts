import { compareKeys, RESERVED_SEGMENT } from './keys.ts';
import type { ListPage, ObjectInfo } from './types.ts';

/**
 * S3's ListObjectsV2 over HDFS directories, the same walk as the local store's (local-list.ts): keys in UTF-8 byte
 * order (HDFS itself orders a directory's children by signed bytes, so every directory is sorted again here, a
 * directory as its name plus `/`), optional `/` delimiter, pages resumed after the last key or prefix returned, and
 * subtrees wholly before the token skipped without being listed.
 */

/** A WebHDFS FileStatus, the fields used. */
export interface HdfsFileStatus {
  pathSuffix: string;
  type: 'FILE' | 'DIRECTORY' | 'SYMLINK';
  length: number;
  modificationTime: number;
  fileId: number;
  childrenNum?: number;
}

export function objectInfo(key: string, st: HdfsFileStatus): ObjectInfo {
  // The inode id changes whenever the key is written again (each put renames a new file onto it): a version tag.
  return { key, size: st.length, mtimeMs: st.modificationTime, etag: String(st.fileId) };
}

type Item = { object: ObjectInfo } | { prefix: string };

export interface HdfsListRequest {
  prefix: string;
  delimiter: boolean;
  pageSize: number;
  token: string | undefined;
  /** The children of a directory (key relative to the root, '' for the root), or undefined when it is not one. */
  listDir(dirKey: string): Promise<HdfsFileStatus[] | undefined>;
}

export async function listHdfs(req: HdfsListRequest): Promise<ListPage> {
  const { token } = req;
  const cut = req.prefix.lastIndexOf('/');
  const startDir = cut < 0 ? '' : req.prefix.slice(0, cut);
  const namePrefix = req.prefix.slice(cut + 1);
  const want = req.pageSize + 1; // one more than a page tells whether there is a next one
  const items: Item[] = [];
  const after = (k: string): boolean => token === undefined || compareKeys(k, token) > 0;

  const walk = async (dirKey: string, nameFilter: string): Promise<boolean> => {
    const children = await req.listDir(dirKey);
    if (!children) return false;
    const entries: { key: string; sortKey: string; st: HdfsFileStatus }[] = [];
    for (const st of children) {
      const name = st.pathSuffix;
      if (!name.startsWith(nameFilter) || (dirKey === '' && name === RESERVED_SEGMENT)) continue;
      if (st.type !== 'FILE' && st.type !== 'DIRECTORY') continue;
      const key = dirKey === '' ? name : `${dirKey}/${name}`;
      entries.push({ key, sortKey: st.type === 'DIRECTORY' ? `${key}/` : key, st });
    }
    entries.sort((a, b) => compareKeys(a.sortKey, b.sortKey));
    for (const { key, sortKey, st } of entries) {
      if (st.type === 'FILE') {
        if (!after(key)) continue;
        items.push({ object: objectInfo(key, st) });
      } else if (req.delimiter) {
        // An empty directory (left by a put that died between creating it and renaming its file in) holds no key:
        // not a prefix. A directory holding only such empty directories would still show; the store prunes
        // directories as deletes empty them, so that takes a crash in a narrow window, and listing under it is empty.
        if (!after(sortKey) || st.childrenNum === 0) continue;
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
