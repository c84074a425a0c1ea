import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { accessSync, closeSync, constants, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { cephConf, monAddrs, type OsdStore } from './ceph-conf.ts';
import { freePorts } from './ports.ts';

/**
 * A real S3 server for tests: a single-host Ceph cluster (mon, optional mgr, one OSD, radosgw) on free loopback ports
 * in a temporary directory. Daemons run in the foreground as children of this process, so a test that forgets to
 * stop the cluster still does not leave them behind (they are killed when the process exits).
 */

export const CEPH_INSTALL_HINT = 'apt-get install -y --no-install-recommends ceph-mon ceph-mgr ceph-osd radosgw ceph-common';

export interface CephOptions {
  /** `memstore` (default: RAM, fastest, lost when the OSD restarts) or `bluestore` on a sparse file (survives restarts). */
  osdStore?: OsdStore;
  /** memstore capacity / bluestore file size; default 2 GiB (neither is allocated up front). */
  osdBytes?: number;
  /** Start a ceph-mgr too (default false: not needed by radosgw, costs ~3 s and ~250 MiB). */
  withMgr?: boolean;
  /** The whole start, user creation included, must finish within this; default 60 s. */
  startTimeoutMs?: number;
}

export interface CephTimings {
  /** From the call to the monitor answering. */
  monMs: number;
  /** ...to radosgw answering HTTP. */
  rgwMs: number;
  /** ...to the S3 user existing: the cluster is usable. */
  readyMs: number;
}

export interface CephCluster {
  /** `http://127.0.0.1:<port>` */
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Temporary directory holding all state and logs (removed by stop). */
  dir: string;
  /** Environment a child process needs to reach the store (S3_ENDPOINT and the AWS variables). */
  env: Record<string, string>;
  timings: CephTimings;
  /** Creates a bucket (a fresh random name when none is given) and returns its name. */
  createBucket(name?: string): Promise<string>;
  /** Stops and starts one daemon again (with memstore, an OSD restart loses every object). */
  restart(daemon: 'osd' | 'rgw'): Promise<void>;
  /** Stops rgw, osd, mgr, mon in that order (rgw hangs if the OSD or mon goes first) and removes the directory. */
  stop(): Promise<void>;
}

const EXIT_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
const REQUIRED = ['monmaptool', 'ceph-mon', 'ceph-osd', 'radosgw', 'radosgw-admin', 'ceph'] as const;

function onPath(bin: string): boolean {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    try {
      accessSync(path.join(dir, bin), constants.X_OK);
      return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}

/** Ceph programs the helper needs that are not on PATH. */
export function missingCephBinaries(opts: { withMgr?: boolean } = {}): string[] {
  return [...REQUIRED, ...(opts.withMgr ? ['ceph-mgr'] : [])].filter((b) => !onPath(b));
}

/**
 * For `describe(name, { skip: cephOrSkip() }, ...)`: false when Ceph is installed, else a skip message saying how to
 * install it. With CI=true a missing Ceph is an error instead: CI must run the S3 suites, not silently skip them.
 */
export function cephOrSkip(opts: { withMgr?: boolean; env?: NodeJS.ProcessEnv } = {}): string | false {
  const missing = missingCephBinaries(opts);
  if (missing.length === 0) return false;
  const message = `Ceph not installed (missing ${missing.join(', ')}); install it with: ${CEPH_INSTALL_HINT}`;
  if ((opts.env ?? process.env).CI === 'true') throw new Error(`${message} (CI=true: the S3 suites must run)`);
  return message;
}

function run(bin: string, args: readonly string[], timeoutMs: number, signal?: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(bin, [...args], { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024, ...(signal ? { signal } : {}) }, (err, stdout, stderr) => {
      if (err) {
        const why = err.killed ? `timed out after ${timeoutMs} ms` : `exit ${String(err.code)}`;
        reject(new Error(`${bin} ${args.filter((a) => !a.startsWith('--secret')).join(' ')}: ${why}\n${stderr.trim()}`));
      } else resolve(stdout);
    });
  });
}

class Daemon {
  proc: ChildProcess | undefined;
  exited: Promise<void> = Promise.resolve();

  constructor(readonly name: string, readonly bin: string, readonly args: readonly string[], readonly outFile: string) {}

  /** How it ended, for messages. */
  exit = '';

  start(): void {
    const fd = openSync(this.outFile, 'a');
    try {
      const proc = spawn(this.bin, ['-f', ...this.args], { stdio: ['ignore', fd, fd] });
      this.proc = proc;
      this.exit = '';
      this.exited = new Promise((resolve) => proc.once('exit', (code, signal) => {
        this.exit = signal ? `signal ${signal}` : `exit code ${code}`;
        resolve();
      }));
      proc.once('error', () => undefined); // spawn failures surface as an exit
    } finally {
      closeSync(fd);
    }
  }

