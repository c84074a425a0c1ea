/**
 * Distributed mode on Kafka, end to end, with the platform as an operator runs it: each component its own `dronewatch`
 * process with `--stream kafka://<broker>` and its own data directory, nothing shared but Kafka and the lake
 * (docs/ARCHITECTURE.md, "Distributed mode"). One Kafka node started once for the file.
 *
 *  - `serve`, `alerts`, `archive` and `simulate --target` (HTTP ingestion through `serve`): the lake holds exactly the
 *    simulated reports, once each; each alert the reports call for (computed here from the same simulation,
 *    test/alerts/expected.ts) is raised once on the `alerts` topic and listed once by the API of `serve` and by
 *    `dronewatch alerts list`; the rejected report is listed by `dronewatch dead-letters`; `dronewatch stream groups`
 *    shows the groups caught up.
 *  - two `alerts` and two `archive` workers sharing the partitions, one of each killed -9 while reports come in over
 *    HTTP: the survivors take over; each expected alert exactly once, each report in the lake exactly once.
 *
 * Skipped with the install hint without the Kafka jars and Java >= 17 (a failure with CI=true).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { validateConfig } from '../../src/config/index.ts';
import type { AcceptedReport, Report } from '../../src/contract/index.ts';
import { runSimulator } from '../../src/simulator/index.ts';
import { kafkaOrSkip, spawnTsx } from '../../src/testkit/index.ts';
import { expectedAlerts, generateReports } from '../alerts/expected.ts';
import { createUser, firstAdmin, login, registerDrone } from '../cli/auth-helpers.ts';
import { runCli } from '../cli/helpers.ts';
import { BIN } from './helpers.ts';
import { assertEachOnce, KafkaHarness, KafkaInspector, killChild, lakeReports, postUntilAccepted, raisedPerAlert, waitUntil } from './kafka-helpers.ts';

const skip = kafkaOrSkip();
const DEFAULTS = validateConfig({});
const THRESHOLD = DEFAULTS.alerts.threshold;
const WINDOW_MS = DEFAULTS.alerts.dedupWindowMs;
const FAST_ARCHIVE = { DRONEWATCH_ARCHIVE__MAX_BATCH_AGE_MS: '300' };

/** What `dronewatch simulate` sends for these options: the simulator is deterministic (same seed, same reports). */
async function simulated(o: { drones: number; seed: number; from: string; days: number }): Promise<AcceptedReport[]> {
  const out: Report[] = [];
  const s = DEFAULTS.simulator;
  await runSimulator({ drones: o.drones, seed: o.seed, bbox: s.bbox, mode: 'backfill', from: new Date(o.from), days: o.days, sink: async (b) => { out.push(...b); } });
  return out
    .map((r) => ({ ...r, reportId: `${r.droneId}:${Date.parse(r.timestamp)}`, ts: Date.parse(r.timestamp), receivedAt: 0, tenant: 'default' }))
    .sort((a, b) => a.ts - b.ts);
}

