import assert from 'node:assert/strict';
import { existsSync, mkdirSync, promises as fsp } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isDwError } from '../../src/errors/index.ts';
import { listAll, openObjectStore, S3ObjectStore, type S3ObjectStoreOptions } from '../../src/objectstore/index.ts';
import { cephOrSkip, freePorts, startCeph, tempDir, type CephCluster } from '../../src/testkit/index.ts';
import { objectStoreConformance } from './conformance.ts';
import { runCli } from '../cli/helpers.ts';

/**
 * The object-store conformance suite against a real S3 server: Ceph RGW 16.2 (one cluster for the whole file, started
 * on free ports in a temp dir). Skipped with an install hint when Ceph is missing, except under CI=true where a
 * missing Ceph fails the file.
 */

const MiB = 1024 * 1024;

function failedWith(reason: RegExp, secret: string): (e: unknown) => true {
  return (e: unknown) => {
    assert.ok(isDwError(e), `expected a DwError, got ${String(e)}`);
    assert.equal(e.code, 'DW_OBJECTSTORE_FAILED');
    assert.match(e.message, reason);
    assert.equal(e.message.includes(secret), false, 'the message holds no secret');
    assert.equal(JSON.stringify(e).includes(secret), false, 'nor does the serialized error');
    return true;
  };
}

