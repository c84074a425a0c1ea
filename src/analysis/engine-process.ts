import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import type { Socket } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DwError } from '../errors/index.ts';
import { recordEngineExit } from '../metrics/record.ts';
import { QueryTooLargeError } from '../lake/sandbox-errors.ts';
import type { Logger } from '../util/log.ts';
import { fromWire, type FromEngine, type ToEngine } from './engine-protocol.ts';

/**
 * One query-engine process: a Node process running engine-child.ts (LakeSandboxes, DuckDB) under an operating-system
 * memory limit, spoken to over an IPC channel. Started as `prlimit --data=<bytes> -- node engine-entry.js <child>`:
 * RLIMIT_DATA counts the process's writable private memory (malloc, DuckDB's buffers, V8's used heap, but not V8's
 * PROT_NONE reservations, so Node starts under it), so an allocation past it fails inside the process (DuckDB then
 * answers its own "Out of Memory Error", or the process dies) and the server's own memory is never at stake.
 *
 * Requests are answered in order per query; the process's death fails the queries it was running (and only those)
 * with the error of its cause: the one it was killed for (kill()), DW_QUERY_TOO_LARGE when it ran out of memory,
 * else the retryable EngineRestartedError.
 */

/** 503 DW_QUERY_ENGINE_RESTARTED: the engine process died under a query that did not cause it. Retryable. */
export class EngineRestartedError extends DwError {
  readonly retryAfterSeconds = 1;
  constructor(message: string) {
    super('DW_QUERY_ENGINE_RESTARTED', message, { status: 503 });
  }
}

export interface EngineProcessOptions {
  /** RLIMIT_DATA of the process, bytes (analysis.engineMemoryBytes). */
  memoryBytes: number;
  /** Whose queries it runs (log lines only). */
  tenant: string;
  logger: Logger;
  /** The prlimit binary; default the one on PATH (findPrlimit). null: none (tests of the fallback). */
  prlimit?: string | null | undefined;
}

/** stderr kept for the cause of a death (V8's and DuckDB's last words). */
const STDERR_TAIL = 4096;
const OOM_WORDS = /out of memory|bad_alloc|allocation failed|Cannot allocate memory/i;

/**
 * What the engine gets of the server's environment: what Node, tsx and the locale need, not the server's secrets
 * (object-store keys, tokens). Analysts' SQL runs there; DuckDB has no getenv(), but nothing there needs them.
 */
const ENGINE_ENV = /^(PATH|HOME|TMPDIR|TZ|LANG|LC_[A-Z_]+|NODE_[A-Z_]+|TSX_[A-Z_]+)$/;

function engineEnv(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => ENGINE_ENV.test(k)));
  // Read only when the engine runs from src/ (from dist/ it loads neither tsx nor esbuild): tsx compiles a module its
  // cache misses with esbuild's transformSync, which runs in a worker thread, and on Node 24 no worker thread starts
  // under a 1 GiB data limit (V8 cannot reserve its CodeRange; docs/runtime.md). Without threads esbuild compiles in
  // a child process.
  env.ESBUILD_WORKER_THREADS = '0';
  return env;
}

let warnedNoPrlimit = false;
let prlimitPath: string | null | undefined;
/** prlimit (util-linux) on PATH, or null. Looked up once. */
export function findPrlimit(): string | null {
  if (prlimitPath !== undefined) return prlimitPath;
  prlimitPath = null;
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(path.delimiter)) {
    const p = path.join(dir || '.', 'prlimit');
    try {
      accessSync(p, constants.X_OK);
      prlimitPath = p;
      break;
    } catch {
      // not there
    }
  }
  return prlimitPath;
}

type Reply = Exclude<FromEngine, { re: 'ready' }>;
interface Pending {
  resolve: (m: Reply) => void;
  reject: (e: DwError) => void;
}

export class EngineProcess {
  private readonly child: ChildProcess;
  private readonly ready: Promise<void>;
  private readonly pending = new Map<number, Pending>();
  /** Queries (cursors, exports) started on it and not finished: the ones its death fails. */
  private readonly active = new Set<number>();
  /** Why a query was killed (kill()): its error when the process is gone. */
  private readonly blame = new Map<number, DwError>();
  /** Each running query's error once the process is gone (others: `deathError`). */
  private readonly fate = new Map<number, DwError>();
  private deathError: DwError | undefined;
  private stderrTail = '';
  /** Requests waiting for their answer (or for the process to be ready). */
  private awaiting = 0;
  /** Met its memory limit: finishing its queries, then stopped (drain()). */
  private draining = false;
  /** It said it listens (the 'ready' message). */
  private started = false;
  /** Killed or asked to stop: its exit is awaited (the process stays ref'd). */
  private stopping = false;
  private nextId = 1;
  private lastUsed = performance.now();
  readonly exited: Promise<void>;
  /** Open sandboxes (snapshots, an export's) on it. */
  sandboxes = 0;

