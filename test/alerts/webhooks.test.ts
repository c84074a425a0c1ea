import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { WebhookSink, type AlertEvent } from '../../src/alerts/index.ts';

interface Received {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  at: number;
}

type Responder = (req: Received, n: number) => { status: number; headers?: Record<string, string> } | Promise<{ status: number; headers?: Record<string, string> }>;

/** A real HTTP server; each path has its own responder and log. */
class Receiver {
  private server = http.createServer((req, res) => void this.handle(req, res));
  readonly log = new Map<string, Received[]>();
  readonly responders = new Map<string, Responder>();
  base = '';

  async start(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }

  route(p: string, responder: Responder): string {
    this.responders.set(p, responder);
    this.log.set(p, []);
    return `${this.base}${p}`;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const rec: Received = { path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() };
    const list = this.log.get(rec.path) ?? [];
    list.push(rec);
    const responder: Responder = this.responders.get(rec.path) ?? (() => ({ status: 404 }));
    const r = await responder(rec, list.length);
    res.writeHead(r.status, r.headers).end();
  }
}

let seq = 0;
function event(): AlertEvent {
  const i = seq++;
  return {
    eventId: `ev${i}`,
    type: 'raised',
    at: 1_700_000_000_000 + i,
    by: null,
    alert: {
      alertId: `a${i}`, tenant: 'default', droneId: 'd1', citizen: 'ann', score: 3, severity: 'critical', rule: 'score-below-threshold',
      position: { lat: 1, lon: 2 }, words: [], firstReportId: 'd1:1', lastReportId: 'd1:1', firstSeenTs: 1, lastSeenTs: 1,
      raisedAt: 1, updatedAt: 1, occurrences: 1, status: 'open', assignee: null, acknowledgedBy: null, acknowledgedAt: null,
      resolvedBy: null, resolvedAt: null, note: null,
    },
  };
}

