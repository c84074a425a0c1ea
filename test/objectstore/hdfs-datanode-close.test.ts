/**
 * The WebHDFS client against a NameNode and a DataNode that answer the way Hadoop's do, in this process: the NameNode
 * keeps connections alive, the DataNode sends `Connection: close`, its body, then closes the connection (FIN). On Node
 * 24 the client used fetch, whose bundled undici (7.30) crashes the process with an uncatchable AssertionError in
 * `Parser.finish` when the reader of a body is behind as the connection ends (undici issue 5360): reading a file to
 * disk always is, so the 36 `getToFile` of 1 MiB below failed with that code within a few reads (a CI run of
 * hdfs.test.ts met it once). Also: a body cut short and a DataNode that stalls are retried failures with their reason,
 * and the request timeout covers the reading of a body. docs/runtime.md, "WebHDFS and Node 24's fetch".
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, promises as fsp } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isDwError } from '../../src/errors/index.ts';
import { WebHdfsObjectStore } from '../../src/objectstore/index.ts';
import { tempDir } from '../../src/testkit/index.ts';

const MiB = 1024 * 1024;
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** What the fake DataNode does with a request for the key `short` (half the body, then FIN) or `stall` (half, then nothing). */
type Behaviour = 'whole' | 'short' | 'stall';

describe('WebHDFS client: a DataNode that closes each connection after its answer', () => {
  const tmp = tempDir('dw-hdfs-dn-close-');
  const file = randomBytes(1 * MiB);
  let nameNode: http.Server;
  let dataNode: net.Server;
  let nameNodeConnections = 0;
  const dataNodeSockets = new Set<net.Socket>();
  let port = 0;

  /** Hadoop's DataNode (Netty): `Connection: close` on every answer, the connection closed once the body is written. */
  const answer = (sock: net.Socket, request: string): void => {
    const url = new URL(request.split(' ')[1]!, 'http://dn');
    const key = url.pathname.split('/').pop()!;
    const offset = Number(url.searchParams.get('offset') ?? 0);
    const body = file.subarray(offset, offset + Number(url.searchParams.get('length') ?? file.length));
    const behaviour: Behaviour = key === 'short' || key === 'stall' ? key : 'whole';
    sock.write(`HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nConnection: close\r\nContent-Length: ${body.length}\r\n\r\n`);
    if (behaviour === 'whole') sock.end(body);
    else if (behaviour === 'short') sock.end(body.subarray(0, body.length >> 1));
    else sock.write(body.subarray(0, body.length >> 1));
  };

  before(async () => {
    dataNode = net.createServer((sock) => {
      dataNodeSockets.add(sock);
      sock.on('close', () => dataNodeSockets.delete(sock));
      let head = '';
      sock.on('data', (c: Buffer) => {
        if (head.includes('\r\n\r\n')) return;
        head += c.toString('latin1');
        if (head.includes('\r\n\r\n')) answer(sock, head);
      });
    });
    await new Promise<void>((r) => dataNode.listen(0, '127.0.0.1', r));
    const dataNodePort = (dataNode.address() as net.AddressInfo).port;
    // The NameNode (Jetty): keep-alive; OPEN with noredirect=true names the DataNode in JSON.
    nameNode = http.createServer((req, res) => {
      const url = new URL(req.url!, 'http://nn');
      assert.equal(url.searchParams.get('op'), 'OPEN');
      url.searchParams.delete('noredirect');
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ Location: `http://127.0.0.1:${dataNodePort}${url.pathname}${url.search}` }));
    });
    nameNode.on('connection', () => { nameNodeConnections++; });
    await new Promise<void>((r) => nameNode.listen(0, '127.0.0.1', r));
    port = (nameNode.address() as net.AddressInfo).port;
  });

  after(async () => {
    for (const s of dataNodeSockets) s.destroy();
    nameNode.closeAllConnections();
    await Promise.all([new Promise((r) => nameNode.close(r)), new Promise((r) => dataNode.close(r))]);
    tmp.cleanup();
  });

  const open = (o: { maxAttempts?: number; requestTimeoutMs?: number } = {}): WebHdfsObjectStore =>
    new WebHdfsObjectStore({ host: '127.0.0.1', port, root: '/lake', user: 'dw', maxAttempts: o.maxAttempts ?? 1, ...(o.requestTimeoutMs ? { requestTimeoutMs: o.requestTimeoutMs } : {}) });

  it('reads files to disk, whole and in ranges, every time, through one kept-alive NameNode connection', async () => {
    const s = open();
    const before = nameNodeConnections;
    const toFile = async (name: string): Promise<void> => {
      const out = path.join(tmp.dir, name);
      assert.equal(await s.getToFile('k', out), true);
      assert.equal(sha(await fsp.readFile(out)), sha(file), name);
      await fsp.rm(out);
    };
    for (let i = 0; i < 20; i++) await toFile(`copy-${i}`);
    for (let round = 0; round < 4; round++) await Promise.all([0, 1, 2, 3].map((i) => toFile(`copy-${round}-${i}`)));
    for (let i = 0; i < 20; i++) assert.equal(sha((await s.get('k'))!), sha(file), `get ${i}`);
    assert.deepEqual(await s.getRange('k', 300_000, 500_000), file.subarray(300_000, 800_000));
    // Several reads at once, as the lake's readers do.
    const all = await Promise.all(Array.from({ length: 8 }, () => s.get('k')));
    for (const b of all) assert.equal(sha(b!), sha(file));
    assert.ok(nameNodeConnections - before <= 12, `NameNode connections kept alive: ${nameNodeConnections - before} for 65 reads`);
    await s.close();
  });

  it('a body cut short by the DataNode is a retried failure that says so, never a short file', async () => {
    const s = open({ maxAttempts: 2 });
    const failed = (e: unknown): true => {
      assert.ok(isDwError(e), String(e));
      assert.equal(e.code, 'DW_OBJECTSTORE_FAILED');
      assert.match(e.message, /webhdfs:\/\/127\.0\.0\.1:\d+\/lake: get(ToFile)? "short" failed: the DataNode did not answer \(ECONNRESET\)/);
      return true;
    };
    await assert.rejects(s.get('short'), failed);
    const out = path.join(tmp.dir, 'short-copy');
    await assert.rejects(s.getToFile('short', out), failed);
    assert.equal(existsSync(out), false, 'no partial file');
    assert.deepEqual((await fsp.readdir(tmp.dir)).filter((f) => f.includes('.dw-part-')), [], 'no temporary file left');
    await s.close();
  });

  it('the request timeout covers the reading of the body: a DataNode that stalls mid-body fails with TimeoutError', async () => {
    const s = open({ requestTimeoutMs: 500 });
    const t0 = Date.now();
    await assert.rejects(s.get('stall'), (e: unknown) => {
      assert.ok(isDwError(e), String(e));
      assert.match(e.message, /get "stall" failed: the DataNode did not answer \(TimeoutError\)/);
      return true;
    });
    assert.ok(Date.now() - t0 < 10_000, `gave up after ${Date.now() - t0} ms`);
    await s.close();
  });
});
