/**
 * Real nats-server processes for tests: one node or a 3-node cluster on free loopback ports, each with its own
 * JetStream store in a temp dir. Nodes can be killed with SIGKILL and restarted on the same ports and store (crash
 * tests). `natsServerConfig` writes the settings of the production configs in deploy/nats/ (server_name, JetStream
 * store, `sync_interval: always`, optional cluster routes and MQTT listener), with test ports and paths.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePorts } from './ports.ts';
import { tempDir } from './tmp.ts';

/** JetStream before 2.10 has no `sync_interval`, and 2.9 was seen losing acknowledged messages when a follower restarted. */
export const MIN_NATS_SERVER_VERSION = [2, 10, 0] as const;

export const NATS_INSTALL_HINT =
  'install nats-server >= 2.10 from Debian trixie (Debian 12 ships 2.9, which is refused): as root, add a trixie ' +
  "source on the machine's own Debian archive, pin trixie at priority 50 in /etc/apt/preferences.d/ (so nothing " +
  'else is upgraded), apt-get update, apt-get install -t trixie nats-server; .ci/install-system-packages.sh does exactly this. ' +
  'Or point NATS_SERVER_BIN at a nats-server >= 2.10 binary.';

/** Ports used by Ceph daemons on the same machines (mon 3300/6789, osd/mgr 6800-7300): never handed out. */
const RESERVED_PORTS = (p: number): boolean => p === 3300 || p === 6789 || (p >= 6800 && p <= 7300);

export interface NatsServerBinary {
  bin: string;
  version: string;
}

/** Finds nats-server (NATS_SERVER_BIN, else PATH) and its version; throws with the install recipe if absent or < 2.10. */
export function findNatsServer(): NatsServerBinary {
  const fromEnv = process.env.NATS_SERVER_BIN;
  let bin: string | undefined;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`NATS_SERVER_BIN=${fromEnv} does not exist; ${NATS_INSTALL_HINT}`);
    bin = fromEnv;
  } else {
    for (const dir of (process.env.PATH ?? '').split(path.delimiter).concat(['/usr/sbin', '/usr/local/sbin', '/usr/bin'])) {
      if (dir && existsSync(path.join(dir, 'nats-server'))) { bin = path.join(dir, 'nats-server'); break; }
    }
  }
  if (!bin) throw new Error(`nats-server not found on PATH; ${NATS_INSTALL_HINT}`);
  let out: string;
  try {
    out = execFileSync(bin, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  } catch (e) {
    throw new Error(`${bin} --version failed (${(e as Error).message}); ${NATS_INSTALL_HINT}`);
  }
  const m = /v?(\d+)\.(\d+)\.(\d+)/.exec(out);
  if (!m) throw new Error(`cannot read the version of ${bin} from "${out.trim()}"; ${NATS_INSTALL_HINT}`);
  const v = [Number(m[1]), Number(m[2]), Number(m[3])];
  const tooOld = v[0]! < MIN_NATS_SERVER_VERSION[0] || (v[0] === MIN_NATS_SERVER_VERSION[0] && v[1]! < MIN_NATS_SERVER_VERSION[1]);
  if (tooOld) throw new Error(`${bin} is nats-server ${v.join('.')}, older than 2.10 (no sync_interval; 2.9 loses acknowledged messages when a follower restarts); ${NATS_INSTALL_HINT}`);
  return { bin, version: v.join('.') };
}

/**
 * For tests: undefined when a usable nats-server exists, else a skip message with the install recipe.
 * With CI=true a missing or too old server throws instead: CI must not pass by skipping.
 */
export function natsServerOrSkip(): string | undefined {
  try {
    findNatsServer();
    return undefined;
  } catch (e) {
    if (process.env.CI === 'true') throw e;
    return (e as Error).message;
  }
}

export interface NatsNodeConfig {
  serverName: string;
  host: string;
  port: number;
  /** Monitoring port (/healthz); omitted in production configs that do not want it. */
  httpPort?: number;
  storeDir: string;
  mqttPort?: number;
  cluster?: { name: string; port: number; routes: number[] };
  /** Defaults to 'always' (see below); only benchmarks comparing the cost should change it. */
  syncInterval?: string;
}

/**
 * nats-server config text. `sync_interval: always` makes JetStream fsync before acknowledging: with the default (fsync
 * every 2 minutes) acknowledged writes are lost on power loss or kernel crash (Jepsen, NATS 2.12.1, Dec 2025).
 */
