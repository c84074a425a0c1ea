/**
 * Distributed mode end to end: a real nats-server and the platform as separate `dronewatch` processes, as an operator
 * runs them (docs/ARCHITECTURE.md, "Distributed mode"): one `ingest` (HTTP), two `alerts` workers sharing the
 * partitions, one `archive`. Every low-score report must raise exactly one alert, every accepted report must be in
 * the lake exactly once, rejected ones must be dead letters. Skipped without nats-server >= 2.10 (fails with CI=true).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import type { AlertEvent } from '../../src/alerts/index.ts';
import { listDeadLetters } from '../../src/ingest/index.ts';
import { openLakeQuery } from '../../src/lake/index.ts';
import { TOPICS } from '../../src/stream/index.ts';
import { natsServerOrSkip, spawnTsx } from '../../src/testkit/index.ts';
import { BIN, killChild, makeReports, startService, ProcessHarness, waitUntil, type Service } from './helpers.ts';
import { runCli } from '../cli/helpers.ts';
import { connectKvAlertState, KvAlertState, NatsStream } from '../../src/backend/index.ts';

/** A credential printed once by the security CLI (`drones register`, `users token create`), run on a process's data dir. */
async function credential(args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  const r = await runCli(args, { env });
  assert.equal(r.code, 0, `dronewatch ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

const skip = natsServerOrSkip();

async function lakeCounts(lake: string): Promise<{ n: number; ids: number }> {
  const q = await openLakeQuery(lake, { tenant: 'default' });
  try {
    const r = await q.run('SELECT count(*) AS n, count(DISTINCT report_id) AS ids FROM reports');
    const row = r.rows[0] ?? [0, 0];
    return { n: Number(row[0]), ids: Number(row[1]) };
  } finally {
    await q.close();
  }
}

describe('distributed mode: ingest, 2 alert workers and archive as separate processes on NATS', { skip, timeout: 180_000 }, () => {
  const h = new ProcessHarness('dw-distributed-');
  let observer: NatsStream | undefined;

  before(() => h.open());
  after(async () => {
    await observer?.close();
    await h.close();
  });
  const dir = (name: string): string[] => h.dir(name);
  const start = (...a: Parameters<typeof startService>): Promise<Service> => h.start(...a);
  const tmp = h.tmp;

  it('each low-score report raises exactly one alert; the lake holds every report exactly once', async () => {
    const url = h.nats.url;
    // All started at once, as an operator would: each process creates the topics it needs if missing (idempotent).
    const [ingest, alertsA, alertsB, archive] = await Promise.all([
      start('ingest', [...dir('ingest'), 'ingest', '--port', '0'], /listening on http:\/\//),
      start('alerts-a', [...dir('alerts-a'), 'alerts'], /alert consumer running/),
      start('alerts-b', [...dir('alerts-b'), 'alerts'], /alert consumer running/),
      start('archive', [...dir('archive'), 'archive'], /archive consumer running/, { DRONEWATCH_ARCHIVE__MAX_BATCH_AGE_MS: '300' }),
    ]);
    const base = /listening on (http:\/\/\S+)/.exec(ingest!.banner)?.[1];
    assert.ok(base, `ingest banner names its address: ${ingest!.banner}`);
    // Security is on: reports come through a gateway credential issued by the CLI, on any host that reaches NATS
    // (the credentials are in JetStream KV: security.store auto on a nats:// stream).
    const gateway = await credential(['drones', 'register', '--gateway', '--tenant', 'default', ...dir('cli')]);
    const unauthenticated = await fetch(`${base}/v1/reports`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[]' });
    assert.equal(unauthenticated.status, 401, 'no credential, no ingestion');
    await unauthenticated.body?.cancel();

    // 40 drones x 10 reports: keys spread over the 8 partitions, so both alert workers get some.
    const { reports, low } = makeReports({ drones: 40, perDrone: 10, lowEvery: 9, prefix: 'dist' });
    for (let i = 0; i < reports.length; i += 50) {
      const res: Response = await fetch(`${base}/v1/reports`, {
        method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${gateway}` }, body: JSON.stringify(reports.slice(i, i + 50)),
      });
      const body = (await res.json()) as { accepted?: unknown[]; rejected?: unknown[] };
      assert.equal(res.status, 202, `POST of batch ${i / 50}: ${JSON.stringify(body).slice(0, 300)}`);
      assert.equal(body.accepted?.length, Math.min(50, reports.length - i), `every report of batch ${i / 50} accepted`);
    }
    const bad = await fetch(`${base}/v1/reports`, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${gateway}` },
      body: JSON.stringify({ ...reports[0], droneId: 'dist-bad', citizens: [{ name: 'X', score: 140 }] }),
    });
    assert.equal(bad.status, 400, 'an invalid report is refused');
    await bad.body?.cancel();

    observer = await NatsStream.connect({ servers: url });
    const raisedEvents = async (): Promise<AlertEvent[]> => {
      const recs = await observer!.read(TOPICS.alerts, { limit: 100_000 });
      return recs.map((r) => JSON.parse(Buffer.from(r.value).toString('utf8')) as AlertEvent).filter((e) => e.type === 'raised');
    };
    await waitUntil(`${low.size} alerts raised`, async () => (await raisedEvents()).length >= low.size, 30_000);
    await waitUntil(`${reports.length} reports in the lake`, async () => (await lakeCounts(path.join(tmp.dir, 'archive', 'lake'))).n >= reports.length, 30_000);

    // Stop cleanly (consumers flush and commit) before the final counts.
    const codes = await h.stopAll();
    for (const [name, code] of codes) assert.equal(code, 0, `${name} exits with 0 after SIGINT`);

    const raised = await raisedEvents();
    const perReport = new Map<string, number>();
    for (const e of raised) perReport.set(e.alert.firstReportId, (perReport.get(e.alert.firstReportId) ?? 0) + 1);
    assert.deepEqual([...perReport.keys()].sort(), [...low].sort(), 'alerts were raised for exactly the low-score reports');
    for (const [id, n] of perReport) assert.equal(n, 1, `report ${id} raised ${n} alerts`);

    // The two workers share the alert state (alerts.state auto = JetStream KV on NATS): it holds every alert once.
    const state = await connectKvAlertState({ servers: [url] });
    try {
      const ids = state.list({ limit: 10_000 }).map((a) => a.firstReportId);
      assert.deepEqual(ids.sort(), [...low].sort(), 'the shared alert state holds each alert once');
    } finally {
      await state.close();
    }

    const lake = await lakeCounts(path.join(tmp.dir, 'archive', 'lake'));
    assert.deepEqual(lake, { n: reports.length, ids: reports.length }, 'every report in the lake exactly once');

    const letters = await listDeadLetters(observer, { limit: 100 });
    assert.equal(letters.length, 1, `one dead letter: ${letters.map((l) => l.reason).join('; ')}`);
    assert.match(letters[0]!.reason, /score/, 'the dead letter says why');
  });

  it('serve and simulate on NATS, in a tenant of their own', async () => {
    const env = { DRONEWATCH_TENANT: 'sim' };
    const serve = await start('serve', [...dir('serve'), 'serve', '--port', '0'], /listening on http:\/\//, env);
    const base = /listening on (http:\/\/\S+)/.exec(serve.banner)?.[1];
    assert.ok(base, `serve banner names its address: ${serve.banner}`);
    // Backfill: 5 drones, one report a minute each, for 0.01 day (~14 minutes).
    const sim = spawnTsx(BIN, [...dir('sim'), 'simulate', '--drones', '5', '--from', '2026-11-01T08:00:00Z', '--days', '0.01', '--seed', '7'], {
      env: { ...process.env, DRONEWATCH_LOG_LEVEL: 'warn', ...env },
    });
    const exit = await Promise.race([sim.exited, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('simulate did not end within 30 s')), 30_000).unref())])
      .catch(async (e: unknown) => { await killChild(sim); throw e; });
    assert.equal(exit.code, 0, `simulate exits with 0; stdout:\n${sim.lines.join('\n')}`);

    const inTenant = await NatsStream.connect({ servers: h.nats.url, tenant: 'sim' });
    try {
      const values = (await inTenant.read(TOPICS.reports, { limit: 10_000 })).map((r) => JSON.parse(Buffer.from(r.value).toString('utf8')) as { droneId: string; tenant: string });
      assert.ok(values.length >= 5 * 14, `the simulator's reports are in tenant sim (${values.length})`);
      assert.equal(new Set(values.map((v) => v.droneId)).size, 5, 'from 5 drones');
      assert.ok(values.every((v) => v.tenant === 'sim'), 'stamped with tenant sim');
    } finally {
      await inTenant.close();
    }
    observer ??= await NatsStream.connect({ servers: h.nats.url });
    const other = (await observer.read(TOPICS.reports, { limit: 10_000 })).filter((r) => /"tenant":"sim"/.test(Buffer.from(r.value).toString('utf8')));
    assert.equal(other.length, 0, 'tenant default does not see tenant sim');

    // The API process follows the same tenant's reports live (the dashboard's fleet view), for that tenant's officers.
    const data = dir('cli-host');
    await credential(['users', 'create', 'sim-officer', '--tenant', 'sim', '--role', 'officer', ...data], env);
    const token = await credential(['users', 'token', 'create', 'sim-officer', '--name', 'test', ...data], env);
    await waitUntil('serve to track the 5 simulated drones', async () => {
      const res = await fetch(`${base}/v1/fleet`, { headers: { authorization: `Bearer ${token}` } });
      const body = (await res.json()) as { drones?: unknown[] };
      return res.status === 200 && body.drones?.length === 5;
    }, 20_000);
  });
});
