/**
 * /metrics (issue 17): the values move with the work done (reports accepted and rejected by code, alerts and their
 * latency, archive batches, bytes, rows and files from the archive thread, stream lag per group and partition, query
 * durations and refusals, authentication failures, HTTP requests), no label carries personal data, the metrics port
 * answers without a token, and on the API port only the metrics:read permission reads it, each tenant its own series.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { validateConfig } from '../../src/config/index.ts';
import { Platform } from '../../src/runtime/platform.ts';
import { tempDir } from '../../src/testkit/index.ts';
import { report, startTestPlatform } from './helpers.ts';
import { parseMetrics, seriesOf, total, type Samples } from './metrics-helpers.ts';

const FAST = { log2N: 10, r: 8, p: 1 };
const CITIZENS = ['Jeanne Martin', 'Louis Bernard'];
const SQL = "SELECT count(*) AS n FROM reports WHERE drone_id <> 'secret-marker-sql'";

async function scrape(platform: Platform, headers: Record<string, string> = {}): Promise<{ status: number; type: string; text: string; samples: Samples }> {
  const r = await platform.server!.inject({ method: 'GET', url: '/metrics', headers });
  return { status: r.statusCode, type: String(r.headers['content-type']), text: r.body, samples: parseMetrics(r.body) };
}

async function until<T>(what: string, get: () => Promise<T>, ok: (v: T) => boolean, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await get();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

describe('metrics of an API process (embedded, archive in a thread as with `up`)', { timeout: 120_000 }, () => {
  let platform: Platform;
  let cleanup: () => Promise<void>;
  before(async () => {
    ({ platform, cleanup } = await startTestPlatform({ alerts: true, archive: 'thread', http: 'api' }, {
      archive: { maxBatchAgeMs: 300 }, metrics: { port: 0 }, analysis: { refreshSeconds: 0 },
    }));
  });
  after(async () => {
    await cleanup().catch(() => undefined);
  });

  it('counters and histograms move with reports, alerts, archive batches, queries and refusals', async () => {
    const before = await scrape(platform);
    assert.equal(before.status, 200, before.text);
    assert.match(before.type, /^text\/plain; version=0\.0\.4/);
    const b = before.samples;
    for (const name of ['process_cpu_user_seconds_total', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_seconds', 'dronewatch_stream_up']) {
      assert.ok(b.has(name), `${name} is exposed`);
    }

    const now = Date.now();
    const good = [
      report({ droneId: 'drone-m1', timestamp: new Date(now - 3000).toISOString(), citizens: [{ name: CITIZENS[0], score: 80 }] }),
      report({ droneId: 'drone-m2', timestamp: new Date(now - 2000).toISOString(), citizens: [{ name: CITIZENS[1], score: 3 }] }),
    ];
    const bad = report({ droneId: 'drone-m3', position: undefined });
    const post = await platform.server!.inject({ method: 'POST', url: '/v1/reports', payload: [...good, bad] });
    assert.equal(post.statusCode, 207, post.body);
    const resent = await platform.server!.inject({ method: 'POST', url: '/v1/reports', payload: good[0] });
    assert.equal(resent.statusCode, 202, resent.body);

    // The archive thread writes a batch (maxBatchAgeMs 300) and the alert worker raises the critical alert.
    const after = (await until('alert and archive metrics', () => scrape(platform), (s) =>
      total(s.samples, 'dronewatch_alerts_raised_total') > total(b, 'dronewatch_alerts_raised_total')
      && total(s.samples, 'dronewatch_archive_rows_total', { table: 'reports' }) >= total(b, 'dronewatch_archive_rows_total', { table: 'reports' }) + 2)).samples;
    const delta = (name: string, labels: Record<string, string> = {}): number => total(after, name, labels) - total(b, name, labels);

    assert.equal(delta('dronewatch_reports_accepted_total', { tenant: 'default', source: 'http' }), 3, 'two reports, then one of them again');
    assert.equal(delta('dronewatch_reports_duplicate_total', { tenant: 'default', source: 'http' }), 1);
    assert.equal(delta('dronewatch_reports_rejected_total', { tenant: 'default', source: 'http', code: 'DW_INGEST_INVALID' }), 1);
    assert.equal(delta('dronewatch_alerts_raised_total', { tenant: 'default', severity: 'critical' }), 1);
    assert.equal(delta('dronewatch_alert_latency_seconds_count', { tenant: 'default' }), 1);
    const latency = delta('dronewatch_alert_latency_seconds_sum', { tenant: 'default' });
    assert.ok(latency > 0 && latency < 30, `alert latency ${latency} s`);
    assert.ok(delta('dronewatch_alert_latency_seconds_bucket', { tenant: 'default', le: '+Inf' }) === 1);
    // Counted in the archive thread, rendered by the main thread's registry.
    assert.ok(delta('dronewatch_archive_batches_total', { table: 'reports' }) >= 1);
    assert.ok(delta('dronewatch_archive_bytes_total', { table: 'reports', tenant: 'default' }) > 0);
    assert.ok(delta('dronewatch_lake_files_written_total', { table: 'reports', tenant: 'default' }) >= 1);
    assert.ok(delta('dronewatch_http_requests_total', { method: 'POST', route: '/v1/reports', status: '207' }) === 1);

    // Lag of each group the process's stream knows, per partition: the two consumers of every report among them.
    const lag = seriesOf(after, 'dronewatch_stream_lag_records');
    for (const group of ['alerts', 'archive']) {
      const parts = lag.filter((l) => l.topic === 'reports' && l.group === group).map((l) => Number(l.partition)).sort((x, y) => x - y);
      assert.deepEqual(parts, [0, 1, 2, 3, 4, 5, 6, 7], `lag of ${group} per partition`);
    }
    assert.equal(total(after, 'dronewatch_stream_up'), 1);

    // A query and a statistic are timed; a refused one is counted by its code.
    const q = await platform.server!.inject({ method: 'POST', url: '/v1/query', payload: { sql: SQL } });
    assert.equal(q.statusCode, 200, q.body);
    const refused = await platform.server!.inject({ method: 'POST', url: '/v1/query', payload: { sql: "DELETE FROM reports WHERE drone_id = 'secret-marker-sql'" } });
    assert.equal(refused.statusCode, 400, refused.body);
    const s2 = (await scrape(platform)).samples;
    // Both were admitted: the refused one is timed too (its SQL was refused by the engine, after admission).
    assert.equal(total(s2, 'dronewatch_query_duration_seconds_count', { tenant: 'default', kind: 'query' }) - total(b, 'dronewatch_query_duration_seconds_count', { tenant: 'default', kind: 'query' }), 2);
    assert.equal(total(s2, 'dronewatch_query_refusals_total', { tenant: 'default', code: refused.json().code as string }), 1);
  });

  it('no label carries personal data, SQL or a drone', async () => {
    const { text } = await scrape(platform);
    for (const secret of [...CITIZENS, 'Jeanne', 'secret-marker-sql', 'SELECT', 'drone-m1', '127.0.0.1']) {
      assert.ok(!text.includes(secret), `"${secret}" appears in /metrics`);
    }
    // Every label name is one of the bounded set the definitions declare.
    const names = new Set<string>();
    for (const line of text.split('\n')) {
      if (line.startsWith('#') || !line.includes('{')) continue;
      for (const m of line.slice(line.indexOf('{')).matchAll(/(\w+)="/g)) names.add(m[1]!);
    }
    const allowed = new Set(['tenant', 'source', 'code', 'severity', 'table', 'kind', 'topic', 'group', 'partition', 'method', 'route', 'status', 'le',
      // prom-client's process metrics
      'version', 'major', 'minor', 'patch', 'space', 'kind', 'type', 'quantile']);
    for (const n of names) assert.ok(allowed.has(n), `unexpected label ${n}`);
  });

  it('the metrics port answers GET /metrics without a token, and nothing else', async () => {
    const url = platform.metrics!.url;
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const r = await fetch(url);
    assert.equal(r.status, 200);
    const s = parseMetrics(await r.text());
    assert.ok(total(s, 'dronewatch_reports_accepted_total') >= 3);
    assert.equal((await fetch(url.replace('/metrics', '/v1/alerts'))).status, 404);
  });
});

describe('who reads /metrics on the API port', { timeout: 60_000 }, () => {
  const tmp = tempDir('dw-metrics-auth-');
  let platform: Platform;
  const tokens: Record<string, string> = {};
  before(async () => {
    platform = await Platform.open(validateConfig({ dataDir: tmp.dir, http: { port: 0, host: '127.0.0.1' }, dashboard: { enabled: false } }), { scrypt: FAST });
    await platform.start({ http: 'ingest' });
    const sec = platform.security!;
    await sec.createTenant('lyon');
    for (const [name, tenant, role] of [['prom', 'default', 'metrics'], ['officer1', 'default', 'officer'], ['admin2', 'default', 'admin'], ['promlyon', 'lyon', 'metrics']] as const) {
      await sec.createUser({ tenant, username: name, roles: [role], password: 'correct horse battery staple' });
      tokens[name] = (await sec.createApiToken(name, 'scrape')).token;
    }
  });
  after(async () => {
    await platform.stop();
    tmp.cleanup();
  });

  it('401 without a token, 403 without metrics:read; the metrics role and admins read it; failures are counted', async () => {
    const base = (await scrape(platform, { authorization: `Bearer ${tokens.prom}` })).samples;
    assert.equal((await scrape(platform)).status, 401);
    assert.equal((await scrape(platform, { authorization: `Bearer ${tokens.officer1}` })).status, 403);
    assert.equal((await scrape(platform, { authorization: 'Bearer dw_nope' })).status, 401);
    assert.equal((await scrape(platform, { authorization: `Bearer ${tokens.admin2}` })).status, 200);
    const login = await platform.server!.inject({ method: 'POST', url: '/v1/auth/login', payload: { username: 'officer1', password: 'wrong' } });
    assert.equal(login.statusCode, 401);
    const now = await scrape(platform, { authorization: `Bearer ${tokens.prom}` });
    assert.equal(now.status, 200);
    const d = (labels: Record<string, string>): number => total(now.samples, 'dronewatch_auth_failures_total', labels) - total(base, 'dronewatch_auth_failures_total', labels);
    assert.equal(d({ code: 'DW_AUTH_REQUIRED', tenant: '' }), 3, 'no token, a bad token, a failed login');
    assert.equal(d({ code: 'DW_AUTH_FORBIDDEN', tenant: 'default' }), 1);
  });

  it("a scraper of another tenant reads its own tenant's series and the shared ones, not the deployment's", async () => {
    // A refusal of a lyon principal, so that lyon has a series of its own.
    await platform.server!.inject({ method: 'POST', url: '/v1/reports', headers: { authorization: `Bearer ${tokens.promlyon}` }, payload: {} });
    const all = await scrape(platform, { authorization: `Bearer ${tokens.prom}` });
    const lyon = await scrape(platform, { authorization: `Bearer ${tokens.promlyon}` });
    assert.equal(lyon.status, 200);
    const tenants = (s: Samples): Set<string> => new Set([...s.keys()].flatMap((k) => [...k.matchAll(/tenant="([^"]*)"/g)].map((m) => m[1]!)));
    assert.ok(tenants(all.samples).has('default') && tenants(all.samples).has('lyon'), [...tenants(all.samples)].join());
    assert.deepEqual([...tenants(lyon.samples)], ['lyon']);
    assert.ok(lyon.samples.has('process_cpu_user_seconds_total'), 'process metrics are shared');
  });
});

describe('stream lag when the stream stops answering', { timeout: 60_000 }, () => {
  it('dronewatch_stream_up turns 0 and the scrape still answers', async () => {
    const { platform, cleanup } = await startTestPlatform({ http: 'ingest' });
    try {
      assert.equal(total((await scrape(platform)).samples, 'dronewatch_stream_up'), 1);
      await platform.stream.close();
      const s = await scrape(platform);
      assert.equal(s.status, 200);
      assert.equal(total(s.samples, 'dronewatch_stream_up'), 0);
    } finally {
      await cleanup().catch(() => undefined);
    }
  });
});
