import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Platform } from '../../src/runtime/platform.ts';
import { report, startTestPlatform } from './helpers.ts';

describe('ingestion backpressure', () => {
  let platform: Platform;
  let cleanup: () => Promise<void>;
  // No consumer runs, so the `alerts` and `archive` groups fall behind by every report published.
  before(async () => {
    ({ platform, cleanup } = await startTestPlatform({ http: 'ingest' }, { ingest: { maxLag: 5 } }));
  });
  after(async () => cleanup());

  it('answers 503 with Retry-After once a consumer group lags more than ingest.maxLag', async () => {
    const lines = Array.from({ length: 10 }, (_, i) => JSON.stringify(report({ droneId: `d-${i}`, timestamp: '2026-11-27T10:00:00Z' }))).join('\n');
    const first = await platform.server!.inject({ method: 'POST', url: '/v1/reports', payload: lines, headers: { 'content-type': 'application/x-ndjson' } });
    assert.equal(first.statusCode, 202);
    let res = first;
    for (let i = 0; i < 50 && res.statusCode !== 503; i++) {
      await new Promise((r) => setTimeout(r, 100));
      res = await platform.server!.inject({ method: 'POST', url: '/v1/reports', payload: JSON.stringify(report({ droneId: `late-${i}` })), headers: { 'content-type': 'application/json' } });
    }
    assert.equal(res.statusCode, 503);
    assert.equal(res.headers['retry-after'], '2');
    assert.equal((res.json() as { code: string }).code, 'DW_INGEST_BACKPRESSURE');
  });
});
