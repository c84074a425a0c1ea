import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '../../src/config/index.ts';
import { IngestRateLimiter, Ingestor, listDeadLetters } from '../../src/ingest/index.ts';
import { AuditLog } from '../../src/security/index.ts';
import { buildServer } from '../../src/server/index.ts';
import type { Stream } from '../../src/stream/index.ts';
import { tempDir } from '../../src/testkit/index.ts';
import { NOW, validReport } from '../contract/fixtures.ts';
import { openTestStream, storedReports } from '../ingest/helpers.ts';
import { SecurityStore } from '../../src/backend/index.ts';

const FAST = { log2N: 10, r: 8, p: 1 };

/**
 * Regression: one drone credential could post without limit, so a stolen or broken drone could flood the stream the
 * alerts depend on. Now each drone has a token bucket; beyond it, 429 with Retry-After and nothing stored.
 */
describe('per-drone ingestion limit (issue 7)', () => {
  const tmp = tempDir('dw-ingest-limit-');
  let security: SecurityStore;
  let audit: AuditLog;
  let stream: Stream;
  let closeStream: () => Promise<void>;
  let app: FastifyInstance;
  let clock = NOW;
  const tok: Record<string, string> = {};

  before(async () => {
    security = SecurityStore.open(tmp.dir, { scrypt: FAST });
    audit = AuditLog.open(tmp.dir);
    security.createTenant('paris');
    security.createTenant('lyon');
    tok.d1 = security.registerDrone('paris', 'd-1').token;
    tok.d2 = security.registerDrone('paris', 'd-2').token;
    tok.lyonD1 = security.registerDrone('lyon', 'd-1').token;
    tok.gateway = security.registerDrone('paris', '*').token;
    ({ stream, cleanup: closeStream } = await openTestStream());
    const ingestor = new Ingestor({ stream, tenant: 'paris', now: () => clock });
    app = await buildServer({
      auth: { security, audit },
      ingest: ingestor,
      ingestLimit: new IngestRateLimiter({ perSecond: 0.5, burst: 3, now: () => clock }),
    });
  });
  after(async () => {
    await app.close();
    await closeStream();
    audit.close();
    security.close();
    tmp.cleanup();
  });

  let seq = 0;
  const post = (token: string, droneId: string) => {
    // Distinct timestamps: each report is new (not a duplicate of an earlier one).
    const timestamp = new Date(NOW - 3_600_000 + ++seq * 1000).toISOString();
    return app.inject({ method: 'POST', url: '/v1/reports', headers: { authorization: `Bearer ${token}` }, payload: validReport({ droneId, timestamp }) });
  };

  it('answers 429 DW_INGEST_RATE_LIMITED with Retry-After beyond the burst, stores nothing of it, dead-letters nothing', async () => {
    const before = (await storedReports(stream)).length;
    for (let i = 0; i < 3; i++) {
      const r = await post(tok.d1!, 'd-1');
      assert.equal(r.statusCode, 202, `request ${i + 1} of the burst: ${r.body}`);
    }
    const over = await post(tok.d1!, 'd-1');
    assert.equal(over.statusCode, 429, over.body);
    assert.equal(over.json().code, 'DW_INGEST_RATE_LIMITED', over.body);
    assert.match(over.json().message, /d-1/, 'the message names the drone');
    assert.equal(over.headers['retry-after'], '2', 'one token at 0.5/s: 2 s');
    assert.equal((await storedReports(stream)).length, before + 3, 'only the three accepted reports were stored');
    assert.deepEqual(await listDeadLetters(stream, { limit: 100 }), [], 'a throttled request is not a dead letter');
  });

  it('each drone has its own bucket: another drone of the force, and the same drone id of another force, go through', async () => {
    assert.equal((await post(tok.d2!, 'd-2')).statusCode, 202, 'd-2 of paris');
    assert.equal((await post(tok.lyonD1!, 'd-1')).statusCode, 202, 'd-1 of lyon is not paris d-1');
    assert.equal((await post(tok.d1!, 'd-1')).statusCode, 429, 'paris d-1 is still throttled');
  });

  it('refills with time: after Retry-After the drone publishes again', async () => {
    clock += 2_000;
    assert.equal((await post(tok.d1!, 'd-1')).statusCode, 202, 'one token back after 2 s');
    assert.equal((await post(tok.d1!, 'd-1')).statusCode, 429, 'and only one');
  });

  it('does not limit a gateway credential (it carries a whole fleet; the consumer-lag backpressure bounds it)', async () => {
    for (let i = 0; i < 10; i++) {
      const r = await post(tok.gateway!, `d-${10 + i}`);
      assert.equal(r.statusCode, 202, `gateway request ${i + 1}: ${r.body}`);
    }
  });

  it('keeps a bounded number of buckets, forgetting idle (refilled) drones first', () => {
    let now = 0;
    const limiter = new IngestRateLimiter({ perSecond: 1, burst: 2, maxBuckets: 100, now: () => now });
    for (let i = 0; i < 100; i++) limiter.take(`t/d-${i}`);
    now += 5_000; // every bucket has refilled
    limiter.take('t/hot');
    limiter.take('t/hot');
    assert.equal(limiter.take('t/hot'), 1, 'the busy drone is throttled');
    for (let i = 0; i < 1_000; i++) limiter.take(`t/new-${i}`);
    assert.ok(limiter.stats().buckets <= 100, `bounded: ${limiter.stats().buckets}`);
  });

  it('is configured by ingest.perDroneRequestsPerSecond and ingest.perDroneBurst, validated', () => {
    const c = loadConfig({ flags: {} });
    assert.deepEqual([c.ingest.perDroneRequestsPerSecond, c.ingest.perDroneBurst], [1, 600], 'defaults');
    assert.throws(() => loadConfig({ flags: { 'ingest.perDroneBurst': 0 } }), /ingest\.perDroneBurst/);
    assert.throws(() => loadConfig({ flags: { 'ingest.perDroneRequestsPerSecond': -1 } }), /ingest\.perDroneRequestsPerSecond/);
  });
});
