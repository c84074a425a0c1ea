/**
 * Distributed mode under failures (issue 4), on real nats-server processes:
 *  - the stream leader of a 3-node JetStream cluster (replicas 3) killed -9 while reports are ingested: ingestion and
 *    alerting go on; every acknowledged report is in the lake exactly once and every expected alert raised once;
 *  - one of two `dronewatch alerts` processes killed -9 under load: the other takes over, each expected alert is
 *    raised exactly once on the `alerts` topic;
 *  - one of two `dronewatch archive` processes killed -9 under load: the lake holds every report exactly once.
 * Expected alerts are computed from the reports sent (test/alerts/expected.ts), not read from a store.
 * Skipped without nats-server >= 2.10 (fails with CI=true).
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { validateConfig } from '../../src/config/index.ts';
import { isDwError } from '../../src/errors/index.ts';
import type { AcceptedReport, Report } from '../../src/contract/index.ts';
import { Platform } from '../../src/runtime/platform.ts';
import { natsServerOrSkip, startNatsServer, tempDir, type NatsTestServer } from '../../src/testkit/index.ts';
import { expectedAlerts, generateReports } from '../alerts/expected.ts';
import { lakeCounts, raisedPerAlert, startService, waitUntil, type Service } from './helpers.ts';
import { NatsStream } from '../../src/backend/index.ts';

const skip = natsServerOrSkip();
const THRESHOLD = 20;
const DEDUP_WINDOW_MS = 10 * 60_000;

/** `count` reports of `drones` drones, 20 s apart per drone, ending a few minutes ago; ~8% of sightings alert. */
function workload(count: number, drones: number, seed: number): { reports: AcceptedReport[]; bodies: Report[]; expected: Set<string> } {
  const stepMs = 20_000;
  const start = Date.now() - 5 * 60_000 - Math.ceil(count / drones) * stepMs;
  const reports = generateReports({ count, drones, stepMs, alertRate: 0.08, seed, start });
  const bodies = reports.map(({ droneId, timestamp, position, citizens, words }) => ({ droneId, timestamp, position, citizens, words }));
  return { reports, bodies, expected: new Set(expectedAlerts(reports, THRESHOLD, DEDUP_WINDOW_MS).keys()) };
}

/**
 * Ingests `bodies` in batches of one report per drone (so a drone's reports stay in order even when a batch is
 * retried), as a drone would: a batch that fails is sent again (report ids make the retry idempotent).
 * `onProgress(sent)` runs after each acknowledged batch. Returns the acknowledged report ids.
 */
async function ingestAll(platform: Platform, bodies: readonly Report[], perBatch: number, onProgress: (sent: number) => Promise<void>): Promise<{ acked: Set<string>; retries: number }> {
  const acked = new Set<string>();
  let retries = 0;
  for (let i = 0; i < bodies.length; i += perBatch) {
    const batch = bodies.slice(i, i + perBatch);
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await platform.ingestor.ingestReports(batch, 'failures-test');
        assert.equal(res.rejected.length, 0, `batch ${i / perBatch} rejected: ${JSON.stringify(res.rejected).slice(0, 300)}`);
        for (const a of res.accepted) acked.add(a.reportId);
        break;
      } catch (e) {
        if (attempt >= 5 || e instanceof assert.AssertionError) throw e;
        retries++;
        await sleep(500);
      }
    }
    await onProgress(i + batch.length);
  }
  return { acked, retries };
}

function assertExactlyOnce(raised: Map<string, number>, expected: Set<string>): void {
  const missing = [...expected].filter((k) => !raised.has(k));
  const extra = [...raised.keys()].filter((k) => !expected.has(k));
  const repeated = [...raised].filter(([, n]) => n > 1).map(([k, n]) => `${k} x${n}`);
  assert.deepEqual({ missing: missing.slice(0, 10), extra: extra.slice(0, 10), repeated: repeated.slice(0, 10) }, { missing: [], extra: [], repeated: [] },
    `each expected alert raised exactly once (${expected.size} expected, ${raised.size} raised; ${missing.length} missing, ${extra.length} unexpected, ${repeated.length} repeated)`);
}