/** JSON rows printed by a CLI command (`--format json`), which must succeed. */
async function cliJson<T>(args: string[], env: NodeJS.ProcessEnv = {}): Promise<T> {
  const r = await runCli([...args, '--format', 'json'], { env: { DRONEWATCH_LOG_LEVEL: 'warn', ...env } });
  assert.equal(r.code, 0, `dronewatch ${args.join(' ')}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

describe('distributed mode on Kafka: one process per component', { skip, timeout: 600_000 }, () => {
  const h = new KafkaHarness('dw-kafka-processes-');
  let inspector: KafkaInspector | undefined;
  before(async () => {
    await h.open({ nodes: 1 });
    inspector = new KafkaInspector(h.kafka.bootstrap);
  });
  after(async () => {
    await inspector?.close();
    await h.close();
  });

  it('serve, alerts, archive and simulate --target: every report in the lake once, each alert raised once; alerts list, dead-letters and stream groups on Kafka', { timeout: 150_000 }, async (t) => {
    const lake = h.path('lake');
    const t0 = Date.now();
    // All at once, as an operator would: each process creates the topics it needs if missing (idempotent).
    const [serve] = await Promise.all([
      h.start('serve', [...h.dir('serve', lake), 'serve', '--port', '0'], /listening on http:\/\//),
      h.start('alerts', [...h.dir('alerts'), 'alerts'], /alert consumer running/),
      h.start('archive', [...h.dir('archive', lake), 'archive'], /archive consumer running/, FAST_ARCHIVE),
    ]);
    const base = /listening on (http:\/\/\S+)/.exec(serve.banner)?.[1];
    assert.ok(base, `serve banner names its address: ${serve.banner}`);
    // The first start of the deployment's credential store (a log bucket on Kafka) creates the administrator.
    const admin = await login(base, ...Object.values(firstAdmin(serve.child.lines.join('\n'))) as [string, string]);
    const gateway = await registerDrone(base, admin, '*');
    const officer = await login(base, 'officer-k', await createUser(base, admin, 'officer-k', 'officer'));
    const unauthenticated = await fetch(`${base}/v1/reports`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[]' });
    assert.equal(unauthenticated.status, 401, 'no credential, no ingestion');
    await unauthenticated.body?.cancel();
    t.diagnostic(`serve, alerts, archive up and security bootstrapped in ${Date.now() - t0} ms`);

    // The producer: the simulator as a gateway posting to serve. 20 drones, one report a minute each, for 2 hours.
    const sim = { drones: 20, seed: 5, from: '2026-11-01T08:00:00Z', days: 2 / 24 };
    const simProc = spawnTsx(BIN, [...h.dir('sim'), 'simulate', '--target', base, '--token', gateway, '--drones', String(sim.drones), '--seed', String(sim.seed), '--from', sim.from, '--days', String(sim.days)], {
      env: { ...process.env, DRONEWATCH_LOG_LEVEL: 'warn' },
    });
    const reports = await simulated(sim);
    const expected = expectedAlerts(reports, THRESHOLD, WINDOW_MS);
    assert.ok(expected.size >= 10, `the simulated reports call for alerts (${expected.size})`);
    const exit = await Promise.race([simProc.exited, sleep(60_000).then(() => { throw new Error('simulate did not end within 60 s'); })])
      .catch(async (e: unknown) => { await killChild(simProc); throw e; });
    assert.equal(exit.code, 0, `simulate exits with 0; stdout:\n${simProc.lines.join('\n')}`);
    assert.ok(simProc.lines.some((l) => l.startsWith(`sent ${reports.length} reports to ${base}`)), `simulate sent the ${reports.length} reports computed here: ${simProc.lines.join('\n')}`);

    const bad = await fetch(`${base}/v1/reports`, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${gateway}` },
      body: JSON.stringify({ droneId: 'kafka-bad', timestamp: reports[0]!.timestamp, position: { lat: 95, lon: 2 }, citizens: [], words: [] }),
    });
    assert.equal(bad.status, 400, 'an invalid report is refused');
    await bad.body?.cancel();

    const observer = await h.observer();
    await waitUntil(`${expected.size} alerts raised on the alerts topic`, async () => covers(await raisedPerAlert(observer), expected.keys()), 40_000);
    await waitUntil(`${reports.length} reports in the lake`, async () => (await lakeReports(lake, 'default')).distinct >= reports.length, 40_000);
    // serve holds the alert state it answers from (a copy of the shared bucket, followed live): every alert, once.
    const listed = async (): Promise<{ alertId: string; firstReportId: string; citizen: string }[]> => {
      const res = await fetch(`${base}/v1/alerts?limit=10000`, { headers: officer.headers() });
      assert.equal(res.status, 200, await res.clone().text());
      return ((await res.json()) as { alerts: { alertId: string; firstReportId: string; citizen: string }[] }).alerts;
    };
    await waitUntil(`serve to list the ${expected.size} alerts`, async () => (await listed()).length >= expected.size, 20_000);
    // A late duplicate (a redelivered batch) would show by now.
    await sleep(1000);
    const fromApi = await listed();
    t.diagnostic(`${reports.length} reports, ${expected.size} alerts expected; all in the lake and raised ${Date.now() - t0} ms after the start`);

    const codes = await h.stop();
    for (const [name, code] of codes) assert.equal(code, 0, `${name} exits with 0 after SIGINT`);

    assertEachOnce(await raisedPerAlert(observer), new Set(expected.keys()), 'the alerts topic');
    assertEachOnce(countBy(fromApi, (a) => `${a.firstReportId}|${a.citizen}`), new Set(expected.keys()), 'GET /v1/alerts of serve');
    assert.equal(new Set(fromApi.map((a) => a.alertId)).size, fromApi.length, 'alert ids are unique');

    const inLake = await lakeReports(lake, 'default', { ids: true });
    assert.deepEqual({ n: inLake.n, distinct: inLake.distinct }, { n: reports.length, distinct: reports.length }, 'every report in the lake exactly once');
    assert.deepEqual(inLake.ids.sort(), reports.map((r) => r.reportId).sort(), 'the lake holds exactly the simulated reports');

    // The operator's commands against the same Kafka, from another host (a data directory of its own).
    const cli = h.dir('cli', lake);
    const [list, letters, groups] = await Promise.all([
      cliJson<{ alert_id: string; status: string }[]>(['alerts', 'list', '--limit', '1000', ...cli]),
      cliJson<{ reason: string; raw: string; source: string }[]>(['dead-letters', ...cli]),
      cliJson<{ topic: string; group: string; lag: number; partitions: number }[]>(['stream', 'groups', ...cli]),
    ]);
    assert.deepEqual(list.map((a) => a.alert_id).sort(), fromApi.map((a) => a.alertId).sort(), '`alerts list` shows the alerts serve listed');
    assert.ok(list.every((a) => a.status === 'open'));
    assert.equal(letters.length, 1, `one dead letter: ${JSON.stringify(letters)}`);
    assert.match(letters[0]!.reason, /position\.lat: must be <= 90/);
    assert.match(letters[0]!.raw, /"kafka-bad"/);
    assert.match(letters[0]!.source, /^http:/);
    const lagOf = (topic: string, group: string): number | undefined => groups.find((g) => g.topic === topic && g.group === group)?.lag;
    assert.deepEqual({ alerts: lagOf('reports', 'alerts'), archive: lagOf('reports', 'archive'), alertEvents: lagOf('alerts', 'archive') }, { alerts: 0, archive: 0, alertEvents: 0 },
      `the groups are listed, caught up: ${JSON.stringify(groups)}`);
    // serve's live fleet view and live alert feed read in transient groups, deleted when it left.
    assert.deepEqual(groups.filter((g) => !['alerts', 'archive'].includes(g.group)), [], 'no group left behind by a process that stopped');
  });

  it('two alerts and two archive workers, one of each killed -9 under load: each alert once, each report in the lake once', { timeout: 150_000 }, async (t) => {
    // A tenant of its own: its own topics, groups and alert state on the same Kafka.
    const tenant = 'failover';
    const env = { DRONEWATCH_TENANT: tenant, ...FAST_ARCHIVE };
    const lake = h.path('lake-failover');
    const t0 = Date.now();
    const [ingest, alertsA, , archiveA] = await Promise.all([
      h.start('ingest', [...h.dir('ingest', lake), 'ingest', '--port', '0'], /listening on http:\/\//, env),
      h.start('alerts-a', [...h.dir('alerts-a'), 'alerts'], /alert consumer running/, env),
      h.start('alerts-b', [...h.dir('alerts-b'), 'alerts'], /alert consumer running/, env),
      h.start('archive-a', [...h.dir('archive-a', lake), 'archive'], /archive consumer running/, env),
      h.start('archive-b', [...h.dir('archive-b', lake), 'archive'], /archive consumer running/, env),
    ]);
    const base = /listening on (http:\/\/\S+)/.exec(ingest.banner)?.[1];
    assert.ok(base, `ingest banner names its address: ${ingest.banner}`);
    const reg = await runCli(['drones', 'register', '--gateway', '--tenant', tenant, ...h.dir('cli-failover')], { env: { DRONEWATCH_LOG_LEVEL: 'warn' } });
    assert.equal(reg.code, 0, reg.stderr);
    const gateway = reg.stdout.trim();

    // Both workers of each kind share the partitions before the load starts (the group's assignment, from the broker).
    for (const group of ['alerts', 'archive']) {
      await waitUntil(`two members of ${group} with partitions each`, async () => {
        const members = await inspector!.members(`dw.${tenant}.reports.g.${group}`, `dw.${tenant}.reports`);
        return members.length === 2 && members.every((p) => p.length > 0);
      }, 30_000);
    }
    t.diagnostic(`5 processes up and sharing partitions in ${Date.now() - t0} ms`);

    // 40 drones, 20 s apart per drone; a batch holds one report of each drone, so a retried batch keeps each drone's order.
    const start = Date.now() - 10 * 60_000 - 60 * 20_000;
    const reports = generateReports({ count: 2400, drones: 40, stepMs: 20_000, alertRate: 0.08, seed: 61, start }).map((r) => ({ ...r, tenant }));
    const bodies: Report[] = reports.map(({ droneId, timestamp, position, citizens, words }) => ({ droneId, timestamp, position, citizens, words }));
    const expected = new Set(expectedAlerts(reports, THRESHOLD, WINDOW_MS).keys());
    assert.ok(expected.size > 20, `the workload raises alerts (${expected.size})`);

    let killedAt = -1;
    const t1 = Date.now();
    const client = await postUntilAccepted(base, gateway, bodies, {
      perBatch: 40,
      onBatch: async (sent) => {
        // Paced like live traffic: the kills land while both workers of each kind are busy.
        await sleep(20);
        if (killedAt < 0 && sent >= bodies.length / 3) {
          killedAt = Date.now() - t1;
          alertsA.child.proc.kill('SIGKILL');
          archiveA.child.proc.kill('SIGKILL');
        }
      },
    });
    assert.equal((await alertsA.child.exited).signal, 'SIGKILL', 'alerts-a was killed -9');
    assert.equal((await archiveA.child.exited).signal, 'SIGKILL', 'archive-a was killed -9');
    await h.stop([alertsA, archiveA]);
    assert.equal(client.acked.size, bodies.length, 'every report acknowledged');
    t.diagnostic(`${expected.size} alerts expected; ${client.acked.size} reports acknowledged in ${Date.now() - t1} ms, workers a killed after ${killedAt} ms, ${client.retries} retries`);

    const observer = await h.observer(tenant);
    await waitUntil(`the surviving alerts worker to raise all ${expected.size} alerts`, async () => covers(await raisedPerAlert(observer), expected), 60_000);
    await waitUntil(`all ${bodies.length} reports in the lake`, async () => (await lakeReports(lake, tenant)).distinct >= bodies.length, 60_000);
    t.diagnostic(`taken over and caught up ${Date.now() - t1} ms after the load started`);
    // The survivors flush and commit on SIGINT; a late duplicate (a redelivered batch) would show now.
    await sleep(1000);
    const codes = await h.stop();
    for (const [name, code] of codes) assert.equal(code, 0, `${name} exits with 0 after SIGINT`);

    assertEachOnce(await raisedPerAlert(observer), expected, 'the alerts topic');
    const inLake = await lakeReports(lake, tenant, { ids: true });
    assert.deepEqual({ n: inLake.n, distinct: inLake.distinct }, { n: bodies.length, distinct: bodies.length }, 'every report in the lake exactly once');
    assert.deepEqual(inLake.ids.sort(), [...client.acked].sort(), 'the lake holds exactly the acknowledged reports');
    // The shared alert state (a log bucket on Kafka) holds each alert once, as another host reads it.
    const state = await cliJson<{ alert_id: string }[]>(['alerts', 'list', '--limit', '10000', '--tenant', tenant, ...h.dir('cli-failover')], { DRONEWATCH_TENANT: tenant });
    assert.equal(state.length, expected.size, 'the alert state holds the expected alerts');
    assert.equal(new Set(state.map((a) => a.alert_id)).size, state.length, 'each once');
  });

  it('`dronewatch up --stream kafka://`: the whole platform in one process on Kafka, stopped cleanly with every report in the lake', { timeout: 120_000 }, async () => {
    const tenant = 'up';
    const up = await h.start('up', [...h.dir('up'), 'up', '--port', '0', '--drones', '200', '--speed', '60'], /^ {2}API (http:\/\/\S+)/,
      { DRONEWATCH_TENANT: tenant, DRONEWATCH_ARCHIVE__MAX_BATCH_AGE_MS: '500' });
    const banner = up.child.lines.join('\n');
    assert.match(banner, /dronewatch up: every component in this process, on the kafka backend, .* stream kafka:/, 'the banner names the backend');
    const base = /API (http:\/\/\S+)/.exec(up.banner)![1]!;
    await waitUntil('up to be ready (stream answering, groups caught up)', async () => (await fetch(`${base}/health/ready`)).status === 200, 30_000);
    // The live summary (a line every 10 s off a terminal): reports flow, alerts are raised, the lake fills.
    const summary = /reports (\d+) \| rejected (\d+) \| alerts (\d+) \(open \d+\) \| lake rows (\d+)/;
    await waitUntil('a summary with alerts and lake rows', () => up.child.lines.some((l) => {
      const m = summary.exec(l);
      return m !== null && Number(m[3]) > 0 && Number(m[4]) > 0;
    }), 60_000);
    const [stopped] = await h.stop([up]);
    const code = stopped?.[1];
    assert.equal(code, 0, `exit code 0 after SIGINT; output:\n${up.child.lines.join('\n')}`);
    const last = up.child.lines.map((l) => summary.exec(l)).filter((m) => m !== null).at(-1)!;
    const ingested = Number(last[1]);
    assert.ok(ingested > 0 && last[2] === '0', `reports ingested, none rejected: ${last[0]}`);
    // Stop flushed every buffered report: the lake holds exactly what was ingested, once each.
    const inLake = await lakeReports(h.path('up', 'lake'), tenant);
    assert.deepEqual({ n: inLake.n, distinct: inLake.distinct }, { n: ingested, distinct: ingested });
  });
});

function covers(raised: Map<string, number>, expected: Iterable<string>): boolean {
  for (const k of expected) if (!raised.has(k)) return false;
  return true;
}

function countBy<T>(items: readonly T[], key: (x: T) => string): Map<string, number> {
  const out = new Map<string, number>();
  for (const x of items) out.set(key(x), (out.get(key(x)) ?? 0) + 1);
  return out;
}