  get running(): boolean {
    return this.proc !== undefined && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  async stop(graceMs = 15_000): Promise<void> {
    if (!this.running) return;
    this.proc!.kill('SIGTERM');
    const t = setTimeout(() => this.proc?.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(t);
  }

  killSync(): void {
    if (this.running) this.proc!.kill('SIGKILL');
  }
}

/** The last lines of every log of the cluster: what a failed start shows. */
function logTails(dir: string, lines = 12): string {
  const logDir = path.join(dir, 'log');
  let names: string[] = [];
  try {
    names = readdirSync(logDir).sort();
  } catch {
    return '(no logs)';
  }
  return names.map((n) => {
    let text = '';
    try {
      text = readFileSync(path.join(logDir, n), 'utf8');
    } catch {
      // removed meanwhile
    }
    const tail = text.trimEnd().split('\n').slice(-lines).map((l) => (l.length > 300 ? `${l.slice(0, 300)}...` : l));
    return `--- ${n}\n${tail.join('\n')}`;
  }).join('\n');
}

async function waitFor(what: string, ok: () => Promise<boolean>, deadline: number, daemons: readonly Daemon[]): Promise<void> {
  for (;;) {
    const dead = daemons.find((d) => d.proc !== undefined && !d.running);
    if (dead) throw new Error(`${dead.name} stopped (${dead.exit}) while waiting for ${what}`);
    if (await ok()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

async function httpAnswers(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
    await res.arrayBuffer();
    return true;
  } catch {
    return false;
  }
}

async function osdUp(conf: string): Promise<boolean> {
  try {
    const out = await run('ceph', ['-c', conf, '--connect-timeout', '5', 'osd', 'stat', '-f', 'json'], 10_000);
    return (JSON.parse(out) as { num_up_osds?: number }).num_up_osds === 1;
  } catch {
    return false;
  }
}

/** `p`, unless a started daemon dies first (a monitor that could not bind its port would leave `ceph` waiting). */
function unlessOneDies<T>(p: Promise<T>, daemons: readonly Daemon[]): Promise<T> {
  const deaths = daemons.filter((d) => d.running).map((d) => d.exited.then((): never => {
    throw new Error(`${d.name} stopped (${d.exit})`);
  }));
  return Promise.race([p, ...deaths]);
}

/** Starts a cluster; on failure everything started is stopped and the error carries the tail of the daemon logs. */
export async function startCeph(opts: CephOptions = {}): Promise<CephCluster> {
  const t0 = Date.now();
  const deadline = t0 + (opts.startTimeoutMs ?? 60_000);
  const missing = missingCephBinaries(opts);
  if (missing.length > 0) throw new Error(`Ceph not installed (missing ${missing.join(', ')}); install it with: ${CEPH_INSTALL_HINT}`);

  const dir = mkdtempSync(path.join(os.tmpdir(), 'dw-ceph-'));
  for (const sub of ['run', 'log', 'crash', 'mon/ceph-a', 'mgr/ceph-x', 'osd/ceph-0', 'rgw/ceph-rgw.a']) mkdirSync(path.join(dir, sub), { recursive: true });
  const conf = path.join(dir, 'ceph.conf');
  const log = (n: string): string => path.join(dir, 'log', `${n}.out`);
  const [monV2Port, monV1Port, rgwPort] = (await freePorts(3)) as [number, number, number];
  const fsid = randomUUID();
  writeFileSync(conf, cephConf({ dir, fsid, monV2Port, monV1Port, rgwPort, osdStore: opts.osdStore ?? 'memstore', osdBytes: opts.osdBytes ?? 2 * 1024 ** 3 }));

  const mon = new Daemon('ceph-mon', 'ceph-mon', ['-c', conf, '-i', 'a'], log('mon'));
  const mgr = new Daemon('ceph-mgr', 'ceph-mgr', ['-c', conf, '-i', 'x'], log('mgr'));
  const osd = new Daemon('ceph-osd', 'ceph-osd', ['-c', conf, '-i', '0'], log('osd'));
  const rgw = new Daemon('radosgw', 'radosgw', ['-c', conf, '-n', 'client.rgw.a'], log('rgw'));
  const daemons = opts.withMgr ? [rgw, osd, mgr, mon] : [rgw, osd, mon]; // stop order
  // A test process that exits or is interrupted without stop() must not leave daemons running.
  const killAll = (): void => {
    for (const d of daemons) d.killSync();
    rmSync(dir, { recursive: true, force: true });
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    killAll();
    unhook();
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal); // then die of it as if not caught
  };
  const unhook = (): void => {
    process.removeListener('exit', killAll);
    for (const sig of EXIT_SIGNALS) process.removeListener(sig, onSignal);
  };
  process.once('exit', killAll);
  for (const sig of EXIT_SIGNALS) process.once(sig, onSignal);
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    for (const d of daemons) await d.stop();
    unhook();
    rmSync(dir, { recursive: true, force: true });
  };

  const left = (): number => Math.max(1000, deadline - Date.now());
  const aborted = new AbortController(); // kills a command still running when the start fails
  const endpoint = `http://127.0.0.1:${rgwPort}`;
  const accessKeyId = `DW${randomBytes(9).toString('hex').toUpperCase()}`;
  const secretAccessKey = randomBytes(30).toString('base64url');
  const timings: CephTimings = { monMs: 0, rgwMs: 0, readyMs: 0 };
  try {
    await run('monmaptool', ['--create', '--fsid', fsid, '--addv', 'a', monAddrs({ monV2Port, monV1Port }), path.join(dir, 'monmap')], left(), aborted.signal);
    await run('ceph-mon', ['-c', conf, '--mkfs', '-i', 'a', '--monmap', path.join(dir, 'monmap')], left(), aborted.signal);
    mon.start();
    // `ceph` waits for the monitor itself (up to --connect-timeout), so no polling loop is needed here.
    const osdUuid = randomUUID();
    const osdId = (await unlessOneDies(run('ceph', ['-c', conf, '--connect-timeout', String(Math.ceil(left() / 1000)), 'osd', 'new', osdUuid], left(), aborted.signal), daemons)).trim();
    if (osdId !== '0') throw new Error(`ceph osd new answered "${osdId}", expected 0`);
    timings.monMs = Date.now() - t0;
    if (opts.withMgr) mgr.start();
    await unlessOneDies(run('ceph-osd', ['-c', conf, '-i', '0', '--mkfs', '--osd-uuid', osdUuid], left(), aborted.signal), daemons);
    osd.start();
    // radosgw creates its pools and waits for their placement groups itself: starting it before the OSD is
    // reported up saves the polling (each `ceph` call is a ~0.4 s Python start on a small machine).
    rgw.start();
    await waitFor('radosgw to answer HTTP', () => httpAnswers(`${endpoint}/`), deadline, daemons);
    timings.rgwMs = Date.now() - t0;
    await unlessOneDies(run('radosgw-admin', ['-c', conf, '-n', 'client.admin', 'user', 'create', '--uid=dronewatch-test', '--display-name=dronewatch tests',
      `--access-key=${accessKeyId}`, `--secret-key=${secretAccessKey}`], left(), aborted.signal), daemons);
    timings.readyMs = Date.now() - t0;
  } catch (e) {
    aborted.abort();
    const tails = logTails(dir);
    await stop();
    throw new Error(`Ceph test cluster did not start within ${opts.startTimeoutMs ?? 60_000} ms: ${(e as Error).message}\n`
      + `(all daemons stopped, ${dir} removed; the last lines of its logs follow)\n${tails}`);
  }

  const region = 'us-east-1';
  // As in src/objectstore/s3-config.ts: the SDK version is pinned, its "Node 22 from 2027" warning is noise.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  // Loaded on demand: every test imports the testkit, few need the SDK (slow to load).
  const client = async () => {
    const { S3Client } = await import('@aws-sdk/client-s3');
    return new S3Client({
      endpoint, region, forcePathStyle: true, credentials: { accessKeyId, secretAccessKey },
      requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED',
    });
  };
  return {
    endpoint, region, accessKeyId, secretAccessKey, dir, timings,
    env: { S3_ENDPOINT: endpoint, AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey, AWS_REGION: region },
    async createBucket(name = `dw-${randomBytes(6).toString('hex')}`) {
      const s3 = await client();
      try {
        const { CreateBucketCommand } = await import('@aws-sdk/client-s3');
        await s3.send(new CreateBucketCommand({ Bucket: name }));
      } finally {
        s3.destroy();
      }
      return name;
    },
    async restart(daemon) {
      const d = daemon === 'osd' ? osd : rgw;
      await d.stop();
      d.start();
      const until = Date.now() + (opts.startTimeoutMs ?? 60_000);
      try {
        if (daemon === 'osd') await waitFor('the OSD to be up', () => osdUp(conf), until, daemons);
        await waitFor('radosgw to answer HTTP', () => httpAnswers(`${endpoint}/`), until, daemons);
      } catch (e) {
        throw new Error(`Ceph ${daemon} restart failed: ${(e as Error).message}\n${logTails(dir)}`);
      }
    },
    stop,
  };
}
