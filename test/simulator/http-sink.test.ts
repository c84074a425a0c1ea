import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { Report } from '../../src/contract/index.ts';
import { Fleet, httpSink, SinkFailedError } from '../../src/simulator/index.ts';

interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A tiny ingestion stand-in: answers each request with the next scripted behaviour, then 200. */
describe('httpSink', () => {
  let server: Server;
  let baseUrl: string;
  let received: Received[];
  let script: ((req: IncomingMessage, res: ServerResponse) => void)[];
  const batch: Report[] = new Fleet({ drones: 5, seed: 1, start: Date.UTC(2024, 0, 1), population: 100 }).take(5);

  before(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (body += chunk));
      req.on('end', () => {
        received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
        const step = script.shift();
        if (step) step(req, res);
        else res.writeHead(202, { 'content-type': 'application/json' }).end('{"accepted":5}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  beforeEach(() => {
    received = [];
    script = [];
  });

  it('posts the batch as NDJSON to <url>/v1/reports with the token', async () => {
    await httpSink(`${baseUrl}/`, { token: 's3cret' })(batch);
    assert.equal(received.length, 1);
    const r = received[0]!;
    assert.equal(r.method, 'POST');
    assert.equal(r.url, '/v1/reports');
    assert.equal(r.headers['content-type'], 'application/x-ndjson');
    assert.equal(r.headers.authorization, 'Bearer s3cret');
    assert.ok(r.body.endsWith('\n'));
    assert.deepEqual(r.body.trimEnd().split('\n').map((l) => JSON.parse(l) as unknown), batch);
  });

  it('retries on 503, waiting as long as Retry-After says, then succeeds', async () => {
    script.push((_q, res) => res.writeHead(503, { 'retry-after': '1' }).end('{"code":"DW_INGEST_BACKPRESSURE"}'));
    script.push((_q, res) => res.writeHead(503, { 'retry-after': '0' }).end());
    const retries: number[] = [];
    const t0 = performance.now();
    await httpSink(baseUrl, { backoffMs: 5, onRetry: (i) => retries.push(i.delayMs) })(batch);
    const elapsed = performance.now() - t0;
    assert.equal(received.length, 3);
    assert.deepEqual(retries, [1000, 0]);
    assert.ok(elapsed >= 950, `retried after ${elapsed} ms despite Retry-After: 1`);
    assert.ok(received.every((r) => r.body === received[0]!.body), 'the same batch is sent again');
  });

  it('retries with back-off after a network error', async () => {
    script.push((req) => req.socket.destroy());
    script.push((_q, res) => res.writeHead(502).end('bad gateway'));
    const reasons: string[] = [];
    await httpSink(baseUrl, { backoffMs: 5, onRetry: (i) => reasons.push(i.reason) })(batch);
    assert.equal(received.length, 3);
    assert.match(reasons[0]!, /unreachable/);
    assert.match(reasons[1]!, /502/);
  });

  it('fails at once on 400 with the server answer in the error', async () => {
    script.push((_q, res) => res.writeHead(400, { 'content-type': 'application/json' }).end('{"code":"DW_INGEST_INVALID","message":"words[0]: must be a string"}'));
    await assert.rejects(httpSink(baseUrl, { backoffMs: 5 })(batch), (e: unknown) => {
      assert.ok(e instanceof SinkFailedError);
      assert.equal(e.code, 'DW_SIMULATOR_SINK_FAILED');
      assert.equal(e.httpStatus, 400);
      assert.match(e.message, /400/);
      assert.match(e.message, /words\[0\]: must be a string/);
      return true;
    });
    assert.equal(received.length, 1);
  });

  it('gives up when the server keeps failing past the retry budget', async () => {
    for (let i = 0; i < 50; i++) script.push((_q, res) => res.writeHead(503).end());
    // A budget several backoffs long: on a loaded machine one slow attempt must not use it all (CI flake: 1 attempt).
    await assert.rejects(httpSink(baseUrl, { backoffMs: 20, maxRetryMs: 600 })(batch), (e: unknown) => {
      assert.ok(e instanceof SinkFailedError);
      assert.equal(e.httpStatus, 503);
      assert.match(e.message, /giving up after \d+ attempts/);
      return true;
    });
    assert.ok(received.length >= 2 && received.length < 10, `${received.length} attempts`);
  });

  it('sends nothing for an empty batch', async () => {
    await httpSink(baseUrl)([]);
    assert.equal(received.length, 0);
  });
});
