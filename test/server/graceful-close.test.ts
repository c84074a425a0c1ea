import assert from 'node:assert/strict';
import http from 'node:http';
import { describe, it } from 'node:test';
import Fastify from 'fastify';
import { installGracefulClose } from '../../src/server/graceful-close.ts';
import { report, startTestPlatform } from './helpers.ts';

/** Sends the headers and half of a JSON body on a kept-alive connection: a request in flight until `finish()`. */
function requestInFlight(url: string, body: string): { finish(): void; answer: Promise<{ status: number; socketClosed: Promise<void> }> } {
  const agent = new http.Agent({ keepAlive: true });
  const u = new URL(`${url}/v1/reports`);
  const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } });
  const half = Math.floor(body.length / 2);
  req.write(body.slice(0, half));
  req.flushHeaders();
  const answer = new Promise<{ status: number; socketClosed: Promise<void> }>((resolve, reject) => {
    req.on('error', reject);
    req.on('response', (res) => {
      const socketClosed = new Promise<void>((done) => req.socket?.once('close', () => done()));
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, socketClosed }));
    });
  });
  return { finish: () => req.end(body.slice(half)), answer };
}

describe('stopping with clients connected', () => {
  it('ends live streams and closes a kept-alive connection once its request in flight is answered, in well under the keep-alive timeout', { timeout: 30_000 }, async () => {
    const { platform, url, cleanup } = await startTestPlatform({ alerts: true, http: 'api' });
    try {
      const sse = await fetch(`${url}/v1/alerts/stream`);
      assert.equal(sse.status, 200);
      const reader = sse.body!.getReader();
      await reader.read(); // the banner: the stream is open
      const slow = requestInFlight(url, JSON.stringify(report({ droneId: 'drone-stop' })));
      await new Promise((r) => setTimeout(r, 100));

      const t0 = Date.now();
      const stopping = platform.stop();
      await new Promise((r) => setTimeout(r, 200));
      // The request that was in flight is still answered (the stop waits for it) ...
      slow.finish();
      const answer = await slow.answer;
      assert.equal(answer.status, 202);
      // ... and its connection is then closed by the server, not left to the 72 s keep-alive timeout.
      await answer.socketClosed;
      let chunk = await reader.read();
      while (!chunk.done) chunk = await reader.read();
      await stopping;
      const ms = Date.now() - t0;
      assert.ok(ms < 5_000, `stop took ${ms} ms`);
    } finally {
      await cleanup(); // stop() again is a no-op once stopped
    }
  });

  it('cuts a request that does not finish within the grace period', { timeout: 10_000 }, async () => {
    const app = Fastify();
    installGracefulClose(app, 300);
    let reached!: () => void;
    const inRoute = new Promise<void>((r) => { reached = r; });
    app.get('/never', (_req, reply) => {
      reached();
      return new Promise(() => { void reply; }); // never answers
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const port = (app.server.address() as { port: number }).port;
    const failed = new Promise<string>((resolve) => {
      http.get({ host: '127.0.0.1', port, path: '/never' }).on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    });
    await inRoute;
    const t0 = Date.now();
    await app.close();
    const ms = Date.now() - t0;
    assert.ok(ms >= 250 && ms < 3_000, `close took ${ms} ms`);
    assert.equal(await failed, 'ECONNRESET');
  });
});