  constructor(private readonly opts: EngineProcessOptions) {
    // engine-child.ts from src/ (through tsx), engine-child.js in the compiled dist/: whichever sits beside this module.
    const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
    const entry = fileURLToPath(new URL('./engine-entry.js', import.meta.url));
    const module = new URL(`./engine-child${ext}`, import.meta.url).href;
    const prlimit = opts.prlimit === undefined ? findPrlimit() : opts.prlimit;
    // V8 does not know of RLIMIT_DATA: left at its default heap limit (a quarter of the machine's memory) it would let
    // garbage pile up past the process's limit and die collecting it. Half the limit makes it collect in time and
    // leaves the rest to DuckDB (which its memory_limit bounds first).
    const heapMiB = Math.max(128, Math.floor(opts.memoryBytes / 2 / 1024 ** 2));
    const node = [process.execPath, `--max-old-space-size=${heapMiB}`, entry, module];
    if (!prlimit && (!warnedNoPrlimit || opts.prlimit === null)) {
      warnedNoPrlimit = true;
      opts.logger.warn('prlimit not found (apt-get install util-linux): query engines run without a memory limit of their own');
    }
    const [cmd, ...args] = prlimit ? [prlimit, `--data=${opts.memoryBytes}`, '--', ...node] : node;
    // stdout unused; stderr kept (its tail says why a process died); IPC for requests.
    this.child = spawn(cmd!, args, { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], env: engineEnv(), serialization: 'json' });
    // Not passed on as it comes (the server logs structured lines): logged with the failure it explains.
    this.child.stderr!.on('data', (b: Buffer) => {
      this.stderrTail = (this.stderrTail + b.toString()).slice(-STDERR_TAIL);
    });
    (this.child.stderr as Socket).unref();
    let started!: () => void;
    let notStarted!: (e: DwError) => void;
    this.ready = new Promise((resolve, reject) => {
      started = resolve;
      notStarted = reject;
    });
    this.ready.catch(() => undefined);
    this.child.on('message', (m: FromEngine) => {
      if (m.re === 'ready') {
        this.started = true;
        return started();
      }
      const p = this.pending.get(m.q);
      if (!p) return;
      this.pending.delete(m.q);
      if (m.re === 'error' && m.error.code === 'DW_INTERNAL') {
        opts.logger.error({ tenant: opts.tenant, pid: this.child.pid, message: m.error.message, stderr: this.stderrTail.slice(-1000) }, 'query engine failure');
      }
      // DuckDB's own out-of-memory error (not the answer-size limit: sandbox.ts words them differently). The engine
      // answered, but a process that met its limit keeps what malloc and DuckDB hold on to: the next query of the force
      // could fail at its first allocation. It takes no new query and ends with its last one; a fresh one takes over.
      if (m.re === 'error' && m.error.code === 'DW_QUERY_TOO_LARGE' && /needs more memory/.test(m.error.message)) this.drain();
      if (m.re === 'error') p.reject(fromWire(m.error));
      else p.resolve(m);
    });
    let gone!: () => void;
    this.exited = new Promise((resolve) => (gone = resolve));
    this.child.on('exit', (code, signal) => {
      this.died(code, signal);
      notStarted(this.deathError!);
      gone();
    });
    this.child.on('error', (e) => {
      // spawn itself failed (no such file): 'exit' may not follow.
      opts.logger.error({ err: e, tenant: opts.tenant }, 'query engine process could not start');
      this.died(null, null);
      notStarted(this.deathError!);
      if (this.child.pid === undefined) gone();
    });
    this.child.unref();
    this.child.channel?.unref();
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get isDead(): boolean {
    return this.deathError !== undefined;
  }

  /** Queries running on it now. */
  get running(): number {
    return this.active.size;
  }

  /** ms since it last started or ended a query, or opened or closed a sandbox. */
  get idleFor(): number {
    return this.active.size > 0 || this.awaiting > 0 ? 0 : performance.now() - this.lastUsed;
  }

  id(): number {
    this.lastUsed = performance.now();
    return this.nextId++;
  }

  /** A query starts (`start`) or ends: its death is reported to the running ones only. */
  track(q: number, start: boolean): void {
    this.lastUsed = performance.now();
    if (start) this.active.add(q);
    else {
      this.active.delete(q);
      this.blame.delete(q);
      this.fate.delete(q);
      if (this.draining && this.active.size === 0) void this.stop();
    }
  }

  /** Takes no new snapshot or query (its sandboxes say they are retired) and stops once its last query ends. */
  drain(): void {
    if (this.draining || this.deathError) return;
    this.draining = true;
    this.opts.logger.info({ tenant: this.opts.tenant, pid: this.child.pid }, 'query engine met its memory limit: replaced by a fresh one');
    if (this.active.size === 0) void this.stop();
  }

