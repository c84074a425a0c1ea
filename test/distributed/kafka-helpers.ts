/**
 * Real-process tests on Kafka: a test Kafka (one node or three, started once per file) and the `dronewatch`
 * processes a test starts on it with `--stream kafka://<bootstrap>`, each with its own data directory; an HTTP drone
 * client that resends a batch until it gets its 202; what the lake and the `alerts` topic hold.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Admin, FindCoordinatorKeyTypes, type ClusterMetadata, type FindCoordinatorResult, type Group } from '@platformatic/kafka';
import type { Report } from '../../src/contract/index.ts';
import { KafkaStream } from '../../src/backend/index.ts';
import { openLakeQuery } from '../../src/lake/index.ts';
import { spawnTsx, startKafka, tempDir, waitUntil, type KafkaTestCluster, type StartKafkaOptions } from '../../src/testkit/index.ts';
import { BIN, type Service } from './helpers.ts';

export { raisedPerAlert, waitUntil, killChild, type Service } from './helpers.ts';

/**
 * One test Kafka and the processes of a test file: `open()` in before(), `close()` in after() stops every process still
 * running (even when a test failed half-way), closes the observers, stops Kafka and removes the temp dir.
 */
export class KafkaHarness {
  readonly tmp: ReturnType<typeof tempDir>;
  readonly services: Service[] = [];
  private readonly observers: KafkaStream[] = [];
  private cluster: KafkaTestCluster | undefined;

  constructor(prefix: string) {
    this.tmp = tempDir(prefix);
  }

  async open(opts: StartKafkaOptions = {}): Promise<KafkaTestCluster> {
    this.cluster = await startKafka(opts);
    return this.cluster;
  }

  get kafka(): KafkaTestCluster {
    if (!this.cluster) throw new Error('KafkaHarness: open() first');
    return this.cluster;
  }

  /** `kafka://<every node>`: what an operator gives every process (`--stream`). */
  get url(): string {
    return `kafka://${this.kafka.bootstrap}`;
  }

  path(...parts: string[]): string {
    return path.join(this.tmp.dir, ...parts);
  }

  /** `--stream <kafka> --data <a data dir of its own>` for a process named `name`; `--lake` when given. */
  dir(name: string, lake?: string): string[] {
    return ['--stream', this.url, '--data', this.path(name), ...(lake ? ['--lake', lake] : [])];
  }

  /**
   * `dronewatch <args>` started and awaited until a stdout line matches `ready`, registered at once so that close()
   * stops it. Up to 60 s: on a loaded 2-core machine, five processes starting together each take a while to load.
   */
  async start(name: string, args: string[], ready: RegExp, env: NodeJS.ProcessEnv = {}): Promise<Service> {
    const child = spawnTsx(BIN, args, { env: { ...process.env, DRONEWATCH_LOG_LEVEL: 'warn', ...env } });
    const service: Service = {
      name, child, banner: '',
      stop: async () => {
        if (child.proc.exitCode === null && child.proc.signalCode === null) child.proc.kill('SIGINT');
        const timer = setTimeout(() => child.proc.kill('SIGKILL'), 20_000);
        const { code } = await child.exited;
        clearTimeout(timer);
        return code;
      },
    };
    this.services.push(service);
    await waitUntil(`${name} to print ${ready}`, () => {
      if (child.proc.exitCode !== null) throw new Error(`${name} exited with code ${child.proc.exitCode} before it was ready; stdout:\n${child.lines.join('\n')}`);
      service.banner = child.lines.find((l) => ready.test(l)) ?? '';
      return service.banner !== '';
    }, 60_000);
    return service;
  }

  /** SIGINT to the given processes (default: all still registered), their exit codes by name; they are then forgotten. */
  async stop(which: Service[] = [...this.services]): Promise<(readonly [string, number | null])[]> {
    for (const s of which) this.services.splice(this.services.indexOf(s), 1);
    return Promise.all(which.map(async (s) => [s.name, await s.stop()] as const));
  }

  /** A stream of `tenant` opened from this process, as a tool would (reads only); closed with the harness. */
  async observer(tenant = 'default'): Promise<KafkaStream> {
    const s = await KafkaStream.connect({ brokers: this.kafka.bootstrap.split(','), tenant, clientId: 'dw-test-observer' });
    this.observers.push(s);
    return s;
  }

  async close(): Promise<void> {
    await this.stop();
    for (const o of this.observers.splice(0)) await o.close().catch(() => undefined);
    await this.cluster?.stop();
    this.tmp.cleanup();
  }
}

/** Rows of the lake's `reports` table of `tenant`, their distinct report ids, and (with `ids`) every report id. */
export async function lakeReports(lake: string, tenant: string, opts: { ids?: boolean } = {}): Promise<{ n: number; distinct: number; ids: string[] }> {
  const q = await openLakeQuery(lake, { tenant });
  try {
    const r = await q.run('SELECT count(*) AS n, count(DISTINCT report_id) AS ids FROM reports');
    const row = r.rows[0] ?? [0, 0];
    const ids = opts.ids ? (await q.run('SELECT report_id FROM reports')).rows.map((x) => String(x[0])) : [];
    return { n: Number(row[0]), distinct: Number(row[1]), ids };
  } catch (e) {
    // No Parquet file yet: nothing archived.
    if (/no files|No files found|does not exist/i.test((e as Error).message)) return { n: 0, distinct: 0, ids: [] };
    throw e;
  } finally {
    await q.close();
  }
}

export interface DroneClientStats {
  /** Report ids the server acknowledged with a 202. */
  acked: Set<string>;
  /** Requests answered with anything but 202, or that failed (connection refused, timeout). */
  retries: number;
  /** Status codes (or error names) of the failed attempts, counted. */
  failures: Map<string, number>;
}

