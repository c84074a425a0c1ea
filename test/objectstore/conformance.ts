import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';
import { isDwError } from '../../src/errors/index.ts';
import { compareKeys, listAll, type ObjectInfo, type ObjectStore } from '../../src/objectstore/index.ts';

/**
 * What every ObjectStore must do, written against the interface only: local.test.ts and s3-ceph.test.ts run it
 * against the local file system and a real Ceph RGW. Call inside a describe().
 */
export interface ConformanceTarget {
  /** A new, empty store (its own directory, or its own prefix of a bucket) for one test. */
  open(): Promise<ObjectStore>;
  /** A local directory for the files of putFile / getToFile. */
  scratchDir: string;
  /** Size of the "large object": above the store's multipart threshold where it has one, with >= 3 parts. */
  largeObjectBytes: number;
  /** Extra checks of the large object's head (S3: the ETag counts the parts of a multipart upload). */
  checkLargeObject?(info: ObjectInfo): void;
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

function assertRequestInvalid(e: unknown): true {
  assert.ok(isDwError(e), `expected a DwError, got ${String(e)}`);
  assert.equal(e.code, 'DW_OBJECTSTORE_REQUEST_INVALID');
  return true;
}

export function objectStoreConformance(t: ConformanceTarget): void {
  let n = 0;
  const scratch = (name: string): string => path.join(t.scratchDir, `${++n}-${name}`);
  const withStore = async (fn: (s: ObjectStore) => Promise<void>): Promise<void> => {
    const store = await t.open();
    try {
      await fn(store);
    } finally {
      await store.close();
    }
  };

  it('puts and gets whole objects; head gives size and mtime', () => withStore(async (s) => {
    const before = Date.now();
    assert.equal(await s.put('a/text.json', '{"x":1}'), true, 'put returns true when it writes');
    const bin = randomBytes(70_000);
    await s.put('a/bin', bin);
    assert.equal((await s.get('a/text.json'))?.toString('utf8'), '{"x":1}');
    assert.equal(sha((await s.get('a/bin'))!), sha(bin), 'binary content round-trips');
    const h = await s.head('a/bin');
    assert.ok(h, 'head of an existing key');
    assert.equal(h.key, 'a/bin');
    assert.equal(h.size, 70_000);
    // Second granularity (S3 HEAD), and the server's clock: a wide margin, this is not a timing assertion.
    assert.ok(h.mtimeMs >= before - 60_000 && h.mtimeMs <= Date.now() + 60_000, `mtime ${h.mtimeMs} is about now (${before})`);
  }));

  it('stores empty objects', () => withStore(async (s) => {
    await s.put('empty', '');
    assert.equal((await s.get('empty'))?.length, 0, 'empty object read back');
    assert.equal((await s.head('empty'))?.size, 0, 'head size 0');
    assert.equal((await s.getRange('empty', 0, 10))?.length, 0, 'a range of an empty object is empty');
  }));

  it('replaces the whole object on overwrite (a shorter one leaves no tail)', () => withStore(async (s) => {
    await s.put('k', 'a much longer first version');
    await s.put('k', 'short');
    assert.equal((await s.get('k'))?.toString(), 'short');
    assert.equal((await s.head('k'))?.size, 5);
  }));

  it('answers missing keys: undefined, false, and delete succeeds', () => withStore(async (s) => {
    await s.put('dir/present', 'x');
    for (const key of ['missing', 'dir/missing', 'dir']) {
      assert.equal(await s.get(key), undefined, `get ${key}`);
      assert.equal(await s.getRange(key, 0, 4), undefined, `getRange ${key}`);
      assert.equal(await s.getRange(key, 0, 0), undefined, `empty getRange ${key}`);
      assert.equal(await s.head(key), undefined, `head ${key}`);
      const file = scratch('missing');
      assert.equal(await s.getToFile(key, file), false, `getToFile ${key}`);
      await assert.rejects(fsp.access(file), 'getToFile of a missing key creates no file');
      await s.delete(key);
    }
    assert.equal((await s.get('dir/present'))?.toString(), 'x', 'deleting the "directory" key left its content alone');
  }));

  it('deletes idempotently, one or many', () => withStore(async (s) => {
    const keys = Array.from({ length: 30 }, (_, i) => `del/k${String(i).padStart(2, '0')}`);
    await Promise.all(keys.map((k) => s.put(k, k)));
    await s.delete(keys[0]!);
    await s.delete(keys[0]!);
    assert.equal(await s.head(keys[0]!), undefined, 'deleted');
    await s.deleteMany([...keys.slice(0, 20), 'del/never-existed']);
    await s.deleteMany([]);
    const left = (await listAll(s, 'del/')).objects.map((o) => o.key);
    assert.deepEqual(left, keys.slice(20));
    await s.deleteMany(keys);
    assert.deepEqual((await listAll(s, '')).objects, [], 'nothing left');
    assert.deepEqual((await s.list('', { delimiter: '/' })).prefixes, [], 'an emptied prefix disappears');
  }));

  it('lists lake-shaped keys by prefix, with and without the / delimiter', () => withStore(async (s) => {
    const keys = [
      'reports/date=2026-01-01/hour=03/p0001-1-2.parquet',
      'reports/date=2026-01-01/hour=03/p0002-0000000000000007-0000000000000009.parquet',
      'reports/date=2026-01-01/hour=04/p0001-3-4.parquet',
      'reports/date=2026-01-02/hour=00/p0001-5-6.parquet',
      'reports/date=2026-02-01/hour=23/p0003-1-1.parquet',
      'alerts/date=2026-01-01/hour=03/p0000-1-1.parquet',
      '_checkpoints/reports/p0001.json',
      'reports/README',
    ];
    await Promise.all(keys.map((k) => s.put(k, `content of ${k}`)));
    const all = (await listAll(s, '')).objects;
    assert.deepEqual(all.map((o) => o.key), [...keys].sort(compareKeys), 'every key, in byte order');
    const one = all.find((o) => o.key === keys[0]);
    assert.equal(one?.size, Buffer.byteLength(`content of ${keys[0]}`), 'sizes in listings');
    assert.ok(one && one.mtimeMs > 0, 'mtimes in listings');

    assert.deepEqual((await listAll(s, 'reports/date=2026-01-01/hour=03/')).objects.map((o) => o.key), keys.slice(0, 2));
    assert.deepEqual((await listAll(s, 'reports/date=2026-01')).objects.map((o) => o.key), keys.slice(0, 4), 'a prefix may end inside a segment');
    assert.deepEqual((await listAll(s, 'nothing/')).objects, []);

    const top = await listAll(s, '', { delimiter: '/' });
    assert.deepEqual(top, { objects: [], prefixes: ['_checkpoints/', 'alerts/', 'reports/'] });
    const days = await listAll(s, 'reports/', { delimiter: '/' });
    assert.deepEqual(days.prefixes, ['reports/date=2026-01-01/', 'reports/date=2026-01-02/', 'reports/date=2026-02-01/']);
    assert.deepEqual(days.objects.map((o) => o.key), ['reports/README']);
    const januaryHours = await listAll(s, 'reports/date=2026-01-01/', { delimiter: '/' });
    assert.deepEqual(januaryHours.prefixes, ['reports/date=2026-01-01/hour=03/', 'reports/date=2026-01-01/hour=04/']);
    const partial = await listAll(s, 'reports/date=2026-0', { delimiter: '/' });
    assert.deepEqual(partial.prefixes, days.prefixes, 'delimiter after a partial segment');
  }));

  it('lists in UTF-8 byte order, as S3 does', () => withStore(async (s) => {
    // '-' < '/' < '0' in bytes: a "directory" sorts between its siblings; U+FF21 < U+1D538 in UTF-8, not in UTF-16.
    const keys = ['a-b', 'a/c', 'a/c-d/e', 'a0', 'b', 'z\u00e9', 'z\uff21', 'z\u{1d538}', 'z\u{1d538}0/x'];
    await Promise.all(keys.map((k) => s.put(k, k)));
    assert.deepEqual((await listAll(s, '')).objects.map((o) => o.key), keys);
    const top = await listAll(s, '', { delimiter: '/' });
    assert.deepEqual(top.objects.map((o) => o.key), ['a-b', 'a0', 'b', 'z\u00e9', 'z\uff21', 'z\u{1d538}']);
    assert.deepEqual(top.prefixes, ['a/', 'z\u{1d538}0/']);
  }));

  it('paginates beyond a page: every key once, in order, with or without delimiter', () => withStore(async (s) => {
    const keys = Array.from({ length: 23 }, (_, i) => `p/date=2026-01-${String(1 + (i % 7)).padStart(2, '0')}/k${String(i).padStart(3, '0')}`);
    keys.push('p/x1', 'p/x2', 'p/x3');
    await Promise.all(keys.map((k) => s.put(k, 'v')));
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await s.list('p/', { pageSize: 5, ...(token ? { token } : {}) });
      assert.ok(page.objects.length <= 5, `page ${pages} has at most 5 keys`);
      seen.push(...page.objects.map((o) => o.key));
      token = page.nextToken;
      pages++;
      assert.ok(pages < 20, 'pagination ends');
    } while (token);
    assert.deepEqual(seen, [...keys].sort(compareKeys), 'all keys once, in order');
    assert.ok(pages >= 6, `26 keys need >= 6 pages of 5, got ${pages}`);

    const entries: string[] = [];
    token = undefined;
    do {
      const page = await s.list('p/', { pageSize: 3, delimiter: '/', ...(token ? { token } : {}) });
      assert.ok(page.objects.length + page.prefixes.length <= 3, 'objects plus prefixes count toward the page size');
      entries.push(...page.prefixes, ...page.objects.map((o) => o.key));
      token = page.nextToken;
    } while (token);
    const days = Array.from({ length: 7 }, (_, i) => `p/date=2026-01-${String(i + 1).padStart(2, '0')}/`);
    assert.deepEqual(entries.sort(compareKeys), [...days, 'p/x1', 'p/x2', 'p/x3'], '7 prefixes and 3 objects, once each');
  }));

