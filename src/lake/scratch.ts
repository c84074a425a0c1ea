import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * A private local directory where DuckDB writes a batch's (or a merge's) Parquet files before they are uploaded, and
 * where a merge downloads its inputs. Named after the process, so that the directories of dead processes (killed
 * mid-batch) are removed by the next one that opens a scratch directory under the same parent.
 */

const PREFIX = 'dw-lake-';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface Scratch {
  dir: string;
  /** A fresh sub-directory for one batch or merge. */
  sub(name: string): Promise<string>;
  remove(): Promise<void>;
}

/** Removes the scratch directories under `parent` of processes that are gone. */
export async function sweepDeadScratch(parent = os.tmpdir()): Promise<void> {
  for (const name of await fsp.readdir(parent).catch(() => [] as string[])) {
    const pid = Number(/^dw-lake-(\d+)-/.exec(name)?.[1]);
    if (pid && pid !== process.pid && !alive(pid)) await fsp.rm(path.join(parent, name), { recursive: true, force: true }).catch(() => undefined);
  }
}

export async function openScratch(parent = os.tmpdir()): Promise<Scratch> {
  await fsp.mkdir(parent, { recursive: true });
  await sweepDeadScratch(parent);
  const dir = await fsp.mkdtemp(path.join(parent, `${PREFIX}${process.pid}-`));
  let seq = 0;
  return {
    dir,
    async sub(name) {
      const d = path.join(dir, `${++seq}-${name}-${randomBytes(3).toString('hex')}`);
      await fsp.mkdir(d);
      return d;
    },
    remove: () => fsp.rm(dir, { recursive: true, force: true }),
  };
}
