/**
 * How long a CLI command takes from spawn to exit, next to `node -e 0` (Node's own start, the floor) in the same run:
 * `dronewatch --help`, `users list` and `alerts ack` (a real alert, in a fresh data directory) run as a user runs them,
 * `node bin/dronewatch.js ...`, from the compiled dist/ (rebuilt first, and required: DRONEWATCH_FROM_SOURCE=0 makes a
 * stale dist/ an error rather than a silent tsx run). The same `--help` from the sources through tsx (what every call
 * cost before dist/) is measured a few times for scale. Commands run round-robin, one at a time, the first round
 * discarded (cold disk cache), so load drifting during the run hits them all alike.
 * Run: node --import tsx bench/cli-start.ts [--samples 15]
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openAlertStore } from '../src/backend/index.ts';
import { reportIdOf } from '../src/contract/report-id.ts';
import type { AcceptedReport } from '../src/contract/types.ts';
import { SCORE_RULE } from '../src/alerts/rules.ts';
import { tempDir } from '../src/testkit/tmp.ts';
import { isMain, percentile, printTable, requireSamples } from './util.ts';
// Plain JavaScript modules of the build (no types): the same code `npm ci` runs.
// @ts-expect-error bin/*.mjs has no declaration file
import { buildDist } from '../bin/build-dist.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(ROOT, 'bin', 'dronewatch.js');

export interface CliStartOptions {
  /** Timed runs of each command (after one discarded round). */
  samples: number;
  /** Timed runs of `--help` from the sources through tsx (~4 s each unloaded). */
  sourceSamples: number;
}

/** Wall time of one process from spawn to exit, in ms; a non-zero exit is an error (a failing command is no sample). */
function timeRun(args: readonly string[], env: NodeJS.ProcessEnv, cwd: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(process.execPath, args, { env, cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (code === 0) resolve(ms);
      else reject(new Error(`node ${args.join(' ')} exited ${code}: ${stderr.trim().slice(-500)}`));
    });
  });
}

/** `n` open alerts of the default tenant, one per `alerts ack` sample: each ack is a real transition. */
function seedAlerts(dataDir: string, n: number): string[] {
  const store = openAlertStore({ dataDir });
  try {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const ts = Date.now() - i * 1000;
      const droneId = `bench-${i}`;
      const report: AcceptedReport = {
        droneId, timestamp: new Date(ts).toISOString(), position: { lat: 48.85, lon: 2.35 },
        citizens: [{ name: 'bench citizen', score: 1 }], words: [],
        reportId: reportIdOf(droneId, ts), ts, receivedAt: ts, tenant: 'default',
      };
      const [raised] = store.applyReport(report, [{ citizen: 'bench citizen', score: 1, severity: 'critical', rule: SCORE_RULE }]);
      if (!raised) throw new Error('seeding an alert raised nothing');
      ids.push(raised.alert.alertId);
    }
    return ids;
  } finally {
    store.close();
  }
}

const summary = (xs: number[]): { p50: number; min: number } => {
  const s = [...xs].sort((a, b) => a - b);
  return { p50: Math.round(percentile(s, 0.5)), min: Math.round(s[0] ?? Number.NaN) };
};

export async function benchCliStart(opts: CliStartOptions): Promise<Record<string, number | string>> {
  const load = (): string => os.loadavg().map((l) => l.toFixed(2)).join(' ');
  const loadAtStart = load();
  const t0 = performance.now();
  await buildDist({ log: () => {} });
  const buildMs = Math.round(performance.now() - t0);
  const tmp = tempDir('dronewatch-cli-start-');
  try {
    const dataDir = path.join(tmp.dir, 'data');
    const alerts = seedAlerts(dataDir, opts.samples + 1);
    // cwd is the temporary directory: no ./dronewatch.config.json of the checkout applies.
    const env = { ...process.env, DRONEWATCH_DATA: dataDir, DRONEWATCH_FROM_SOURCE: '0' };
    const commands: [string, (round: number) => string[], NodeJS.ProcessEnv][] = [
      ['node -e 0', () => ['-e', '0'], env],
      ['--help', () => [BIN, '--help'], env],
      ['users list', () => [BIN, 'users', 'list'], env],
      ['alerts ack', (round) => [BIN, 'alerts', 'ack', alerts[round]!, '--by', 'bench'], env],
    ];
    const times = new Map<string, number[]>(commands.map(([name]) => [name, []]));
    // src/ edited during the run (a shared working tree) makes dist/ stale: rebuild and run that sample again.
    const run = async (args: string[], e: NodeJS.ProcessEnv): Promise<number> => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await timeRun(args, e, tmp.dir);
        } catch (err) {
          if (attempt >= 3 || !/DRONEWATCH_FROM_SOURCE=0/.test((err as Error).message)) throw err;
          await buildDist({ log: () => {} });
        }
      }
    };
    for (let round = 0; round <= opts.samples; round++) {
      for (const [name, args, e] of commands) {
        const ms = await run(args(round), e);
        if (round > 0) times.get(name)!.push(ms);
      }
    }
    const source: number[] = [];
    for (let i = 0; i < opts.sourceSamples; i++) source.push(await timeRun([BIN, '--help'], { ...env, DRONEWATCH_FROM_SOURCE: '1' }, tmp.dir));
    for (const [name, xs] of times) requireSamples(name, xs);
    requireSamples('--help from source', source);

    const node = summary(times.get('node -e 0')!);
    const figures: Record<string, number | string> = {
      'samples per command': opts.samples,
      'dist/ build ms (esbuild, every module of src/)': buildMs,
      'node -e 0 p50 / min ms': `${node.p50} / ${node.min}`,
    };
    for (const [name] of commands.slice(1)) {
      const s = summary(times.get(name)!);
      figures[`${name} p50 / min ms`] = `${s.p50} / ${s.min}`;
      figures[`${name} p50 over node -e 0 ms`] = s.p50 - node.p50;
    }
    const src = summary(source);
    figures['--help from source (tsx) p50 ms'] = src.p50;
    figures['--help from source samples'] = source.length;
    figures['load average at start'] = loadAtStart;
    figures['load average at end'] = load();
    return figures;
  } finally {
    tmp.cleanup();
  }
}

if (isMain(import.meta.url)) {
  const i = process.argv.indexOf('--samples');
  const samples = i > 0 ? Number(process.argv[i + 1]) : 15;
  printTable('cli-start: CLI start vs node -e 0', await benchCliStart({ samples, sourceSamples: 3 }));
}
