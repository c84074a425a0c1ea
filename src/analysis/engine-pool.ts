import type { LakeFiles, SandboxOptions } from '../lake/index.ts';
import type { Logger } from '../util/log.ts';
import { EngineProcess } from './engine-process.ts';
import { RemoteSandbox } from './engine-remote.ts';
import type { QueryEngine } from './engine-types.ts';

export interface EnginePoolOptions {
  /** RLIMIT_DATA of each process (analysis.engineMemoryBytes). */
  memoryBytes: number;
  /** Processes at most; beyond, the one idle the longest is stopped (its snapshots are rebuilt on the next query). */
  max: number;
  /** A process with no snapshot open and no query for this long is stopped. */
  idleMs: number;
  logger: Logger;
}

/**
 * The query-engine processes of the analysis service: one per force (tenant), started on its first query, kept warm
 * while it has snapshots open, started afresh after it died. One per force, not one shared, so that a force's query
 * that runs out of memory or past its time limit takes down only that force's queries, never another's (each force's
 * traffic never affects another's); and a force's engine only ever holds that force's files. The service runs at
 * most analysis.maxQueries queries at once, so at most that many processes are busy: the memory analysis may take
 * is maxQueries x engineMemoryBytes, plus a few tens of MB for each idle process.
 */
export class EnginePool {
  private readonly engines = new Map<string, EngineProcess>();
  /** Every process not yet exited, draining ones included (close() stops them all). */
  private readonly all = new Set<EngineProcess>();
  private readonly timer: NodeJS.Timeout;
  private closed = false;

  constructor(private readonly opts: EnginePoolOptions) {
    this.timer = setInterval(() => this.sweep(), Math.max(250, Math.min(opts.idleMs, 30_000)));
    this.timer.unref();
  }

  /** Opens a snapshot's (or an export's) engine over `files` in the process of `opts.tenant`. */
  open = async (files: LakeFiles, opts: SandboxOptions): Promise<QueryEngine> => {
    return RemoteSandbox.open(this.engine(opts.tenant ?? ''), files, opts);
  };

  /** The live process of `tenant` (tests: its pid). */
  process(tenant: string): EngineProcess | undefined {
    const e = this.engines.get(tenant);
    return e && !e.isRetired ? e : undefined;
  }

  /** Stops processes idle for idleMs, and forgets dead ones. */
  sweep(): void {
    for (const [tenant, e] of this.engines) {
      if (e.isRetired) this.engines.delete(tenant); // gone, or draining: it stops itself after its last query
      else if (e.sandboxes <= 0 && e.idleFor >= this.opts.idleMs) {
        this.engines.delete(tenant);
        void e.stop();
      }
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    const all = [...this.all];
    this.engines.clear();
    await Promise.all(all.map((e) => e.stop()));
  }

  private engine(tenant: string): EngineProcess {
    if (this.closed) throw new Error('the analysis service is closed');
    const live = this.process(tenant);
    if (live) return live;
    this.engines.delete(tenant);
    this.makeRoom();
    const e = new EngineProcess({ memoryBytes: this.opts.memoryBytes, tenant, logger: this.opts.logger });
    this.engines.set(tenant, e);
    this.all.add(e);
    void e.exited.then(() => this.all.delete(e));
    return e;
  }

  /** At the cap, stops the process idle the longest (no query running: its snapshots are rebuilt when next used). */
  private makeRoom(): void {
    this.sweep();
    if (this.engines.size < this.opts.max) return;
    let oldest: [string, EngineProcess] | undefined;
    for (const entry of this.engines) {
      if (entry[1].running === 0 && (!oldest || entry[1].idleFor > oldest[1].idleFor)) oldest = entry;
    }
    if (!oldest) return; // all busy: admission (maxQueries) keeps this from lasting
    this.engines.delete(oldest[0]);
    void oldest[1].stop();
  }
}
