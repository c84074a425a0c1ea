/**
 * The local cache that lets DuckDB query a lake on an object store, run on a local directory read through the cache
 * as if it were remote (cache-suite.ts; s3-ceph.test.ts runs the same on Ceph RGW).
 */
import { after, describe } from 'node:test';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { lakeFilesFor } from '../../src/lake/index.ts';
import { tempDir } from '../../src/testkit/index.ts';
import { cacheSuite } from './cache-suite.ts';

describe('lake cache: queries over a lake that is not read in place', () => {
  const tmp = tempDir('dw-lake-cache-');
  after(() => tmp.cleanup());
  let n = 0;
  cacheSuite({
    lake: () => path.join(tmp.dir, `lake-${++n}`),
    files: (location, opts) => lakeFilesFor(location, { ...opts, alwaysCache: true }),
    dir: () => {
      const d = path.join(tmp.dir, `dir-${++n}`);
      mkdirSync(d);
      return d;
    },
  });
});