describe('webhooks', () => {
  const rx = new Receiver();
  before(() => rx.start());
  after(() => rx.stop());

  it('POSTs the event as JSON with an HMAC-SHA256 signature of the body', async () => {
    const signed = rx.route('/signed', () => ({ status: 204 }));
    const plain = rx.route('/plain', () => ({ status: 200 }));
    const sink = new WebhookSink({ webhooks: [{ url: signed, secret: 's3cret' }, { url: plain }] });
    const e = event();
    sink.send(e);
    assert.equal(await sink.flush(5000), true);
    const [got] = rx.log.get('/signed')!;
    assert.deepEqual(JSON.parse(got!.body), e);
    assert.equal(got!.headers['content-type'], 'application/json');
    assert.equal(got!.headers['x-dronewatch-event'], 'raised');
    assert.equal(got!.headers['x-dronewatch-event-id'], e.eventId);
    const expected = `sha256=${createHmac('sha256', 's3cret').update(got!.body).digest('hex')}`;
    assert.equal(got!.headers['x-dronewatch-signature'], expected);
    const [unsigned] = rx.log.get('/plain')!;
    assert.equal(unsigned!.headers['x-dronewatch-signature'], undefined);
    assert.deepEqual(sink.stats().delivered, 2);
    await sink.close();
  });

  it('retries after a 500, then succeeds', async () => {
    const url = rx.route('/flaky', (_r, n) => ({ status: n <= 2 ? 500 : 200 }));
    const sink = new WebhookSink({ webhooks: [{ url }], baseDelayMs: 5 });
    const e = event();
    sink.send(e);
    assert.equal(await sink.flush(5000), true);
    const got = rx.log.get('/flaky')!;
    assert.equal(got.length, 3);
    assert.deepEqual(got.map((g) => g.headers['x-dronewatch-attempt']), ['1', '2', '3']);
    assert.ok(got.every((g) => JSON.parse(g.body).eventId === e.eventId));
    const s = sink.stats();
    assert.deepEqual([s.delivered, s.failed, s.retries], [1, 0, 2]);
    await sink.close();
  });

  it('waits Retry-After on 429 and 503', async () => {
    const url = rx.route('/busy', (_r, n) => (n === 1 ? { status: 429, headers: { 'retry-after': '0.3' } } : { status: 200 }));
    const sink = new WebhookSink({ webhooks: [{ url }], baseDelayMs: 1 });
    sink.send(event());
    assert.equal(await sink.flush(5000), true);
    const got = rx.log.get('/busy')!;
    assert.equal(got.length, 2);
    assert.ok(got[1]!.at - got[0]!.at >= 280, `retried after ${got[1]!.at - got[0]!.at} ms`);
    await sink.close();
  });

  it('does not retry a 400 and gives up after maxAttempts', async () => {
    const bad = rx.route('/bad', () => ({ status: 400 }));
    const down = rx.route('/down', () => ({ status: 503 }));
    const sink = new WebhookSink({ webhooks: [{ url: bad }, { url: down }], baseDelayMs: 1, maxAttempts: 3 });
    sink.send(event());
    assert.equal(await sink.flush(5000), true);
    assert.equal(rx.log.get('/bad')!.length, 1);
    assert.equal(rx.log.get('/down')!.length, 3);
    const [b, d] = sink.stats().targets;
    assert.deepEqual([b!.failed, b!.retries, d!.failed, d!.retries], [1, 0, 1, 2]);
    await sink.close();
  });

  it('logs a target by its scheme, host and port only: no path or query, where receivers keep secrets', async () => {
    const secretPath = rx.route('/hooks/T0001/B0002/s3cr3t-token', () => ({ status: 503 }));
    const withQuery = rx.route('/hooks/T0001?token=qu3ry-secret', () => ({ status: 400 }));
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const unreachable = `http://127.0.0.1:${port}/hooks/n3twork-secret?key=k3y`;
    const lines: string[] = [];
    const logger = pino({ level: 'debug' }, { write: (l: string) => void lines.push(l) });
    const attempts: string[] = [];
    const sink = new WebhookSink({
      webhooks: [{ url: secretPath }, { url: withQuery }, { url: unreachable }], baseDelayMs: 1, maxAttempts: 2, logger,
      onAttempt: (a) => { if (a.error) attempts.push(a.error); },
    });
    sink.send(event());
    assert.equal(await sink.flush(5000), true);
    await sink.close();
    const retries = lines.filter((l) => l.includes('webhook retry')).map((l) => (JSON.parse(l) as { url: string }).url);
    const failures = lines.filter((l) => l.includes('webhook delivery failed')).map((l) => (JSON.parse(l) as { url: string }).url);
    assert.deepEqual(retries.sort(), [`${rx.base}/...`, `http://127.0.0.1:${port}/...`].sort(), lines.join(''));
    assert.deepEqual(failures.sort(), [`${rx.base}/...`, `${rx.base}/...`, `http://127.0.0.1:${port}/...`].sort(), lines.join(''));
    // What the delivery log keeps (the attempts' errors) and every log line: no secret of any URL.
    const everything = lines.join('') + attempts.join('');
    for (const secret of ['s3cr3t-token', 'T0001', 'qu3ry-secret', 'n3twork-secret', 'k3y']) assert.ok(!everything.includes(secret), secret);
  });

  it('retries network errors', async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const sink = new WebhookSink({ webhooks: [{ url: `http://127.0.0.1:${port}/x` }], baseDelayMs: 1, maxAttempts: 3 });
    sink.send(event());
    assert.equal(await sink.flush(5000), true);
    const s = sink.stats();
    assert.deepEqual([s.delivered, s.failed, s.retries], [0, 1, 2]);
    await sink.close();
  });

  it('drops the oldest queued events when the queue is full, and counts them', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const url = rx.route('/slow', async () => {
      await gate;
      return { status: 200 };
    });
    const sink = new WebhookSink({ webhooks: [{ url }], maxQueue: 3 });
    const sent = Array.from({ length: 10 }, () => event());
    for (const e of sent) sink.send(e);
    // The first event is in flight; three wait; six were dropped.
    let s = sink.stats();
    assert.deepEqual([s.enqueued, s.inFlight, s.queued, s.dropped], [10, 1, 3, 6]);
    assert.equal(await sink.flush(200), false, 'flush times out while the endpoint hangs');
    release();
    assert.equal(await sink.flush(5000), true);
    const got = rx.log.get('/slow')!.map((g) => JSON.parse(g.body).eventId);
    assert.deepEqual(got, [sent[0], ...sent.slice(7)].map((e) => e!.eventId));
    s = sink.stats();
    assert.deepEqual([s.delivered, s.dropped, s.queued, s.inFlight], [4, 6, 0, 0]);
    await sink.close();
  });

  it('times out a hanging endpoint and close() abandons what is left', async () => {
    const url = rx.route('/hang', () => new Promise(() => undefined));
    const sink = new WebhookSink({ webhooks: [{ url, timeoutMs: 100 }], baseDelayMs: 10_000, maxAttempts: 5 });
    sink.send(event());
    sink.send(event());
    assert.equal(await sink.close(300), false);
    const s = sink.stats();
    assert.equal(s.queued, 0);
    assert.equal(s.delivered, 0);
    sink.send(event());
    assert.equal(sink.stats().enqueued, 2, 'a closed sink accepts nothing');
  });
});