  it('reads ranges, clamped to the end', () => withStore(async (s) => {
    const data = randomBytes(10_000);
    await s.put('r', data);
    assert.deepEqual(await s.getRange('r', 0, 100), data.subarray(0, 100));
    assert.deepEqual(await s.getRange('r', 1234, 4321), data.subarray(1234, 5555));
    assert.deepEqual(await s.getRange('r', 9_990, 10), data.subarray(9_990), 'exactly up to the end');
    assert.deepEqual(await s.getRange('r', 9_990, 100), data.subarray(9_990), 'clamped at the end');
    assert.equal((await s.getRange('r', 10_000, 5))?.length, 0, 'from the end: empty');
    assert.equal((await s.getRange('r', 20_000, 5))?.length, 0, 'beyond the end: empty');
    assert.equal((await s.getRange('r', 5, 0))?.length, 0, 'zero length: empty');
    await assert.rejects(s.getRange('r', -1, 5), assertRequestInvalid);
    await assert.rejects(s.getRange('r', 0, -5), assertRequestInvalid);
  }));

  it('put is all-or-nothing for concurrent readers', () => withStore(async (s) => {
    const a = Buffer.alloc(2 * 1024 * 1024, 0x61);
    const b = Buffer.alloc(2 * 1024 * 1024 + 17, 0x62);
    await s.put('atomic', a);
    let done = false;
    const writer = (async () => {
      for (let i = 0; i < 4; i++) await s.put('atomic', i % 2 === 0 ? b : a);
      await s.put('atomic', b);
      done = true;
    })();
    let reads = 0;
    while (!done || reads < 3) {
      const got = await s.get('atomic');
      assert.ok(got, 'the key never disappears while it is overwritten');
      const h = sha(got);
      assert.ok(h === sha(a) || h === sha(b), `read ${reads} is one whole version (${got.length} bytes)`);
      reads++;
    }
    await writer;
    assert.equal(sha((await s.get('atomic'))!), sha(b), 'the last put wins');
  }));