  /** Draining (drain()) or gone: no new work goes to it. */
  get isRetired(): boolean {
    return this.draining || this.deathError !== undefined;
  }

  /** Sends a request and waits for its answer; rejects with the query's error if the process is (or goes) away. */
  async request(m: Extract<ToEngine, { q: number }>): Promise<Reply> {
    if (this.deathError) throw this.errorOf(m.q);
    // The channel keeps the server's event loop alive only while an answer is awaited (a CLI query waits for nothing
    // else); an idle engine never holds a process open.
    this.awaiting += 1;
    this.child.channel?.ref();
    // The process too: a channel closed by its death no longer holds the loop, and its exit must still be seen.
    this.child.ref();
    try {
      await this.ready;
      if (this.deathError) throw this.errorOf(m.q);
      return await new Promise<Reply>((resolve, reject) => {
        this.pending.set(m.q, { resolve, reject });
        this.child.send(m, (e) => {
          if (e && this.pending.delete(m.q)) reject(this.deathError ? this.errorOf(m.q) : new EngineRestartedError(`the query engine could not be reached (${e.message}); retry`));
        });
      });
    } finally {
      this.awaiting -= 1;
      if (this.awaiting === 0) {
        this.child.channel?.unref();
        if (!this.stopping) this.child.unref();
      }
    }
  }

  /** A message without an answer (cancel, retire); dropped if the process is gone. */
  post(m: ToEngine): void {
    if (this.deathError) return;
    void this.ready.then(() => {
      if (!this.deathError && this.child.connected) this.child.send(m, () => undefined);
    }, () => undefined);
  }

  /**
   * Kills the process (SIGKILL: it did not answer an interrupt in time) because of query `q`, which fails with
   * `reason`; the others it was running fail with EngineRestartedError.
   */
  kill(q: number, reason: DwError): void {
    if (this.deathError) return;
    this.blame.set(q, reason);
    this.stopping = true;
    this.child.ref();
    this.opts.logger.warn({ tenant: this.opts.tenant, pid: this.child.pid, code: reason.code }, 'query engine did not stop a query in time: killed');
    this.child.kill('SIGKILL');
  }

  /** Ends the process (nothing running: closing the channel makes it exit; SIGKILL otherwise). */
  stop(): Promise<void> {
    if (!this.deathError) {
      // Whoever awaits the end keeps the event loop alive until it comes (the process is unref'd otherwise).
      this.stopping = true;
      this.child.ref();
      if (this.active.size > 0) this.child.kill('SIGKILL');
      else if (this.child.connected) this.child.disconnect();
      else this.child.kill('SIGKILL');
    }
    return this.exited;
  }

  /** The error query `q` fails with now that the process is gone. */
  private errorOf(q: number): DwError {
    return this.fate.get(q) ?? this.deathError!;
  }

  private died(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.deathError) return;
    const killed = this.blame.size > 0;
    // Before it was ready: whatever its last words (V8 cannot reserve its memory at start under too low a limit, which
    // reads like an out-of-memory), no query caused it.
    const startFailed = !this.started && !this.stopping;
    const oom = !killed && !startFailed && OOM_WORDS.test(this.stderrTail);
    const how = signal ? `signal ${signal}` : `exit code ${code}`;
    const running = this.active.size;
    this.deathError = oom
      ? new QueryTooLargeError(`the query needs more memory than its engine process may use (analysis.engineMemoryBytes ${this.opts.memoryBytes} bytes): narrow it (time range, columns, shorter values), or raise the limit; other queries of your force running on the same engine stopped with it`)
      : new EngineRestartedError(killed
        ? 'the query engine was restarted under this query because another query of your force did not stop in time; retry'
        : startFailed ? `the query engine process could not start (${how}); retry, and if it persists tell the operator (the server's log says why)`
          : `the query engine process stopped (${how}) under this query; retry`);
    for (const [q, e] of this.blame) this.fate.set(q, e);
    recordEngineExit(this.opts.tenant, killed ? 'killed' : startFailed ? 'start_failed' : this.stopping ? 'stopped' : oom ? 'out_of_memory' : 'died');
    if (startFailed) {
      this.opts.logger.error({ tenant: this.opts.tenant, code, signal, stderr: this.stderrTail.slice(-1000) }, 'query engine process ended before it was ready');
    } else if (running > 0 && !killed) {
      this.opts.logger[oom ? 'warn' : 'error']({ tenant: this.opts.tenant, pid: this.child.pid, code, signal, running, stderr: this.stderrTail.slice(-1000) }, oom ? 'query engine ran out of memory' : 'query engine process died');
    }
    for (const [q, p] of this.pending) p.reject(this.errorOf(q));
    this.pending.clear();
  }

}
