import { promises as fsp, type Stats } from 'node:fs';
import path from 'node:path';
import { listTree, type TreeEntry } from './tree-list.ts';
import type { ListPage } from './types.ts';

/** S3's ListObjectsV2 over a directory tree on local disk (the walk: tree-list.ts). */

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

export function listLocal(req: LocalListRequest): Promise<ListPage> {
  const { root } = req;
  return listTree({
    ...req,
    readDir: async (dirKey) => {
      const dirPath = dirKey === '' ? root : path.join(root, ...dirKey.split('/'));
      const out: TreeEntry[] = [];
      for (const name of await readdirOrEmpty(dirPath)) {
        const p = path.join(dirPath, name);
        const st = await statOrUndefined(p);
        if (st?.isFile()) out.push({ name, kind: 'file', info: (key) => ({ key, size: st.size, mtimeMs: st.mtimeMs }) });
        else if (st?.isDirectory()) out.push({ name, kind: 'dir', holdsKey: () => holdsFile(p) });
      }
      return out;
    },
  });
}
