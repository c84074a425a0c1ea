import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { isDwError } from '../../src/errors/index.ts';
import { defaultLakeLocation, formatLakeLocation, LocalObjectStore, openObjectStore, parseLakeLocation, S3ObjectStore } from '../../src/objectstore/index.ts';

function rejectsLocation(location: string, why: RegExp, secret?: string): void {
  assert.throws(() => parseLakeLocation(location, '/srv'), (e: unknown) => {
    assert.ok(isDwError(e), `a DwError for ${location}`);
    assert.equal(e.code, 'DW_LAKE_LOCATION_INVALID');
    assert.match(e.message, why);
    if (secret) assert.equal(e.message.includes(secret), false, 'the message does not repeat the credentials');
    return true;
  });
}

describe('lake location', () => {
  it('parses s3://bucket/prefix, paths and file:// URLs', () => {
    assert.deepEqual(parseLakeLocation('s3://dw-lake/prod/lake'), { kind: 's3', bucket: 'dw-lake', prefix: 'prod/lake' });
    assert.deepEqual(parseLakeLocation('s3://dw-lake/prod/'), { kind: 's3', bucket: 'dw-lake', prefix: 'prod' });
    assert.deepEqual(parseLakeLocation('s3://dw-lake'), { kind: 's3', bucket: 'dw-lake', prefix: '' });
    assert.deepEqual(parseLakeLocation('S3://dw.lake-1/a=b'), { kind: 's3', bucket: 'dw.lake-1', prefix: 'a=b' });
    assert.deepEqual(parseLakeLocation('/var/lib/dw/lake', '/srv'), { kind: 'local', root: '/var/lib/dw/lake' });
    assert.deepEqual(parseLakeLocation('data/lake', '/srv'), { kind: 'local', root: '/srv/data/lake' });
    assert.deepEqual(parseLakeLocation('file:///var/lake', '/srv'), { kind: 'local', root: '/var/lake' });
    assert.equal(formatLakeLocation(parseLakeLocation('s3://dw-lake/prod/')), 's3://dw-lake/prod');
    assert.equal(defaultLakeLocation('/srv/data'), path.join('/srv/data', 'lake'));
  });

  it('refuses what it cannot use, never echoing credentials', () => {
    rejectsLocation('', /empty/);
    rejectsLocation('s3://', /bucket/);
    rejectsLocation('s3://AKIAEXAMPLE:wJalrXUtnFEMIK7MDENG@bucket/x', /credentials/, 'wJalrXUtnFEMIK7MDENG');
    rejectsLocation('s3://Upper_Case/x', /bucket name/);
    rejectsLocation('s3://bucket/a//b', /prefix/);
    rejectsLocation('s3://bucket/../x', /prefix/);
    rejectsLocation('s3://bucket/x?versionId=1', /query/);
    rejectsLocation('gs://bucket/x', /not supported/);
    rejectsLocation('http://host:7480/bucket', /not supported/);
  });

  it('opens the store of a location', async () => {
    const local = openObjectStore('lake', { cwd: '/srv' });
    assert.ok(local instanceof LocalObjectStore, 'a path opens a LocalObjectStore');
    assert.equal(local.location, '/srv/lake');
    const s3 = openObjectStore('s3://dw-lake/p', { s3: { endpoint: 'http://127.0.0.1:1', credentials: { accessKeyId: 'AK', secretAccessKey: 'SECRETSECRET' } } });
    assert.ok(s3 instanceof S3ObjectStore, 's3:// opens an S3ObjectStore');
    assert.equal(s3.location, 's3://dw-lake/p');
    await s3.close();
  });

  it('checks the S3 endpoint from options or S3_ENDPOINT, without echoing credentials', () => {
    const bad = (endpoint: string, why: RegExp, secret?: string): void => {
      assert.throws(() => openObjectStore('s3://dw-lake', { s3: { env: { S3_ENDPOINT: endpoint } } }), (e: unknown) => {
        assert.ok(isDwError(e), `a DwError for ${endpoint}`);
        assert.equal(e.code, 'DW_LAKE_LOCATION_INVALID');
        assert.match(e.message, why);
        assert.match(e.message, /S3_ENDPOINT/);
        if (secret) assert.equal(e.message.includes(secret), false, 'the message does not repeat the credentials');
        return true;
      });
    };
    bad('localhost:7480', /http/);
    bad('ftp://host', /http/);
    bad('http://user:hunter2hunter2@host:7480', /credentials/, 'hunter2hunter2');
    bad('http://host:7480/bucket', /no path/);
  });
});