describe('distributed mode: failures', { skip, timeout: 360_000 }, () => {
  const servers: NatsTestServer[] = [];
  const services: Service[] = [];
  const cleanups: (() => Promise<void> | void)[] = [];
  after(async () => {
    await Promise.all(services.map((s) => s.stop()));
    for (const c of cleanups.reverse()) await c();
    for (const s of servers) await s.stop();
  });

  it('3-node cluster, replicas 3: kill -9 of the stream leader during ingestion loses and duplicates nothing', { timeout: 180_000 }, async (t) => {
    const cluster = await startNatsServer({ nodes: 3 });
    servers.push(cluster);
    const tmp = tempDir('dw-fail-cluster-');
    cleanups.push(() => tmp.cleanup());
    const config = validateConfig({
      dataDir: tmp.dir,
      stream: { url: cluster.url, replicas: 3 },
      archive: { maxBatchAgeMs: 300 },
    });
    const platform = await Platform.open(config);
    cleanups.push(() => platform.stop());
    await platform.start({ alerts: true, archive: true });

    const nc = await connect({ servers: cluster.url.split(',') });
    cleanups.push(() => nc.close());
    const jsm = await jetstreamManager(nc, { timeout: 10_000 });
    const info = await jsm.streams.info('REPORTS');
    assert.equal(info.config.num_replicas, 3, 'REPORTS has 3 replicas');
    const leader = cluster.nodes.find((n) => n.name === info.cluster?.leader);
    assert.ok(leader, `the stream leader ${info.cluster?.leader} is one of the nodes`);

    const { bodies, expected } = workload(900, 30, 41);
    assert.ok(expected.size > 20, `the workload raises alerts (${expected.size})`);
    let killedAt = -1;
    const t0 = Date.now();
    const { acked, retries } = await ingestAll(platform, bodies, 30, async (sent) => {
      if (killedAt < 0 && sent >= bodies.length / 3) {
        killedAt = Date.now() - t0;
        await leader.kill('SIGKILL');
      }
    });
    t.diagnostic(`${expected.size} alerts expected; ingested ${acked.size} reports in ${Date.now() - t0} ms, leader ${leader.name} killed after ${killedAt} ms, ${retries} batch retries`);
    assert.equal(acked.size, bodies.length, 'every report was acknowledged in the end');
    const newLeader = (await jsm.streams.info('REPORTS')).cluster?.leader;
    assert.ok(newLeader && newLeader !== leader.name, `a new stream leader took over (${newLeader})`);

    const lake = path.join(tmp.dir, 'lake');
    await waitUntil(`${acked.size} reports in the lake`, async () => (await lakeCounts(lake)).ids >= acked.size, 40_000);
    // Right after the failover, a read (an ephemeral consumer created through the JetStream API) can time out until
    // the cluster's meta layer has settled: that is "not yet", not a failure; loss and duplicates are checked below.
    const readRaised = (stream: Parameters<typeof raisedPerAlert>[0]): Promise<Map<string, number> | undefined> => raisedPerAlert(stream).catch((e: unknown) => {
      if (isDwError(e) && e.code === 'DW_STREAM_UNAVAILABLE') return undefined;
      throw e;
    });
    await waitUntil(`${expected.size} alerts raised`, async () => {
      const raised = await readRaised(platform.stream);
      return raised !== undefined && [...expected].every((k) => raised.has(k));
    }, 60_000);
    await platform.stop();
    assert.deepEqual(await lakeCounts(lake), { n: acked.size, ids: acked.size }, 'every acknowledged report is in the lake exactly once');
    const observer = await NatsStream.connect({ servers: cluster.url });
    try {
      // The same for the final read, by a new connection (a CI run timed out there once, at load 4): retried until it
      // answers, then checked once.
      let raised: Map<string, number> | undefined;
      await waitUntil('the alerts topic readable after the failover', async () => (raised = await readRaised(observer)) !== undefined, 60_000);
      assertExactlyOnce(raised!, expected);
    } finally {
      await observer.close();
    }
  });

  /** A single node, the ingestion Platform in this process and two worker processes of one kind; kills one of them. */
  async function killOneWorker(kind: 'alerts' | 'archive', t: { diagnostic: (m: string) => void }): Promise<{ acked: Set<string>; expected: Set<string>; lake: string; url: string; workers: Service[] }> {
    const server = await startNatsServer();
    servers.push(server);
    const tmp = tempDir(`dw-fail-${kind}-`);
    cleanups.push(() => tmp.cleanup());
    const lake = path.join(tmp.dir, 'lake');
    const ingest = await Platform.open(validateConfig({ dataDir: path.join(tmp.dir, 'ingest'), stream: { url: server.url } }));
    cleanups.push(() => ingest.stop());
    const ready = kind === 'alerts' ? /alert consumer running/ : /archive consumer running/;
    const env = { DRONEWATCH_ARCHIVE__MAX_BATCH_AGE_MS: '300' };
    const args = (name: string): string[] => ['--stream', server.url, '--data', path.join(tmp.dir, name), '--lake', lake, kind];
    const [a, b] = await Promise.all(['a', 'b'].map(async (x) => {
      const s = await startService(`${kind}-${x}`, args(`${kind}-${x}`), ready, env);
      services.push(s);
      return s;
    }));
    const { bodies, expected } = workload(2400, 40, kind === 'alerts' ? 43 : 47);
    assert.ok(expected.size > 20, `the workload raises alerts (${expected.size})`);
    let killed = false;
    const t0 = Date.now();
    const { acked } = await ingestAll(ingest, bodies, 40, async (sent) => {
      // Paced like live traffic (~2,000 reports/s at most): the kill lands while both workers are busy.
      await sleep(15);
      if (!killed && sent >= bodies.length / 3) {
        killed = true;
        a!.child.proc.kill('SIGKILL');
      }
    });
    const exit = await a!.child.exited;
    assert.equal(exit.signal, 'SIGKILL', `${kind}-a was killed -9`);
    t.diagnostic(`${expected.size} alerts expected; ingested ${acked.size} reports in ${Date.now() - t0} ms; ${kind}-a killed after a third`);
    assert.equal(acked.size, bodies.length, 'every report acknowledged');
    return { acked, expected, lake, url: server.url, workers: [a!, b!] };
  }

  it('kill -9 of one of two `dronewatch alerts` workers under load: every expected alert raised exactly once', { timeout: 90_000 }, async (t) => {
    const { expected, url, workers } = await killOneWorker('alerts', t);
    const observer = await NatsStream.connect({ servers: url });
    cleanups.push(() => observer.close());
    await waitUntil(`the surviving worker to raise all ${expected.size} expected alerts`, async () => {
      const raised = await raisedPerAlert(observer);
      return [...expected].every((k) => raised.has(k));
    }, 45_000);
    // Let a late duplicate (a redelivered batch) show up before counting.
    await sleep(1000);
    assertExactlyOnce(await raisedPerAlert(observer), expected);
    assert.equal(await workers[1]!.stop(), 0, 'the surviving worker exits with 0 after SIGINT');
  });

  it('kill -9 of one of two `dronewatch archive` workers under load: the lake holds every report exactly once', { timeout: 90_000 }, async (t) => {
    const { acked, lake, workers } = await killOneWorker('archive', t);
    await waitUntil(`all ${acked.size} reports in the lake`, async () => (await lakeCounts(lake)).ids >= acked.size, 45_000);
    // The survivor flushes and commits on SIGINT; a row written twice would show now.
    assert.equal(await workers[1]!.stop(), 0, 'the surviving worker exits with 0 after SIGINT');
    assert.deepEqual(await lakeCounts(lake), { n: acked.size, ids: acked.size }, 'every acknowledged report in the lake exactly once');
  });
});
