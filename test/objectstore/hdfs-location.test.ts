import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isDwError } from '../../src/errors/index.ts';
import { freePorts } from '../../src/testkit/index.ts';
import { formatLakeLocation, openObjectStore, parseLakeLocation, WebHdfsObjectStore } from '../../src/objectstore/index.ts';

/** `webhdfs://` lake locations: parsed without a cluster (hdfs.test.ts runs the store against a real HDFS). */

function rejects(location: string, why: RegExp, secret?: string): void {
  assert.throws(() => parseLakeLocation(location, '/srv'), (e: unknown) => {
    assert.ok(isDwError(e), `a DwError for ${location}`);
    assert.equal(e.code, 'DW_LAKE_LOCATION_INVALID');
    assert.match(e.message, why);
    if (secret) assert.equal(e.message.includes(secret), false, 'the message does not repeat the secret');
    return true;
  });
}

describe('webhdfs:// lake locations', () => {
  it('parses host, port (default 9870) and the lake directory', () => {
    assert.deepEqual(parseLakeLocation('webhdfs://namenode:9870/data/lake'), { kind: 'webhdfs', host: 'namenode', port: 9870, root: '/data/lake' });
    assert.deepEqual(parseLakeLocation('webhdfs://nn.example.internal/data/lake/'), { kind: 'webhdfs', host: 'nn.example.internal', port: 9870, root: '/data/lake' });
    assert.deepEqual(parseLakeLocation('WEBHDFS://NN:50070'), { kind: 'webhdfs', host: 'nn', port: 50070, root: '' });
    assert.deepEqual(parseLakeLocation('webhdfs://[::1]:9870/lake%20a=b'), { kind: 'webhdfs', host: '[::1]', port: 9870, root: '/lake a=b' });
    assert.equal(formatLakeLocation(parseLakeLocation('webhdfs://nn/data/lake/')), 'webhdfs://nn:9870/data/lake');
    assert.equal(formatLakeLocation(parseLakeLocation('webhdfs://nn:1234')), 'webhdfs://nn:1234/');
  });

  it('refuses users, credentials, queries, bad hosts, ports and paths, never echoing a secret', () => {
    rejects('webhdfs://hdfs:s3cr3tpassw0rd@nn:9870/lake', /must not contain a user/, 's3cr3tpassw0rd');
    rejects('webhdfs://nn:9870/lake?user.name=root', /query/);
    rejects('webhdfs://nn:9870/lake#x', /query or fragment/);
    rejects('webhdfs://:9870/lake', /host/);
    rejects('webhdfs://bad_host!/lake', /host/);
    rejects('webhdfs://nn:99999/lake', /port/);
    rejects('webhdfs://nn:9870/a//b', /path/);
    rejects('webhdfs://nn:9870/a/../b', /path/);
    rejects('webhdfs://nn:9870/.dw-tmp/x', /path/);
    rejects('webhdfs://nn:9870/%zz', /escape/);
    rejects('swebhdfs://nn:9871/lake', /not supported/);
    rejects('hdfs://nn:8020/lake', /not supported/);
  });

  it('opens a WebHdfsObjectStore, its user from the option, else HADOOP_USER_NAME', async () => {
    const s = openObjectStore('webhdfs://127.0.0.1:1/lake', { webhdfs: { user: 'analyst' } });
    assert.ok(s instanceof WebHdfsObjectStore);
    assert.equal(s.kind, 'webhdfs');
    assert.equal(s.location, 'webhdfs://127.0.0.1:1/lake');
    assert.equal(s.user, 'analyst');
    assert.equal(s.pathOf('reports/tenant=a/x.parquet'), '/lake/reports/tenant=a/x.parquet');
    const e = new WebHdfsObjectStore({ host: 'nn', root: '/', env: { HADOOP_USER_NAME: 'hdfs-dw' } });
    assert.equal(e.user, 'hdfs-dw');
    assert.equal(e.pathOf('k'), '/k');
    await s.close();
  });

  it('a NameNode that does not answer is DW_OBJECTSTORE_FAILED naming the location, after its retries', async () => {
    const [port] = await freePorts(1);
    const s = new WebHdfsObjectStore({ host: '127.0.0.1', port: port!, root: '/lake', maxAttempts: 2 });
    await assert.rejects(s.get('k'), (e: unknown) => {
      assert.ok(isDwError(e));
      assert.equal(e.code, 'DW_OBJECTSTORE_FAILED');
      assert.match(e.message, new RegExp(`webhdfs://127\\.0\\.0\\.1:${port}/lake: get "k" failed: the NameNode did not answer \\(ECONNREFUSED\\)`));
      return true;
    });
  });
});
