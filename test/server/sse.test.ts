import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Platform } from '../../src/runtime/platform.ts';
import { report, startTestPlatform } from './helpers.ts';

describe('live alert feed (SSE) over a real socket', () => {
  let platform: Platform;
  let url: string;
  let cleanup: () => Promise<void>;
  before(async () => {
    ({ platform, url, cleanup } = await startTestPlatform({ alerts: true, http: 'api' }));
  });
  after(async () => cleanup());

  it('pushes a raised alert to a subscriber, with no polling', async () => {
    const abort = new AbortController();
    const res = await fetch(`${url}/v1/alerts/stream`, { signal: abort.signal });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
    const reader = res.body!.getReader();
    const r = report({ droneId: 'drone-sse', timestamp: new Date(Date.now() - 5000).toISOString(), citizens: [{ name: 'Marie Petit', score: 3 }] });
    const posted = await fetch(`${url}/v1/reports`, { method: 'POST', body: JSON.stringify(r), headers: { 'content-type': 'application/json' } });
    assert.equal(posted.status, 202);
    let text = '';
    const deadline = Date.now() + 10_000;
    while (!text.includes('event: raised') && Date.now() < deadline) {
      const chunk = await reader.read();
      if (chunk.done) break;
      text += Buffer.from(chunk.value).toString('utf8');
    }
    abort.abort();
    const block = text.split('\n\n').find((b) => b.includes('event: raised'));
    assert.ok(block, `raised event received, got: ${text}`);
    const data = JSON.parse(block.split('\n').find((l) => l.startsWith('data: '))!.slice(6)) as { alert: { citizen: string; severity: string; position: { lat: number } } };
    assert.equal(data.alert.citizen, 'Marie Petit');
    assert.equal(data.alert.severity, 'critical');
    assert.equal(data.alert.position.lat, 48.8566);
  });
});
