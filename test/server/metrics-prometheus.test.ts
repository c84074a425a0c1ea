/**
 * The metrics as Prometheus reads them (issue 17): `promtool check metrics` finds nothing to say about the exposition,
 * and a real Prometheus scraping a running platform evaluates every expression of the Grafana dashboard
 * (deploy/grafana/dronewatch.json) without error, the main panels with data. Every dronewatch metric the dashboard
 * names is one src/metrics/definitions.ts defines. Skipped without the prometheus binary (Debian: `apt-get install
 * prometheus`; .ci/install-system-packages.sh installs it).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { registry } from '../../src/metrics/index.ts';
import type { Platform } from '../../src/runtime/platform.ts';
import { tempDir, waitUntil } from '../../src/testkit/index.ts';
import { report, startTestPlatform } from './helpers.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const DASHBOARD = JSON.parse(readFileSync(path.join(ROOT, 'deploy/grafana/dronewatch.json'), 'utf8')) as { panels: { title: string; type: string; targets?: { expr: string }[] }[] };
const PROMETHEUS = spawnSync('prometheus', ['--version']).status === 0 ? 'prometheus' : undefined;

const targets = DASHBOARD.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));

/** Grafana's variables, as a dashboard over one job and every tenant would expand them. */
function expand(expr: string): string {
  return expr.replaceAll('$__rate_interval', '10s').replaceAll('$tenant', '.*').replaceAll('$job', '.*');
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as { port: number }).port;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

describe('the dashboard names defined metrics', () => {
  it('every dronewatch_* of its expressions is in src/metrics/definitions.ts', async () => {
    const defined = new Set((await registry.getMetricsAsJSON()).map((m) => m.name));
    const used = new Set(targets.flatMap((t) => [...t.expr.matchAll(/\b(dronewatch_\w+)/g)].map((m) => m[1]!.replace(/_(bucket|sum|count)$/, ''))));
    assert.ok(used.size >= 14, [...used].join());
    for (const name of used) assert.ok(defined.has(name), `${name} is not defined`);
  });
});

describe('a real Prometheus scraping a platform evaluates the dashboard', { skip: PROMETHEUS ? false : 'no prometheus binary', timeout: 180_000 }, () => {
  const tmp = tempDir('dw-prometheus-');
  let platform: Platform;
  let cleanup: () => Promise<void>;
  let prom: ChildProcess;
  let api = '';

  before(async () => {
    ({ platform, cleanup } = await startTestPlatform({ alerts: true, archive: 'thread', http: 'api' }, { archive: { maxBatchAgeMs: 300 }, metrics: { port: 0 } }));
    const target = new URL(platform.metrics!.url).host;
    writeFileSync(path.join(tmp.dir, 'prometheus.yml'), [
      'global: { scrape_interval: 1s, evaluation_interval: 1s }',
      'scrape_configs:',
      '  - job_name: dronewatch',
      `    static_configs: [{ targets: ['${target}'] }]`,
      '',
    ].join('\n'));
    const port = await freePort();
    api = `http://127.0.0.1:${port}`;
    prom = spawn(PROMETHEUS!, [`--config.file=${path.join(tmp.dir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(tmp.dir, 'tsdb')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], { stdio: ['ignore', 'ignore', 'inherit'] });
  });
  after(async () => {
    prom?.kill('SIGTERM');
    if (prom && prom.exitCode === null) await new Promise((resolve) => prom.once('exit', resolve));
    await cleanup?.();
    tmp.cleanup();
  });

  async function query(expr: string): Promise<{ status: string; error?: string; data?: { result: unknown[] } }> {
    const r = await fetch(`${api}/api/v1/query?query=${encodeURIComponent(expr)}`);
    return (await r.json()) as { status: string; error?: string; data?: { result: unknown[] } };
  }

  it('promtool finds nothing to lint in the exposition', async () => {
    const text = await (await fetch(platform.metrics!.url)).text();
    const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    // prom-client's own nodejs_active_*_total gauges are linted for their suffix; ours must have nothing said of them.
    const findings = `${r.stdout}${r.stderr}`.split('\n').filter((l) => l.trim() !== '' && !/^nodejs_active_\w+_total non-counter/.test(l));
    assert.deepEqual(findings, []);
  });

  it('every expression evaluates; ingestion, lag, alert latency, archive, queries and HTTP have data', async () => {
    await waitUntil('prometheus to scrape the platform', async () => {
      try {
        const r = await query('up{job="dronewatch"} == 1');
        return (r.data?.result.length ?? 0) === 1;
      } catch {
        return false;
      }
    }, 60_000);
    // Work for 12 s, so that every rate over 10 s has two samples with a difference between them.
    const end = Date.now() + 12_000;
    let n = 0;
    while (Date.now() < end) {
      const ts = new Date(Date.now() - 30_000).toISOString();
      await platform.server!.inject({ method: 'POST', url: '/v1/reports', payload: [report({ droneId: `drone-p${n++}`, timestamp: ts, citizens: [{ name: 'Jeanne Martin', score: n % 3 === 0 ? 4 : 80 }] }), { droneId: 'bad' }] });
      await platform.server!.inject({ method: 'POST', url: '/v1/query', payload: { sql: 'SELECT count(*) FROM reports' } });
      await platform.server!.inject({ method: 'POST', url: '/v1/query', payload: { sql: 'DROP TABLE reports' } });
      await sleep(250);
    }
    await sleep(2500);
    const withData = new Set<string>();
    for (const t of targets) {
      const r = await query(expand(t.expr));
      assert.equal(r.status, 'success', `${t.panel}: ${t.expr}: ${r.error}`);
      if ((r.data?.result.length ?? 0) > 0) withData.add(t.panel);
    }
    const empty = [...new Set(targets.map((t) => t.panel))].filter((p) => !withData.has(p));
    // Without authentication nothing fails it; every other panel has data.
    const mayBeEmpty = new Set(['Authentication failures per minute, by code']);
    assert.deepEqual(empty.filter((p) => !mayBeEmpty.has(p)), [], `panels without data: ${empty.join('; ')}`);
    const p99 = await query(expand('histogram_quantile(0.99, sum by (le) (rate(dronewatch_alert_latency_seconds_bucket[$__rate_interval])))'));
    const v = Number((p99.data!.result[0] as { value: [number, string] }).value[1]);
    assert.ok(v > 0 && v < 30, `alert latency p99 ${v}`);
  });
});