  it('puts from files: small, and large (multipart where the store has it), invisible until complete', () => withStore(async (s) => {
    const small = scratch('small.bin');
    await fsp.writeFile(small, 'from a file');
    assert.equal(await s.putFile('files/small', small), true);
    assert.equal((await s.get('files/small'))?.toString(), 'from a file');

    const big = randomBytes(t.largeObjectBytes);
    const bigFile = scratch('big.bin');
    await fsp.writeFile(bigFile, big);
    await s.put('files/big', 'old version');
    let done = false;
    const upload = s.putFile('files/big', bigFile).finally(() => {
      done = true;
    });
    while (!done) {
      const got = await s.get('files/big');
      assert.ok(got && (got.toString() === 'old version' || sha(got) === sha(big)), `during the upload a reader sees a whole version (${got?.length} bytes)`);
    }
    assert.equal(await upload, true);
    const h = await s.head('files/big');
    assert.equal(h?.size, big.length);
    t.checkLargeObject?.(h!);
    assert.equal(sha((await s.get('files/big'))!), sha(big), 'large object round-trips');
    const mid = Math.floor(big.length / 2);
    assert.deepEqual(await s.getRange('files/big', mid - 100_000, 200_000), big.subarray(mid - 100_000, mid + 100_000), 'range across the middle');
    const back = scratch('back.bin');
    assert.equal(await s.getToFile('files/big', back), true);
    assert.equal(sha(await fsp.readFile(back)), sha(big), 'getToFile writes the whole object');
    await assert.rejects(s.putFile('files/nope', scratch('does-not-exist')), (e: unknown) => isDwError(e) && e.code === 'DW_OBJECTSTORE_FAILED');
    assert.equal(await s.head('files/nope'), undefined, 'a failed putFile leaves nothing');
  }));

