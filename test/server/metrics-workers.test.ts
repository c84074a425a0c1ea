/**
 * The metrics port of the workers that serve no HTTP (issue 17): `dronewatch alerts --metrics-port 0` and
 * `dronewatch archive --metrics-port 0`, real processes on a shared embedded stream, print where they serve
 * GET /metrics; their counters move as reports they consume arrive, and nothing but /metrics is served there.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { validateConfig } from '../../src/config/index.ts';
import type { Report } from '../../src/contract/index.ts';
import { Platform } from '../../src/runtime/platform.ts';
import { killChild, spawnTsx, tempDir, waitUntil, type Child } from '../../src/testkit/index.ts';
import { parseMetrics, seriesOf, total } from './metrics-helpers.ts';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/dronewatch.js');

describe('metrics port of the alerts and archive workers (real processes)', { timeout: 180_000 }, () => {
  const tmp = tempDir('dw-metrics-workers-');
  const children: Child[] = [];
  const urls: Record<string, string> = {};
  let producer: Platform;

  before(async () => {
    const env = { ...process.env, DRONEWATCH_LOG_LEVEL: 'warn', DRONEWATCH_ARCHIVE__MAX_BATCH_AGE_MS: '300' };
    for (const worker of ['alerts', 'archive']) {
      const child = spawnTsx(BIN, ['--data', tmp.dir, worker, '--metrics-port', '0'], { env });
      children.push(child);
      await waitUntil(`${worker} to print its metrics address`, () => {
        if (child.proc.exitCode !== null) throw new Error(`${worker} exited: ${child.lines.join('\n')}`);
        const m = child.lines.map((l) => /^metrics: (http:\/\/\S+)$/.exec(l)).find((x) => x);
        if (m) urls[worker] = m[1]!;
        return m !== undefined;
      }, 60_000);
    }
    // The producer: ingestion on the same embedded stream, in this process.
    producer = await Platform.open(validateConfig({ security: { enabled: false }, dataDir: tmp.dir }));
  });
  after(async () => {
    await producer?.stop();
    for (const c of children) {
      c.proc.kill('SIGINT');
      const t = setTimeout(() => void killChild(c), 20_000);
      await c.exited;
      clearTimeout(t);
    }
    tmp.cleanup();
  });

  const scrape = async (worker: string) => parseMetrics(await (await fetch(urls[worker]!)).text());

  it('each worker serves its own counters, and they move with the reports it consumes', async () => {
    assert.match(urls.alerts!, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const a0 = await scrape('alerts');
    const r0 = await scrape('archive');
    assert.ok(a0.has('process_resident_memory_bytes') && r0.has('process_resident_memory_bytes'), 'process metrics on both');

    const now = Date.now();
    const reports: Report[] = [0, 1, 2, 3].map((i) => ({
      droneId: `drone-w${i}`, timestamp: new Date(now - 5000 + i).toISOString(), position: { lat: 48.85, lon: 2.35 },
      citizens: [{ name: `Citizen ${i}`, score: i === 0 ? 2 : 90 }], words: [],
    }));
    const r = await producer.ingestor.ingestReports(reports, 'simulator');
    assert.equal(r.accepted.length, 4);

    const deadline = Date.now() + 60_000;
    let a = a0;
    let ar = r0;
    while (Date.now() < deadline) {
      a = await scrape('alerts');
      ar = await scrape('archive');
      if (total(a, 'dronewatch_alerts_raised_total') > total(a0, 'dronewatch_alerts_raised_total')
        && total(ar, 'dronewatch_archive_rows_total', { table: 'reports' }) >= total(r0, 'dronewatch_archive_rows_total', { table: 'reports' }) + 4) break;
      await sleep(200);
    }
    assert.equal(total(a, 'dronewatch_alerts_raised_total', { tenant: 'default', severity: 'critical' }) - total(a0, 'dronewatch_alerts_raised_total', { tenant: 'default', severity: 'critical' }), 1);
    assert.equal(total(a, 'dronewatch_alert_latency_seconds_count') - total(a0, 'dronewatch_alert_latency_seconds_count'), 1);
    assert.equal(total(ar, 'dronewatch_archive_rows_total', { table: 'reports', tenant: 'default' }) - total(r0, 'dronewatch_archive_rows_total', { table: 'reports', tenant: 'default' }), 4);
    assert.ok(total(ar, 'dronewatch_archive_bytes_total', { table: 'reports' }) > total(r0, 'dronewatch_archive_bytes_total', { table: 'reports' }));
    // Each worker also reads the lag of the groups of its stream.
    assert.ok(seriesOf(a, 'dronewatch_stream_lag_records').some((l) => l.group === 'archive' && l.topic === 'reports'));
    // The alert worker counted nothing of the archive's and the reverse: each process its own registry.
    assert.equal(total(a, 'dronewatch_archive_batches_total'), 0);
    assert.equal(total(ar, 'dronewatch_alerts_raised_total'), 0);
    const text = await (await fetch(urls.alerts!)).text();
    assert.ok(!text.includes('Citizen'), 'no citizen name in the labels');
    assert.equal((await fetch(urls.archive!.replace(/\/metrics$/, '/health'))).status, 404);
  });
});
