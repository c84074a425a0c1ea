import assert from 'node:assert/strict';
import { existsSync, mkdirSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isDwError } from '../../src/errors/index.ts';
import { listAll, LocalObjectStore } from '../../src/objectstore/index.ts';
import { tempDir } from '../../src/testkit/index.ts';
import { objectStoreConformance } from './conformance.ts';

describe('LocalObjectStore', () => {
  const tmp = tempDir('dw-objectstore-local-');
  let stores = 0;
  before(() => mkdirSync(path.join(tmp.dir, 'scratch')));
  after(() => tmp.cleanup());

  describe('conformance', () => {
    objectStoreConformance({
      open: async () => new LocalObjectStore(path.join(tmp.dir, `store-${++stores}`)),
      scratchDir: path.join(tmp.dir, 'scratch'),
      largeObjectBytes: 12 * 1024 * 1024,
    });
  });

  describe('file-system specifics', () => {
    const open = (): LocalObjectStore => new LocalObjectStore(path.join(tmp.dir, `store-${++stores}`));

    it('keeps a key as a plain file at its path, and its temporary files out of listings', async () => {
      const s = open();
      await s.put('reports/date=2026-01-01/hour=03/p0001-1-2.parquet', 'bytes');
      assert.equal(await fsp.readFile(path.join(s.root, 'reports', 'date=2026-01-01', 'hour=03', 'p0001-1-2.parquet'), 'utf8'), 'bytes');
      assert.equal(s.pathOf('reports/date=2026-01-01/hour=03/p0001-1-2.parquet'), path.join(s.root, 'reports/date=2026-01-01/hour=03/p0001-1-2.parquet'));
      assert.equal(await s.put('reports/date=2026-01-01/hour=03/p0001-1-2.parquet', 'other', { ifAbsent: true }), false);
      assert.deepEqual(await fsp.readdir(path.join(s.root, '.dw-tmp')), [], 'no temporary file left, after a put or a refused put');
      await fsp.writeFile(path.join(s.root, '.dw-tmp', 'crash-leftover'), 'x');
      assert.deepEqual((await listAll(s, '')).objects.map((o) => o.key), ['reports/date=2026-01-01/hour=03/p0001-1-2.parquet']);
      assert.deepEqual((await listAll(s, '', { delimiter: '/' })).prefixes, ['reports/']);
    });

    it('removes the directories a delete empties, up to the root', async () => {
      const s = open();
      await s.put('a/b/c/one', '1');
      await s.put('a/two', '2');
      await s.delete('a/b/c/one');
      assert.equal(existsSync(path.join(s.root, 'a', 'b')), false, 'a/b/c and a/b removed');
      assert.equal(existsSync(path.join(s.root, 'a', 'two')), true, 'a kept: it still holds a key');
      await s.delete('a/two');
      assert.equal(existsSync(path.join(s.root, 'a')), false, 'a removed');
      assert.equal(existsSync(s.root), true, 'the root stays');
    });

    it('does not list an empty directory (a crash leftover) as a prefix', async () => {
      const s = open();
      await s.put('t/date=2026-01-01/k', 'x');
      await fsp.mkdir(path.join(s.root, 't', 'date=2026-01-02', 'hour=00'), { recursive: true });
      assert.deepEqual((await listAll(s, 't/', { delimiter: '/' })).prefixes, ['t/date=2026-01-01/']);
    });

    it('refuses a key that is also the prefix of another key, which a file system cannot hold', async () => {
      const s = open();
      await s.put('x/y', '1');
      for (const [key, what] of [['x', 'a key over a directory'], ['x/y/z', 'a key under a file']] as const) {
        await assert.rejects(s.put(key, '2'), (e: unknown) => {
          assert.ok(isDwError(e), `a DwError for ${what}`);
          assert.equal(e.code, 'DW_OBJECTSTORE_FAILED');
          assert.match(e.message, /both|other way/);
          return true;
        });
        await assert.rejects(s.put(key, '2', { ifAbsent: true }), (e: unknown) => isDwError(e) && e.code === 'DW_OBJECTSTORE_FAILED', `ifAbsent: ${what}`);
      }
      assert.equal((await s.get('x/y'))?.toString(), '1');
    });

    it('names the root, the operation and the system error when the disk refuses', async () => {
      const s = open();
      await s.put('ro/k', 'x');
      await fsp.chmod(path.join(s.root, 'ro'), 0o500);
      try {
        if (process.getuid?.() === 0) return; // root ignores permissions: nothing to provoke
        await assert.rejects(s.put('ro/k2', 'y'), (e: unknown) => isDwError(e) && e.code === 'DW_OBJECTSTORE_FAILED' && e.message.includes(s.root) && e.message.includes('EACCES'));
      } finally {
        await fsp.chmod(path.join(s.root, 'ro'), 0o700);
      }
    });
  });
});
