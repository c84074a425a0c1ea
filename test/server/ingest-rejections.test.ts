import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { DEFAULT_MAX_BODY_BYTES, Ingestor, OVERSIZED_BODY_KEPT_BYTES, deadLetterRaw, listDeadLetters, type StoredDeadLetter } from '../../src/ingest/index.ts';
import type { Platform } from '../../src/runtime/platform.ts';
import { buildServer } from '../../src/server/index.ts';
import type { Stream } from '../../src/stream/index.ts';
import { openTestStream } from '../ingest/helpers.ts';
import { report, startTestPlatform } from './helpers.ts';

/**
 * Regression: an empty body answered 400 without a dead letter; an empty Content-Type answered 415
 * FST_ERR_CTP_INVALID_MEDIA_TYPE (not a documented code) without one either. Every rejection of report input now has a
 * documented DW_ code and a dead letter.
 */

const DOCUMENTED = new Set([...readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8').matchAll(/`(DW_[A-Z_]+)`/g)].map((m) => m[1]!));

interface Rejection {
  code: string;
  message: string;
  errors: { field: string; reason: string }[];
  deadLettered?: boolean;
}

function assertRejected(res: LightMyRequestResponse, status: number, code: string, label: string): Rejection {
  assert.equal(res.statusCode, status, `${label}: status (body ${res.body.slice(0, 300)})`);
  const body = res.json() as Rejection;
  assert.equal(body.code, code, `${label}: code`);
  assert.ok(DOCUMENTED.has(body.code), `${label}: ${body.code} is in docs/errors.md`);
  assert.equal(body.deadLettered, true, `${label}: says it was dead-lettered`);
  return body;
}

describe('some rejections leave no dead letter or use an undocumented code', () => {
  describe('on a real platform (default limits)', () => {
    let platform: Platform;
    let cleanup: () => Promise<void>;
    before(async () => {
      ({ platform, cleanup } = await startTestPlatform({ http: 'api' }));
    });
    after(async () => cleanup());

    const post = (payload: string | Buffer, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> =>
      platform.server!.inject({ method: 'POST', url: '/v1/reports', payload, headers });
    const letters = async (): Promise<StoredDeadLetter[]> =>
      (platform.server!.inject({ method: 'GET', url: '/v1/dead-letters?limit=1000' }).then((r) => (r.json() as { deadLetters: StoredDeadLetter[] }).deadLetters));

    it('an empty or blank body is DW_INGEST_MALFORMED and a dead letter, whatever its Content-Type', async () => {
      const cases: [string, string, Record<string, string>][] = [
        ['empty, no content type', '', {}],
        ['empty, application/json', '', { 'content-type': 'application/json' }],
        ['empty, empty content type', '', { 'content-type': '' }],
        ['empty, NDJSON', '', { 'content-type': 'application/x-ndjson' }],
        ['blank', ' \r\n\t ', { 'content-type': 'application/json' }],
        ['NDJSON of blank lines', '\n\n  \n', { 'content-type': 'application/x-ndjson' }],
      ];
      for (const [label, payload, headers] of cases) {
        const before = (await letters()).length;
        const body = assertRejected(await post(payload, headers), 400, 'DW_INGEST_MALFORMED', label);
        assert.match(body.message, /empty body/, label);
        const after = await letters();
        assert.equal(after.length, before + 1, `${label}: one more dead letter`);
        const l = after[after.length - 1]!;
        assert.deepEqual([l.code, l.index, deadLetterRaw(l).toString('utf8'), l.truncated], ['DW_INGEST_MALFORMED', 0, payload, false], label);
      }
    });

    it('an empty or unparseable Content-Type is read as JSON, like a missing one: accepted, or rejected with a dead letter', async () => {
      for (const [i, type] of ['', 'foo', 'application/', ';;;', 'text/plain'].entries()) {
        const ok = await post(JSON.stringify(report({ droneId: `ct-${i}` })), { 'content-type': type });
        assert.equal(ok.statusCode, 202, `content type ${JSON.stringify(type)}: ${ok.body}`);
        const raw = JSON.stringify(report({ citizens: [{ name: 'Paul Durand', score: 140 }], words: [`ct-${i}`] }));
        const bad = assertRejected(await post(raw, { 'content-type': type }), 400, 'DW_INGEST_INVALID', `content type ${JSON.stringify(type)}`);
        assert.deepEqual(bad.errors, [{ field: 'citizens[0].score', reason: 'must be <= 100' }]);
        assert.ok((await letters()).some((l) => deadLetterRaw(l).toString('utf8') === raw), `content type ${JSON.stringify(type)}: dead letter`);
      }
      // NDJSON still comes from the Content-Type, with parameters and in any case.
      const nd = await post(`${JSON.stringify(report({ droneId: 'nd-1' }))}\n${JSON.stringify(report({ droneId: 'nd-2' }))}\n`, { 'content-type': 'Application/X-NDJSON; charset=utf-8' });
      assert.equal(nd.statusCode, 202, nd.body);
      assert.equal((nd.json() as { accepted: unknown[] }).accepted.length, 2);
    });

    it('a body over the request limit is 413 DW_INGEST_TOO_LARGE and a dead letter holding its beginning', async () => {
      const head = JSON.stringify(report({ droneId: 'huge-sender' })).slice(0, -1);
      const payload = Buffer.alloc(DEFAULT_MAX_BODY_BYTES + 1000, 0x20);
      payload.write(head, 0, 'utf8');
      const res = await post(payload, { 'content-type': 'application/json' });
      const body = assertRejected(res, 413, 'DW_INGEST_TOO_LARGE', 'oversized body');
      assert.match(body.message, new RegExp(`${DEFAULT_MAX_BODY_BYTES}`));
      assert.equal(res.headers.connection, 'close', 'the rest of the body was not read: the connection closes');
      const l = (await letters()).at(-1)!;
      assert.equal(l.code, 'DW_INGEST_TOO_LARGE');
      assert.equal(l.truncated, true);
      assert.equal(l.rawBytes, DEFAULT_MAX_BODY_BYTES + 1, 'reading stopped one byte past the limit');
      const kept = deadLetterRaw(l);
      assert.equal(kept.length, OVERSIZED_BODY_KEPT_BYTES);
      assert.ok(kept.toString('utf8').startsWith(head), 'the beginning of the body, to see who sent it');
    });

    it('fastify\'s own refusals on other routes answer a documented code', async () => {
      const ack = (headers: Record<string, string>, payload: string) => platform.server!.inject({ method: 'POST', url: '/v1/alerts/nope/ack', payload, headers });
      for (const [label, res, status] of [
        ['unparseable content type', await ack({ 'content-type': 'foo' }, '{}'), 415],
        ['empty JSON body', await ack({ 'content-type': 'application/json' }, ''), 400],
        ['bad JSON', await ack({ 'content-type': 'application/json' }, '{"by":'), 400],
      ] as const) {
        assert.equal(res.statusCode, status, `${label}: ${res.body}`);
        const code = (res.json() as { code: string }).code;
        assert.ok(DOCUMENTED.has(code), `${label}: ${code} is documented`);
        assert.ok(!code.startsWith('FST_'), `${label}: ${code}`);
      }
    });
  });

  describe('with a small body limit', () => {
    const LIMIT = 4096;
    let stream: Stream;
    let cleanup: () => Promise<void>;
    let app: FastifyInstance;
    before(async () => {
      ({ stream, cleanup } = await openTestStream());
      app = await buildServer({ ingest: new Ingestor({ stream, tenant: 'small', maxBodyBytes: LIMIT }), bodyLimit: LIMIT });
    });
    after(async () => {
      await app.close();
      await cleanup();
    });

    it('a body at the limit is read; one byte over it is refused whole, the valid reports in it included', async () => {
      const one = JSON.stringify(report({ droneId: 'small-1' }));
      const atLimit = Buffer.alloc(LIMIT, 0x20);
      atLimit.write(one, 0, 'utf8');
      const ok = await app.inject({ method: 'POST', url: '/v1/reports', payload: atLimit, headers: { 'content-type': 'application/json' } });
      assert.equal(ok.statusCode, 202, ok.body);
      const over = Buffer.concat([atLimit, Buffer.from(' ')]);
      const res = await app.inject({ method: 'POST', url: '/v1/reports', payload: over, headers: { 'content-type': 'application/x-ndjson' } });
      assertRejected(res, 413, 'DW_INGEST_TOO_LARGE', 'one byte over');
      const letters = await listDeadLetters(stream, { limit: 10 });
      assert.deepEqual(letters.map((l) => [l.code, l.rawBytes, l.truncated, deadLetterRaw(l).length]), [['DW_INGEST_TOO_LARGE', LIMIT + 1, true, LIMIT + 1]]);
    });
  });
});