  it('getToFile replaces an existing file and leaves no temporary file', () => withStore(async (s) => {
    const dir = scratch('dl');
    await fsp.mkdir(dir);
    const file = path.join(dir, 'copy.parquet');
    await fsp.writeFile(file, 'stale content that is longer');
    await s.put('x/y.parquet', 'fresh');
    assert.equal(await s.getToFile('x/y.parquet', file), true);
    assert.equal(await fsp.readFile(file, 'utf8'), 'fresh');
    assert.deepEqual(await fsp.readdir(dir), ['copy.parquet']);
  }));

  it('put-if-absent creates once, never overwrites; one of concurrent creators wins', () => withStore(async (s) => {
    assert.equal(await s.put('_staging/b1/COMMIT', 'first', { ifAbsent: true }), true, 'created');
    assert.equal(await s.put('_staging/b1/COMMIT', 'second', { ifAbsent: true }), false, 'refused');
    assert.equal((await s.get('_staging/b1/COMMIT'))?.toString(), 'first');
    const file = scratch('marker');
    await fsp.writeFile(file, 'from file');
    assert.equal(await s.putFile('_staging/b1/COMMIT', file, { ifAbsent: true }), false, 'putFile refused too');
    assert.equal(await s.putFile('_staging/b2/COMMIT', file, { ifAbsent: true }), true, 'putFile creates');
    assert.equal((await s.get('_staging/b2/COMMIT'))?.toString(), 'from file');

    const contenders = Array.from({ length: 8 }, (_, i) => `writer ${i}`);
    const won = await Promise.all(contenders.map((c) => s.put('race/COMMIT', c, { ifAbsent: true })));
    assert.equal(won.filter(Boolean).length, 1, `exactly one creator wins: ${JSON.stringify(won)}`);
    assert.equal((await s.get('race/COMMIT'))?.toString(), contenders[won.indexOf(true)], 'and its content is there');
  }));

  it('concurrent puts: one key ends with one whole version; distinct keys all land', () => withStore(async (s) => {
    const versions = Array.from({ length: 12 }, (_, i) => Buffer.alloc(200_000 + i, 0x41 + i));
    await Promise.all(versions.map((v) => s.put('same', v)));
    const got = (await s.get('same'))!;
    assert.ok(versions.some((v) => sha(v) === sha(got)), `one whole version survives (${got.length} bytes)`);

    const keys = Array.from({ length: 40 }, (_, i) => `many/date=2026-01-01/hour=${String(i % 4).padStart(2, '0')}/p${i}.parquet`);
    await Promise.all(keys.map((k) => s.put(k, k)));
    const listed = (await listAll(s, 'many/')).objects.map((o) => o.key);
    assert.deepEqual(listed, [...keys].sort(compareKeys));
    for (const k of keys.slice(0, 5)) assert.equal((await s.get(k))?.toString(), k);
  }));

  it('concurrent puts and deletes under one prefix do not lose puts', () => withStore(async (s) => {
    for (let round = 0; round < 5; round++) {
      await s.put(`churn/${round}/old`, 'x');
      const fresh = Array.from({ length: 6 }, (_, i) => `churn/${round}/new${i}`);
      await Promise.all([s.delete(`churn/${round}/old`), ...fresh.map((k) => s.put(k, 'y'))]);
      const left = (await listAll(s, `churn/${round}/`)).objects.map((o) => o.key);
      assert.deepEqual(left, fresh, `round ${round}: the deleted key gone, every new one there`);
    }
  }));

  it('refuses malformed keys and prefixes', () => withStore(async (s) => {
    const bad = ['', '/a', 'a/', 'a//b', './a', 'a/../b', 'a/./b', 'nul\u0000', 'line\nbreak', '.dw-tmp/x', `${'s'.repeat(256)}`, `${'k/'.repeat(600)}x`];
    for (const key of bad) {
      await assert.rejects(s.put(key, 'x'), assertRequestInvalid, `put ${JSON.stringify(key.slice(0, 20))}`);
      await assert.rejects(s.get(key), assertRequestInvalid, `get ${JSON.stringify(key.slice(0, 20))}`);
      await assert.rejects(s.delete(key), assertRequestInvalid, `delete ${JSON.stringify(key.slice(0, 20))}`);
    }
    await assert.rejects(s.list('/x'), assertRequestInvalid);
    await assert.rejects(s.list('a//'), assertRequestInvalid);
    await assert.rejects(s.list('', { pageSize: 0 }), assertRequestInvalid);
    await assert.rejects(s.list('', { pageSize: 1001 }), assertRequestInvalid);
    assert.equal(await s.put(`${'s'.repeat(255)}/ok = fine, ü`, 'x'), true, 'a 255-byte segment, spaces, = and UTF-8 are fine');
  }));
}