export function natsServerConfig(c: NatsNodeConfig): string {
  const lines = [
    `server_name: ${JSON.stringify(c.serverName)}`,
    `listen: ${JSON.stringify(`${c.host}:${c.port}`)}`,
  ];
  if (c.httpPort !== undefined) lines.push(`http: ${JSON.stringify(`${c.host}:${c.httpPort}`)}`);
  lines.push(
    'jetstream {',
    `  store_dir: ${JSON.stringify(c.storeDir)}`,
    `  sync_interval: ${c.syncInterval ?? 'always'}`,
    '}',
  );
  if (c.cluster) {
    lines.push(
      'cluster {',
      `  name: ${JSON.stringify(c.cluster.name)}`,
      `  listen: ${JSON.stringify(`${c.host}:${c.cluster.port}`)}`,
      `  routes: [${c.cluster.routes.map((p) => JSON.stringify(`nats-route://${c.host}:${p}`)).join(', ')}]`,
      '}',
    );
  }
  if (c.mqttPort !== undefined) lines.push('mqtt {', `  listen: ${JSON.stringify(`${c.host}:${c.mqttPort}`)}`, '}');
  return lines.join('\n') + '\n';
}

/** Distinct free loopback ports outside the ports Ceph uses (the kernel's ephemeral range normally is). */
async function freeNatsPorts(count: number): Promise<number[]> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const ports = await freePorts(count);
    if (!ports.some(RESERVED_PORTS)) return ports;
  }
  throw new Error('no free ports outside the Ceph range found');
}

export interface NatsNode {
  readonly name: string;
  readonly port: number;
  readonly httpPort: number;
  readonly mqttPort: number | undefined;
  readonly clusterPort: number | undefined;
  readonly storeDir: string;
  readonly configFile: string;
  readonly logFile: string;
  /** `nats://127.0.0.1:<port>` */
  readonly url: string;
  running(): boolean;
  /** Sends a signal (default SIGKILL: a crash) and waits for the process to exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts the node again on the same ports and store; waits until it is ready. */
  restart(): Promise<void>;
}

export interface NatsTestServer {
  readonly nodes: NatsNode[];
  /** Client URLs of all nodes, comma-separated (what `openStream` takes). */
  readonly url: string;
  readonly dir: string;
  readonly version: string;
  /** Stops every node and deletes the temp dir; idempotent. */
  stop(): Promise<void>;
}

export interface StartNatsOptions {
  /** 3 starts a cluster (routes on free ports); default 1. */
  nodes?: 1 | 3;
  /** Adds an MQTT listener on a free port to every node. */
  mqtt?: boolean;
  /** How long to wait for the server(s) to be ready; default 30 s. */
  readyTimeoutMs?: number;
}

class Node implements NatsNode {
  readonly url: string;
  private proc: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();

  constructor(
    private readonly bin: string,
    readonly name: string,
    readonly port: number,
    readonly httpPort: number,
    readonly mqttPort: number | undefined,
    readonly clusterPort: number | undefined,
    readonly storeDir: string,
    readonly configFile: string,
    readonly logFile: string,
  ) {
    this.url = `nats://127.0.0.1:${port}`;
  }

  running(): boolean {
    return this.proc !== undefined && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  spawn(): void {
    const fd = openSync(this.logFile, 'a');
    const proc = spawn(this.bin, ['-c', this.configFile], { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    this.proc = proc;
    this.exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    liveProcesses.add(proc);
    proc.once('exit', () => liveProcesses.delete(proc));
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (!this.running()) return;
    this.proc!.kill(signal);
    await this.exited;
  }

  async stop(): Promise<void> {
    if (!this.running()) return;
    this.proc!.kill('SIGTERM');
    const done = await Promise.race([this.exited.then(() => true), sleep(5000, undefined, { ref: false }).then(() => false)]);
    if (!done) await this.kill('SIGKILL');
  }

  async restart(): Promise<void> {
    await this.kill('SIGKILL');
    this.spawn();
    // Full /healthz: JetStream up and its streams and consumers current (caught up with the others in a cluster).
    await this.waitReady(30_000, true);
  }

  /** Waits until the client port accepts connections and (with JetStream clustered) /healthz answers 200. */
  async waitReady(timeoutMs: number, requireHealthy: boolean): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!this.running()) throw new Error(`nats-server ${this.name} exited during start-up:\n${this.tail()}`);
      if (await this.healthy(requireHealthy)) return;
      if (Date.now() > deadline) throw new Error(`nats-server ${this.name} not ready after ${timeoutMs} ms:\n${this.tail()}`);
      await sleep(50);
    }
  }

  private async healthy(requireJetStream: boolean): Promise<boolean> {
    try {
      const res = await fetch(`http://127.0.0.1:${this.httpPort}/healthz${requireJetStream ? '' : '?js-enabled-only=true'}`, { signal: AbortSignal.timeout(1000) });
      await res.body?.cancel();
      return res.ok;
    } catch {
      return false;
    }
  }

