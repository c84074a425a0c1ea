/**
 * A rule change reaches two alert workers in distributed mode without a restart (issue 19, item 5), on a real
 * nats-server: `ingest`, two `alerts` workers and `serve` as separate `dronewatch` processes, security on. A supervisor
 * changes the rules through the API; each worker says in its log when the new version is in force there (the time of
 * that line, minus the time the request was sent, is the propagation measured and bounded). Reports from 24 drones
 * (their keys spread over the 8 partitions, so both workers own some) then raise under the new version only, and each
 * worker's own count (its final summary) shows that both raised. Skipped without nats-server >= 2.10 (fails with CI=true).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { AlertEvent } from '../../src/alerts/index.ts';
import type { Report } from '../../src/contract/index.ts';
import { NatsStream } from '../../src/backend/index.ts';
import { TOPICS } from '../../src/stream/index.ts';
import { natsServerOrSkip, type Child } from '../../src/testkit/index.ts';
import { runCli } from '../cli/helpers.ts';
import { BIN, ProcessHarness, waitUntil, type Service } from './helpers.ts';

const skip = natsServerOrSkip();
/** "Within seconds" (the issue): the bound on request sent -> new version in force in a worker. */
const PROPAGATION_BOUND_MS = 5000;

interface LogLine { time: number; msg: string; tenant?: string; version?: number }

/**
 * `dronewatch <args>` with stdout (banner, summaries) and stderr (the JSON log) both kept: startService leaves stderr
 * to the terminal, and the worker's "new version in force" is a log line.
 */
async function startLogged(h: ProcessHarness, name: string, args: string[], ready: RegExp, env: NodeJS.ProcessEnv): Promise<Service & { log: LogLine[] }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', BIN, ...args], {
    env: { ...process.env, DRONEWATCH_LOG_LEVEL: 'info', DRONEWATCH_LOG_FORMAT: 'json', ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const log: LogLine[] = [];
  const split = (onLine: (l: string) => void): ((chunk: string) => void) => {
    let partial = '';
    return (chunk) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop()!;
      for (const l of parts) onLine(l);
    };
  };
  proc.stdout.setEncoding('utf8').on('data', split((l) => lines.push(l)));
  proc.stderr.setEncoding('utf8').on('data', split((l) => {
    try {
      log.push(JSON.parse(l) as LogLine);
    } catch {
      // not a log line (a warning printed by node itself)
    }
  }));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => proc.on('exit', (code, signal) => r({ code, signal })));
  const child: Child = { proc, lines, exited };
  const service: Service & { log: LogLine[] } = {
    name, child, banner: '', log,
    stop: async () => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGINT');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 20_000);
      const { code } = await exited;
      clearTimeout(timer);
      return code;
    },
  };
  h.services.push(service); // stopped by h.close() whatever happens next
  await waitUntil(`${name} to print ${ready}`, () => {
    if (proc.exitCode !== null) throw new Error(`${name} exited with ${proc.exitCode}; stdout:\n${lines.join('\n')}`);
    service.banner = lines.find((l) => ready.test(l)) ?? '';
    return service.banner !== '';
  }, 30_000);
  return service;
}

