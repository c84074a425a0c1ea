import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Platform } from '../../src/runtime/platform.ts';
import { report, startTestPlatform } from './helpers.ts';

describe('HTTP API on a real platform', () => {
  let platform: Platform;
  let cleanup: () => Promise<void>;
  before(async () => {
    ({ platform, cleanup } = await startTestPlatform({ alerts: true, http: 'api' }));
  });
  after(async () => cleanup());

  const post = (body: string, type = 'application/json') =>
    platform.server!.inject({ method: 'POST', url: '/v1/reports', payload: body, headers: { 'content-type': type } });

  it('accepts a valid report with 202 and its report id', async () => {
    const r = report({ timestamp: '2026-11-27T10:00:00.000Z' });
    const res = await post(JSON.stringify(r));
    assert.equal(res.statusCode, 202);
    const body = res.json() as { accepted: { reportId: string; duplicate: boolean }[] };
    assert.deepEqual(body.accepted, [{ reportId: `drone-00042:${Date.parse('2026-11-27T10:00:00.000Z')}`, duplicate: false, index: 0 }]);
  });

  it('acknowledges a retried report (same instant, other spelling) as a duplicate', async () => {
    const res = await post(JSON.stringify(report({ timestamp: '2026-11-27T11:00:00+01:00' })));
    assert.equal(res.statusCode, 202);
    assert.equal((res.json() as { accepted: { duplicate: boolean }[] }).accepted[0]!.duplicate, true);
  });

  it('rejects an invalid report with 400 naming the field and reason, and keeps it as a dead letter', async () => {
    const raw = JSON.stringify(report({ citizens: [{ name: 'Paul Durand', score: 140 }] }));
    const res = await post(raw);
    assert.equal(res.statusCode, 400);
    const body = res.json() as { code: string; message: string; errors: { field: string; reason: string }[] };
    assert.equal(body.code, 'DW_INGEST_INVALID');
    assert.deepEqual(body.errors, [{ field: 'citizens[0].score', reason: 'must be <= 100' }]);
    assert.ok(!/at .*\.ts/.test(res.body), 'no stack trace in the answer');
    const dl = await platform.server!.inject({ method: 'GET', url: '/v1/dead-letters?limit=10' });
    const letters = (dl.json() as { deadLetters: { reason: string; rawBase64: string }[] }).deadLetters;
    const mine = letters.find((l) => Buffer.from(l.rawBase64, 'base64').toString() === raw);
    assert.ok(mine, 'the rejected bytes are in the dead letters exactly as sent');
    assert.match(mine.reason, /citizens\[0\]\.score: must be <= 100/);
  });

  it('answers 207 for an NDJSON batch with valid and invalid lines', async () => {
    const lines = [
      JSON.stringify(report({ droneId: 'drone-1', timestamp: '2026-11-27T10:01:00Z' })),
      '{"droneId": "broken"',
      JSON.stringify(report({ droneId: 'drone-2', timestamp: '2026-11-27T10:01:00Z' })),
    ].join('\n');
    const res = await post(lines, 'application/x-ndjson');
    assert.equal(res.statusCode, 207);
    const body = res.json() as { accepted: { index: number }[]; rejected: { index: number; code: string }[] };
    assert.deepEqual(body.accepted.map((a) => a.index), [0, 2]);
    assert.deepEqual(body.rejected.map((r) => [r.index, r.code]), [[1, 'DW_INGEST_MALFORMED']]);
  });

  it('answers 413 for a report over 64 KiB', async () => {
    // The largest valid report is ~26 KB, so the size is checked before the content (an unknown field pads it).
    const res = await post(JSON.stringify(report({ padding: 'x'.repeat(70_000) })));
    assert.equal(res.statusCode, 413);
    assert.equal((res.json() as { code: string }).code, 'DW_INGEST_TOO_LARGE');
  });

  it('answers 400 for an empty body and 404 with a code for an unknown route', async () => {
    assert.equal((await post('')).statusCode, 400);
    const res = await platform.server!.inject({ method: 'GET', url: '/v1/nope' });
    assert.equal(res.statusCode, 404);
    assert.equal((res.json() as { code: string }).code, 'DW_NOT_FOUND');
  });

  it('raises an alert from an ingested report and runs its lifecycle over HTTP', async () => {
    const r = report({ droneId: 'drone-alert', timestamp: new Date(Date.now() - 1000).toISOString(), citizens: [{ name: 'Louis Bernard', score: 7 }] });
    assert.equal((await post(JSON.stringify(r))).statusCode, 202);
    let alert: { alertId: string; citizen: string; status: string } | undefined;
    for (let i = 0; i < 100 && !alert; i++) {
      const res = await platform.server!.inject({ method: 'GET', url: '/v1/alerts?droneId=drone-alert' });
      alert = (res.json() as { alerts: { alertId: string; citizen: string; status: string }[] }).alerts[0];
      if (!alert) await new Promise((res) => setTimeout(res, 20));
    }
    assert.ok(alert, 'alert raised');
    assert.equal(alert.citizen, 'Louis Bernard');
    assert.equal(alert.status, 'open');
    const one = await platform.server!.inject({ method: 'GET', url: `/v1/alerts/${alert.alertId}` });
    assert.equal(one.statusCode, 200);

    const badAck = await platform.server!.inject({ method: 'POST', url: `/v1/alerts/${alert.alertId}/ack`, payload: {} });
    assert.equal(badAck.statusCode, 400);
    assert.match((badAck.json() as { message: string }).message, /by/);

    const ack = await platform.server!.inject({ method: 'POST', url: `/v1/alerts/${alert.alertId}/ack`, payload: { by: 'officer.dupont' } });
    assert.equal(ack.statusCode, 200);
    assert.equal((ack.json() as { status: string }).status, 'acknowledged');
    const again = await platform.server!.inject({ method: 'POST', url: `/v1/alerts/${alert.alertId}/ack`, payload: { by: 'officer.dupont' } });
    assert.equal(again.statusCode, 409);
    assert.equal((again.json() as { code: string }).code, 'DW_ALERT_BAD_TRANSITION');
    const res = await platform.server!.inject({ method: 'POST', url: `/v1/alerts/${alert.alertId}/resolve`, payload: { by: 'officer.dupont', note: 'dispersed' } });
    assert.equal((res.json() as { status: string; note: string }).status, 'resolved');
    const missing = await platform.server!.inject({ method: 'GET', url: '/v1/alerts/nope' });
    assert.equal(missing.statusCode, 404);
    assert.equal((missing.json() as { code: string }).code, 'DW_ALERT_NOT_FOUND');
  });

  it('reports health with consumer lag', async () => {
    const res = await platform.server!.inject({ method: 'GET', url: '/health' });
    assert.equal(res.statusCode, 200);
    const body = res.json() as { status: string; lag: Record<string, number> };
    assert.equal(body.status, 'ok');
  });
});