  tail(): string {
    try {
      return readFileSync(this.logFile, 'utf8').split('\n').slice(-20).join('\n');
    } catch {
      return '(no log)';
    }
  }
}

/** Server processes still running and their temp dirs: killed and removed if the test process exits without cleaning up. */
const liveProcesses = new Set<ChildProcess>();
const liveDirs = new Set<string>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const p of liveProcesses) {
      try { p.kill('SIGKILL'); } catch { /* already gone */ }
    }
    for (const d of liveDirs) rmSync(d, { recursive: true, force: true });
  });
}

/** Starts nats-server (one node or a 3-node cluster) with JetStream in a fresh temp dir. */
export async function startNatsServer(opts: StartNatsOptions = {}): Promise<NatsTestServer> {
  const { bin, version } = findNatsServer();
  installExitHook();
  const count = opts.nodes ?? 1;
  const tmp = tempDir('dw-nats-');
  const perNode = 2 + (opts.mqtt ? 1 : 0) + (count > 1 ? 1 : 0);
  const ports = await freeNatsPorts(count * perNode);
  const next = (): number => ports.shift()!;
  const specs: { name: string; port: number; httpPort: number; mqttPort: number | undefined; clusterPort: number | undefined }[] = [];
  for (let i = 1; i <= count; i++) {
    specs.push({
      name: `n${i}`,
      port: next(),
      httpPort: next(),
      mqttPort: opts.mqtt ? next() : undefined,
      clusterPort: count > 1 ? next() : undefined,
    });
  }
  const nodes: Node[] = specs.map((s) => {
    const dir = path.join(tmp.dir, s.name);
    mkdirSync(dir, { recursive: true });
    const configFile = path.join(dir, 'nats-server.conf');
    const storeDir = path.join(dir, 'jetstream');
    writeFileSync(configFile, natsServerConfig({
      serverName: s.name,
      host: '127.0.0.1',
      port: s.port,
      httpPort: s.httpPort,
      storeDir,
      ...(s.mqttPort !== undefined ? { mqttPort: s.mqttPort } : {}),
      ...(s.clusterPort !== undefined
        ? { cluster: { name: 'dw-test', port: s.clusterPort, routes: specs.filter((o) => o !== s).map((o) => o.clusterPort!) } }
        : {}),
    }));
    return new Node(bin, s.name, s.port, s.httpPort, s.mqttPort, s.clusterPort, storeDir, configFile, path.join(dir, 'nats-server.log'));
  });
  liveDirs.add(tmp.dir);
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await Promise.all(nodes.map((n) => n.stop()));
    tmp.cleanup();
    liveDirs.delete(tmp.dir);
  };
  try {
    for (let attempt = 1; ; attempt++) {
      for (const n of nodes) n.spawn();
      // A cluster is usable once the JetStream meta group has a leader: /healthz (without js-enabled-only) checks it.
      let ready: unknown;
      try {
        await Promise.all(nodes.map((n) => n.waitReady(opts.readyTimeoutMs ?? (count > 1 ? 20_000 : 30_000), count > 1)));
        ready = true;
      } catch (e) {
        // A cluster whose nodes stay "not current with the meta leader" (seen in CI once in a few runs): start over.
        if (count === 1) throw e;
        ready = e;
      }
      if (ready === true && (count === 1 || await metaGroupFormed(nodes, 5000))) break;
      // nats-server 2.10 sometimes bootstraps the meta group with the nodes it saw first and never adds the last one
      // (R3 streams then fail with "no suitable peers for placement"): start again from empty stores.
      if (attempt >= 3) {
        throw new Error(`the ${count}-node JetStream meta group did not form after ${attempt} attempts (${ready === true ? 'incomplete meta group' : String(ready)}):\n${nodes.map((n) => n.tail()).join('\n')}`);
      }
      await Promise.all(nodes.map((n) => n.kill('SIGKILL')));
      for (const n of nodes) rmSync(n.storeDir, { recursive: true, force: true });
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return { nodes, url: nodes.map((n) => n.url).join(','), dir: tmp.dir, version, stop };
}

/** Whether every node sees a meta leader and a meta group of all nodes (from /jsz). */
async function metaGroupFormed(nodes: Node[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const views = await Promise.all(nodes.map(async (n) => {
      try {
        const res = await fetch(`http://127.0.0.1:${n.httpPort}/jsz`, { signal: AbortSignal.timeout(1000) });
        return (await res.json()) as { meta_cluster?: { leader?: string; cluster_size?: number } };
      } catch {
        return undefined;
      }
    }));
    if (views.every((v) => v?.meta_cluster?.leader && v.meta_cluster.cluster_size === nodes.length)) return true;
    await sleep(100);
  }
  return false;
}