describe('S3ObjectStore on Ceph RGW', { skip: cephOrSkip() }, () => {
  const tmp = tempDir('dw-objectstore-s3-');
  const scratchDir = path.join(tmp.dir, 'scratch');
  let ceph: CephCluster;
  let bucket: string;
  let stores = 0;
  const options = (prefix: string, extra: Partial<S3ObjectStoreOptions> = {}): S3ObjectStoreOptions => ({
    bucket, prefix, endpoint: ceph.endpoint, credentials: { accessKeyId: ceph.accessKeyId, secretAccessKey: ceph.secretAccessKey },
    multipartThreshold: 5 * MiB, partSize: 5 * MiB, ...extra,
  });

  before(async () => {
    mkdirSync(scratchDir);
    ceph = await startCeph();
    bucket = await ceph.createBucket();
    process.stderr.write(`# ceph: mon ${ceph.timings.monMs} ms, rgw ${ceph.timings.rgwMs} ms, ready ${ceph.timings.readyMs} ms\n`);
  }, { timeout: 90_000 });

  after(async () => {
    await ceph?.stop();
    tmp.cleanup();
  }, { timeout: 60_000 });

  describe('conformance', () => {
    objectStoreConformance({
      open: async () => new S3ObjectStore(options(`conformance/${++stores}`)),
      scratchDir,
      largeObjectBytes: 11 * MiB,
      checkLargeObject: (info) => assert.match(info.etag ?? '', /-3$/, `11 MiB in 5 MiB parts is a 3-part upload (etag ${info.etag})`),
    });
  });

  describe('the Ceph helper', () => {
    it('gives up after its start timeout with the daemon logs, leaving nothing behind', async () => {
      await assert.rejects(startCeph({ startTimeoutMs: 1000 }), (e: unknown) => {
        const message = (e as Error).message;
        assert.match(message, /did not start within 1000 ms/);
        assert.match(message, /--- ceph-mon\.a\.log\n/, 'the tail of the monitor log');
        const dir = /all daemons stopped, (\S+) removed/.exec(message)?.[1];
        assert.ok(dir, 'the message names the removed directory');
        assert.equal(existsSync(dir), false, `${dir} is gone`);
        return true;
      });
    });
  });

  describe('S3 specifics', () => {
    it('opens s3://bucket/prefix with the endpoint and credentials from the environment', async () => {
      const saved = { ...process.env };
      Object.assign(process.env, ceph.env);
      try {
        const s = openObjectStore(`s3://${bucket}/from-env/lake`);
        try {
          await s.put('reports/date=2026-01-01/hour=03/p0001-1-2.parquet', 'via env');
          assert.equal((await s.get('reports/date=2026-01-01/hour=03/p0001-1-2.parquet'))?.toString(), 'via env');
        } finally {
          await s.close();
        }
      } finally {
        for (const k of Object.keys(ceph.env)) if (saved[k] === undefined) delete process.env[k]; else process.env[k] = saved[k];
      }
      const whole = new S3ObjectStore(options(''));
      try {
        const keys = (await listAll(whole, 'from-env/')).objects.map((o) => o.key);
        assert.deepEqual(keys, ['from-env/lake/reports/date=2026-01-01/hour=03/p0001-1-2.parquet'], 'stored under the prefix');
      } finally {
        await whole.close();
      }
    });

    it('isolates stores by prefix, even when one prefix starts another', async () => {
      const a = new S3ObjectStore(options('iso/a'));
      const ab = new S3ObjectStore(options('iso/ab'));
      try {
        await a.put('k', 'a');
        await ab.put('k', 'ab');
        assert.deepEqual((await listAll(a, '')).objects.map((o) => o.key), ['k']);
        assert.deepEqual((await listAll(a, '', { delimiter: '/' })), { objects: (await listAll(a, '')).objects, prefixes: [] });
        assert.equal((await a.get('k'))?.toString(), 'a');
        await a.deleteMany(['k']);
        assert.equal((await ab.get('k'))?.toString(), 'ab', 'deleting in one store leaves the other alone');
      } finally {
        await a.close();
        await ab.close();
      }
    });

    it('keeps put-if-absent of a large file conditional (one PUT: RGW 16.2 ignores If-None-Match on multipart completion)', async () => {
      const s = new S3ObjectStore(options('conditional-large'));
      const file = path.join(scratchDir, 'six-mib.bin');
      await fsp.writeFile(file, Buffer.alloc(6 * MiB, 7));
      try {
        await s.put('exists', 'original');
        assert.equal(await s.putFile('exists', file, { ifAbsent: true }), false, 'refused');
        assert.equal((await s.get('exists'))?.toString(), 'original');
        assert.equal(await s.putFile('new', file, { ifAbsent: true }), true, 'created');
        const h = await s.head('new');
        assert.equal(h?.size, 6 * MiB);
        assert.doesNotMatch(h?.etag ?? '', /-/, 'uploaded in one PUT, not in parts');
      } finally {
        await s.close();
      }
    });

    it('reports a missing bucket, bad credentials and an unreachable server without secrets', async () => {
      const secret = ceph.secretAccessKey;
      const missing = new S3ObjectStore({ ...options('x'), bucket: 'no-such-bucket-here' });
      try {
        await assert.rejects(missing.get('k'), failedWith(/s3:\/\/no-such-bucket-here\/x: get "k" failed: NoSuchBucket \(HTTP 404\)/, secret));
        await assert.rejects(missing.put('k', 'v'), failedWith(/NoSuchBucket/, secret));
        await assert.rejects(missing.list(''), failedWith(/NoSuchBucket/, secret));
      } finally {
        await missing.close();
      }
      const wrongSecret = 'wrong-secret-wrong-secret-0001';
      const forged = new S3ObjectStore({ ...options('x'), credentials: { accessKeyId: ceph.accessKeyId, secretAccessKey: wrongSecret } });
      try {
        await assert.rejects(forged.put('k', 'v'), failedWith(/SignatureDoesNotMatch|AccessDenied|HTTP 403/, wrongSecret));
      } finally {
        await forged.close();
      }
      const [closedPort] = await freePorts(1);
      const down = new S3ObjectStore({ ...options('x'), endpoint: `http://127.0.0.1:${closedPort}`, maxAttempts: 1 });
      try {
        await assert.rejects(down.get('k'), failedWith(/ECONNREFUSED/, secret));
      } finally {
        await down.close();
      }
    });
  });

  describe('incomplete multipart uploads', () => {
    it('lists and aborts the uploads a dead writer left under the prefix, and sets the lifecycle rule that does it daily', async () => {
      const { S3Client, CreateMultipartUploadCommand, UploadPartCommand, ListMultipartUploadsCommand } = await import('@aws-sdk/client-s3');
      const raw = new S3Client({ endpoint: ceph.endpoint, region: ceph.region, forcePathStyle: true, credentials: { accessKeyId: ceph.accessKeyId, secretAccessKey: ceph.secretAccessKey } });
      const store = new S3ObjectStore(options('uploads/a'));
      try {
        // A writer killed mid-upload: parts stored, never completed. Another prefix's upload must be left alone.
        for (const key of ['uploads/a/reports/dead.parquet', 'uploads/b/other.parquet']) {
          const { UploadId } = await raw.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
          await raw.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: 1, Body: Buffer.alloc(5 * MiB, 1) }));
        }
        const listed = await store.incompleteUploads();
        assert.deepEqual(listed.map((u) => u.key), ['reports/dead.parquet'], 'only this prefix, keys relative to it');
        assert.deepEqual(await store.abortIncompleteUploads(3600_000), [], 'a recent upload may still be running: kept');
        const aborted = await store.abortIncompleteUploads(0);
        assert.deepEqual(aborted.map((u) => u.key), ['reports/dead.parquet']);
        const left = (await raw.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads ?? [];
        assert.deepEqual(left.map((u) => u.Key), ['uploads/b/other.parquet'], "the other prefix's upload is untouched");

        const rules = await store.ensureAbortIncompleteUploadsRule(2);
        assert.ok(rules.some((r) => r.prefix === 'uploads/a/' && r.days === 2), JSON.stringify(rules));
        const again = await new S3ObjectStore(options('uploads/b')).ensureAbortIncompleteUploadsRule(1);
        assert.equal(again.length, 2, `one rule per prefix, the first kept: ${JSON.stringify(again)}`);

        // The same from the command line, on the lake location an operator gives.
        const key = 'uploads/c/alerts/dead.parquet';
        const { UploadId } = await raw.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
        await raw.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: 1, Body: Buffer.alloc(5 * MiB, 2) }));
        const cli = await runCli(['lake', 'uploads', '--lake', `s3://${bucket}/uploads/c`, '--abort-older-than', '0', '--format', 'json', '--data', scratchDir], { env: ceph.env });
        assert.equal(cli.code, 0, cli.stderr);
        assert.deepEqual((JSON.parse(cli.stdout) as { key: string }[]).map((u) => u.key), ['alerts/dead.parquet']);
        assert.match(cli.stderr, /aborted 1 unfinished uploads/);
      } finally {
        await store.close();
        raw.destroy();
      }
    });
  });
});