async function credential(args: string[]): Promise<string> {
  const r = await runCli(args);
  assert.equal(r.code, 0, `dronewatch ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

/** One report per drone, each with its own citizen scoring `score`. */
function reports(drones: number, prefix: string, ts: number, score: number): Report[] {
  return Array.from({ length: drones }, (_, d) => ({
    droneId: `rules-${d}`, timestamp: new Date(ts + d).toISOString(), position: { lat: 48.85 + d * 0.001, lon: 2.35 },
    citizens: [{ name: `${prefix}-${d}`, score }], words: [],
  }));
}

describe('distributed mode on NATS: a rule change reaches two alert workers without restart', { skip, timeout: 150_000 }, () => {
  const h = new ProcessHarness('dw-rules-nats-');
  let observer: NatsStream | undefined;
  before(() => h.open());
  after(async () => {
    await observer?.close();
    await h.close();
  });

  it('both workers take up the new version within seconds and raise with it; no process restarts', async () => {
    const env = {};
    const [ingest, serve, workerA, workerB] = await Promise.all([
      startLogged(h, 'ingest', [...h.dir('ingest'), 'ingest', '--port', '0'], /listening on http:\/\//, env),
      startLogged(h, 'serve', [...h.dir('serve'), 'serve', '--port', '0'], /listening on http:\/\//, env),
      startLogged(h, 'alerts-a', [...h.dir('alerts-a'), 'alerts'], /alert consumer running/, env),
      startLogged(h, 'alerts-b', [...h.dir('alerts-b'), 'alerts'], /alert consumer running/, env),
    ]);
    const ingestUrl = /listening on (http:\/\/\S+)/.exec(ingest.banner)![1]!;
    const apiUrl = /listening on (http:\/\/\S+)/.exec(serve.banner)![1]!;
    const pids = [ingest, serve, workerA, workerB].map((s) => s.child.proc.pid);

    // Credentials in JetStream KV, issued by the CLI from yet another process: a gateway for the drones, a supervisor.
    const cli = h.dir('cli');
    const gateway = await credential(['drones', 'register', '--gateway', '--tenant', 'default', ...cli]);
    await credential(['users', 'create', 'lucie', '--tenant', 'default', '--role', 'supervisor', ...cli]);
    const token = await credential(['users', 'token', 'create', 'lucie', '--name', 'rules-test', ...cli]);
    const send = async (batch: Report[]): Promise<void> => {
      const res = await fetch(`${ingestUrl}/v1/reports`, {
        method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${gateway}` }, body: JSON.stringify(batch),
      });
      assert.equal(res.status, 202, `reports accepted: ${(await res.text()).slice(0, 300)}`);
    };
    const api = async (method: string, p: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> => {
      const res = await fetch(`${apiUrl}${p}`, {
        method, headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };

    observer = await NatsStream.connect({ servers: h.nats.url });
    const alertEvents = async (): Promise<AlertEvent[]> => (await observer!.read(TOPICS.alerts, { limit: 100_000 }))
      .map((r) => JSON.parse(Buffer.from(r.value).toString('utf8')) as AlertEvent);
    const lag = async (): Promise<number> => (await observer!.lag(TOPICS.reports, 'alerts')).reduce((n, p) => n + p.lag, 0);

    // Version 1 is the configuration's rules (threshold 20): a score of 30 raises nothing, in either worker.
    const T = Date.now() - 120_000;
    const v1 = await api('GET', '/v1/rules');
    assert.equal(v1.status, 200, JSON.stringify(v1.body));
    assert.equal(v1.body.version, 1);
    await send(reports(24, 'before', T, 30));
    await waitUntil('the v1 batch consumed by the alert workers', async () => (await lag()) === 0, 30_000);
    assert.deepEqual(await alertEvents(), [], 'nothing raised under v1');

    // The change, through the API.
    const sentAt = Date.now();
    const v2 = await api('POST', '/v1/rules', { rules: [{ id: 'strict', kind: 'score', threshold: 40, criticalThreshold: 5 }], reason: 'event week', baseVersion: 1 });
    const answeredAt = Date.now();
    assert.equal(v2.status, 201, JSON.stringify(v2.body));
    assert.equal(v2.body.version, 2);
    const inForce = (w: { log: LogLine[] }): LogLine | undefined => w.log.find((l) => l.msg === 'alert rules: new version in force' && l.tenant === 'default' && l.version === 2);
    await waitUntil('both workers to log version 2 in force', () => inForce(workerA) !== undefined && inForce(workerB) !== undefined, 20_000);
    const took = [workerA, workerB].map((w) => inForce(w)!.time - sentAt);
    process.stdout.write(`# rule change: API answered in ${answeredAt - sentAt} ms; version 2 in force in the workers ${took.join(' ms and ')} ms after the request was sent\n`);
    for (const ms of took) assert.ok(ms < PROPAGATION_BOUND_MS, `in force within ${PROPAGATION_BOUND_MS} ms (${ms} ms)`);

    // The same drones (the same partitions, both workers' share) with new citizens at the same score: raised under v2.
    await send(reports(24, 'after', T + 60_000, 30));
    await waitUntil('24 alerts raised', async () => (await alertEvents()).filter((e) => e.type === 'raised').length >= 24, 30_000);
    await waitUntil('the v2 batch consumed', async () => (await lag()) === 0, 30_000);
    const raised = (await alertEvents()).filter((e) => e.type === 'raised');
    assert.equal(raised.length, 24, 'one alert per drone, whichever worker owns its partition');
    assert.deepEqual(new Set(raised.map((e) => `${e.alert.rule}@${e.alert.ruleVersion}`)), new Set(['strict@2']), 'every alert names the new version');
    assert.deepEqual(raised.map((e) => e.alert.citizen).sort(), Array.from({ length: 24 }, (_, d) => `after-${d}`).sort());

    const listed = await api('GET', '/v1/alerts?limit=100');
    assert.equal((listed.body.alerts as unknown[]).length, 24, 'the API lists them from the shared alert state');

    // No restart: the processes that took the change are the ones started above. Then each worker's own count.
    assert.deepEqual([ingest, serve, workerA, workerB].map((s) => [s.child.proc.pid, s.child.proc.exitCode]), pids.map((p) => [p, null]));
    const codes = await h.stopAll();
    for (const [name, code] of codes) assert.equal(code, 0, `${name} exits with 0 after SIGINT`);
    const raisedBy = [workerA, workerB].map((w) => {
      const summary = w.child.lines.filter((l) => /\| alerts \d+/.test(l)).at(-1) ?? '';
      return Number(/\| alerts (\d+)/.exec(summary)?.[1] ?? NaN);
    });
    process.stdout.write(`# alerts raised per worker: ${raisedBy.join(', ')}\n`);
    assert.equal(raisedBy[0]! + raisedBy[1]!, 24, `the workers' own counts add up (${raisedBy.join(' + ')})`);
    assert.ok(raisedBy.every((n) => n > 0), `both workers raised under version 2 (${raisedBy.join(', ')})`);
  });
});