/**
 * Posts `bodies` to `<base>/v1/reports` in order, `perBatch` at a time, as a drone gateway that must not lose a report:
 * a batch is resent (same body: report ids make it idempotent) until it gets a 202, for up to `maxRetryMs` per batch.
 * A 400 is a test failure (the reports are valid). `onBatch(sent)` runs after each acknowledged batch.
 */
export async function postUntilAccepted(base: string, token: string, bodies: readonly Report[], opts: {
  perBatch: number;
  maxRetryMs?: number;
  onBatch?: (sent: number) => Promise<void> | void;
}): Promise<DroneClientStats> {
  const stats: DroneClientStats = { acked: new Set(), retries: 0, failures: new Map() };
  const fail = (why: string): void => {
    stats.retries++;
    stats.failures.set(why, (stats.failures.get(why) ?? 0) + 1);
  };
  for (let i = 0; i < bodies.length; i += opts.perBatch) {
    const batch = bodies.slice(i, i + opts.perBatch);
    const body = JSON.stringify(batch);
    const deadline = Date.now() + (opts.maxRetryMs ?? 45_000);
    for (;;) {
      let res: Response | undefined;
      try {
        res = await fetch(`${base}/v1/reports`, {
          method: 'POST', body, headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(20_000),
        });
      } catch (e) {
        fail((e as Error).name);
      }
      if (res) {
        const text = await res.text();
        if (res.status === 202) {
          const r = JSON.parse(text) as { accepted: { reportId: string }[]; rejected: unknown[] };
          assert.equal(r.rejected.length, 0, `batch at ${i}: ${text.slice(0, 300)}`);
          assert.equal(r.accepted.length, batch.length, `batch at ${i}: every report acknowledged`);
          for (const a of r.accepted) stats.acked.add(a.reportId);
          break;
        }
        assert.ok(res.status !== 400 && res.status !== 401 && res.status !== 403, `batch at ${i}: ${res.status} ${text.slice(0, 300)}`);
        fail(String(res.status));
      }
      assert.ok(Date.now() < deadline, `batch at ${i} not accepted within ${opts.maxRetryMs ?? 45_000} ms (${[...stats.failures].map(([k, n]) => `${k} x${n}`).join(', ')})`);
      await sleep(250);
    }
    await opts.onBatch?.(i + batch.length);
  }
  return stats;
}

/** Each expected alert raised exactly once: names what is missing, unexpected or repeated. */
export function assertEachOnce(raised: Map<string, number>, expected: ReadonlySet<string>, what: string): void {
  const missing = [...expected].filter((k) => !raised.has(k));
  const extra = [...raised.keys()].filter((k) => !expected.has(k));
  const repeated = [...raised].filter(([, n]) => n > 1).map(([k, n]) => `${k} x${n}`);
  assert.deepEqual({ missing: missing.slice(0, 10), extra: extra.slice(0, 10), repeated: repeated.slice(0, 10) }, { missing: [], extra: [], repeated: [] },
    `${what}: each expected alert exactly once (${expected.size} expected, ${raised.size} seen; ${missing.length} missing, ${extra.length} unexpected, ${repeated.length} repeated)`);
}

/**
 * What the brokers say about groups and partition leaders, through an admin client of this test process (callback API:
 * the promise API of @platformatic/kafka needs Node 22).
 */
export class KafkaInspector {
  private readonly admin: Admin;

  constructor(bootstrap: string) {
    this.admin = new Admin({ clientId: 'dw-test-inspector', bootstrapBrokers: bootstrap.split(','), retries: 20, retryDelay: 250 });
  }

  /** Per member of the Kafka group `id`: the partitions of `topic` it was assigned. */
  async members(id: string, topic: string): Promise<number[][]> {
    const groups = await cb<Map<string, Group>>((done) => this.admin.describeGroups({ groups: [id] }, done));
    return [...(groups.get(id)?.members.values() ?? [])].map((m) => [...(m.assignments?.get(topic)?.partitions ?? [])].sort((a, b) => a - b));
  }

  /** Node id of the broker coordinating the Kafka group `id`. */
  async coordinator(id: string): Promise<number> {
    const [found] = await cb<FindCoordinatorResult[]>((done) => this.admin.findCoordinator({ keyType: FindCoordinatorKeyTypes.GROUP, keys: [id] }, done));
    if (!found) throw new Error(`no coordinator found for group ${id}`);
    return found.nodeId;
  }

  /** Leader and in-sync replicas of each partition of a Kafka topic, from fresh metadata. */
  async partitions(topic: string): Promise<{ leader: number; isr: number[] }[]> {
    const md = await cb<ClusterMetadata>((done) => this.admin.metadata({ topics: [topic], forceUpdate: true }, done));
    return (md.topics.get(topic)?.partitions ?? []).map((p) => ({ leader: p.leader, isr: [...p.isr].sort() }));
  }

  /**
   * Creates a Kafka topic with the replicas of each partition placed as given (the first broker leads, the next
   * in-sync one takes over), min.insync.replicas 2 and broker append times, as KafkaStream's topics have.
   */
  async createTopic(topic: string, replicas: number[][]): Promise<void> {
    await cb((done) => this.admin.createTopics({
      topics: [{ topic, assignments: replicas.map((brokers, partition) => ({ partition, brokers })) }],
      configs: [{ name: 'min.insync.replicas', value: '2' }, { name: 'message.timestamp.type', value: 'LogAppendTime' }],
    }, done));
  }

  close(): Promise<void> {
    return cb<void>((done) => this.admin.close(done)).catch(() => undefined);
  }
}

function cb<T>(fn: (done: (error: Error | null, value?: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => fn((error, value) => (error ? reject(error) : resolve(value as T))));
}
