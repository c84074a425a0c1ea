import { listTree, type TreeEntry } from './tree-list.ts';
import type { ListPage, ObjectInfo } from './types.ts';

/** S3's ListObjectsV2 over HDFS directories through WebHDFS (the walk: tree-list.ts). */

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

export interface HdfsListRequest {
  prefix: string;
  delimiter: boolean;
  pageSize: number;
  token: string | undefined;
  /** The children of a directory (key relative to the root, '' for the root), or undefined when it is not one. */
  listDir(dirKey: string): Promise<HdfsFileStatus[] | undefined>;
}

export function listHdfs(req: HdfsListRequest): Promise<ListPage> {
  return listTree({
    ...req,
    readDir: async (dirKey) => {
      const out: TreeEntry[] = [];
      for (const st of (await req.listDir(dirKey)) ?? []) {
        const name = st.pathSuffix;
        if (st.type === 'FILE') out.push({ name, kind: 'file', info: (key) => objectInfo(key, st) });
        // An empty directory (left by a put that died between creating it and renaming its file in) holds no key:
        // not a prefix. A directory holding only such empty directories would still show; the store prunes
        // directories as deletes empty them, so that takes a crash in a narrow window, and listing under it is empty.
        else if (st.type === 'DIRECTORY') out.push({ name, kind: 'dir', holdsKey: () => Promise.resolve(st.childrenNum !== 0) });
      }
      return out;
    },
  });
}
