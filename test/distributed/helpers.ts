/**
 * Distributed-mode tests: the real `dronewatch` CLI in child processes, each component its own process, sharing a real
 * nats-server. Reports are built here with distinct timestamps (report ids are `<droneId>:<epoch ms>`).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { killChild, spawnTsx, startNatsServer, tempDir, waitUntil, type Child, type NatsTestServer, type StartNatsOptions } from '../../src/testkit/index.ts';
import type { Report } from '../../src/contract/index.ts';
import type { AlertEvent } from '../../src/alerts/index.ts';
import { openLakeQuery } from '../../src/lake/index.ts';
import { TOPICS, type Stream } from '../../src/stream/index.ts';

export const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/dronewatch.js');

export interface Service {
  name: string;
  child: Child;
  /** First stdout line matching the banner. */
  banner: string;
  /** SIGINT (flush, commit, close) and wait; SIGKILL after 20 s. Returns the exit code. */
  stop(): Promise<number | null>;
}

/** Starts `dronewatch <args>` and waits for a stdout line matching `ready`. */
export async function startService(name: string, args: string[], ready: RegExp, env: NodeJS.ProcessEnv = {}): Promise<Service> {
  const child = spawnTsx(BIN, args, { env: { ...process.env, DRONEWATCH_LOG_LEVEL: 'warn', ...env } });
  let banner = '';
  try {
    await waitUntil(`${name} to print ${ready}`, () => {
      if (child.proc.exitCode !== null) throw new Error(`${name} exited with code ${child.proc.exitCode} before it was ready; stdout:\n${child.lines.join('\n')}`);
      banner = child.lines.find((l) => ready.test(l)) ?? '';
      return banner !== '';
    }, 30_000);
  } catch (e) {
    await killChild(child);
    throw e;
  }
  return {
    name, child, banner,
    stop: async () => {
      if (child.proc.exitCode === null && child.proc.signalCode === null) child.proc.kill('SIGINT');
      const timer = setTimeout(() => child.proc.kill('SIGKILL'), 20_000);
      const { code } = await child.exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** Reports of `drones` drones, `perDrone` each, timestamps in the last minute; every `lowEvery`-th has a low score. */
export function makeReports(opts: { drones: number; perDrone: number; lowEvery: number; prefix: string }): { reports: Report[]; low: Set<string> } {
  const reports: Report[] = [];
  const low = new Set<string>();
  const base = Date.now() - 60_000;
  let n = 0;
  for (let d = 0; d < opts.drones; d++) {
    for (let i = 0; i < opts.perDrone; i++, n++) {
      const droneId = `${opts.prefix}-${d}`;
      const ts = base + i * 100 + d;
      const isLow = n % opts.lowEvery === 0;
      // A distinct citizen per low sighting: a repeat of the same citizen by the same drone would update, not raise.
      const citizen = isLow ? `Suspect ${n}` : `Citizen ${n % 30}`;
      if (isLow) low.add(`${droneId}:${ts}`);
      reports.push({
        droneId,
        timestamp: new Date(ts).toISOString(),
        position: { lat: 48.85 + d * 0.001, lon: 2.35 },
        citizens: [{ name: citizen, score: isLow ? 4 : 60 + (n % 40) }],
        words: [],
      });
    }
  }
  return { reports, low };
}

export { waitUntil, killChild };

/** Rows of the lake's `reports` table and their distinct report ids (DuckDB over the Parquet files). */
export async function lakeCounts(lake: string): Promise<{ n: number; ids: number }> {
  const q = await openLakeQuery(lake, { tenant: 'default' });
  try {
    const r = await q.run('SELECT count(*) AS n, count(DISTINCT report_id) AS ids FROM reports');
    const row = r.rows[0] ?? [0, 0];
    return { n: Number(row[0]), ids: Number(row[1]) };
  } catch (e) {
    // No Parquet file yet: nothing archived.
    if (/no files|No files found|does not exist/i.test((e as Error).message)) return { n: 0, ids: 0 };
    throw e;
  } finally {
    await q.close();
  }
}

/** `raised` events on the `alerts` topic of `stream`'s tenant, counted per `<firstReportId>|<citizen>`. */
export async function raisedPerAlert(stream: Stream): Promise<Map<string, number>> {
  const recs = await stream.read(TOPICS.alerts, { limit: 1_000_000 });
  const out = new Map<string, number>();
  for (const r of recs) {
    const e = JSON.parse(Buffer.from(r.value).toString('utf8')) as AlertEvent;
    if (e.type !== 'raised') continue;
    const key = `${e.alert.firstReportId}|${e.alert.citizen}`;
    out.set(key, (out.get(key) ?? 0) + 1);
  }
  return out;
}

/**
 * One nats-server and the `dronewatch` processes a test file starts on it: `open()` in before(), `close()` in after()
 * stops every process still running (even when one failed to start), then the server, then removes the temp dir.
 */
export class ProcessHarness {
  readonly tmp: ReturnType<typeof tempDir>;
  readonly services: Service[] = [];
  private server: NatsTestServer | undefined;

  constructor(prefix: string) {
    this.tmp = tempDir(prefix);
  }

  async open(opts: StartNatsOptions = {}): Promise<void> {
    this.server = await startNatsServer(opts);
  }

  get nats(): NatsTestServer {
    if (!this.server) throw new Error('ProcessHarness: open() first');
    return this.server;
  }

  /** `--stream <the server> --data <a data dir of its own>` for a process named `name`. */
  dir(name: string): string[] {
    return ['--stream', this.nats.url, '--data', path.join(this.tmp.dir, name)];
  }

  /** startService, registered as soon as it is up so that close() stops it. */
  async start(...a: Parameters<typeof startService>): Promise<Service> {
    const s = await startService(...a);
    this.services.push(s);
    return s;
  }

  /** SIGINT to every process started so far, and their exit codes by name (they are then forgotten). */
  async stopAll(): Promise<(readonly [string, number | null])[]> {
    return Promise.all(this.services.splice(0).map(async (s) => [s.name, await s.stop()] as const));
  }

  async close(): Promise<void> {
    await this.stopAll();
    await this.server?.stop();
    this.tmp.cleanup();
  }
}
