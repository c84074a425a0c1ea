/**
 * A compaction pass in a short-lived child process (docs/lake-format.md, "Compaction", "In a child process").
 *
 * A closed hour's merge sorts a whole tenant-hour in DuckDB (up to its memory_limit, 1 GB by default): run in the
 * archive worker's thread, the memory it touched stays in the platform's RSS after the merge (glibc's arenas and
 * DuckDB's buffers are not all returned to the system), and the soak's RSS grew with every merge. In a child, all of
 * it goes back to the system when the child exits.
 *
 * The child runs the same `compactLake` as in-process, on a store it opens from the same lake location and the same
 * environment (S3 and HDFS credentials are environment variables): the merge protocol is unchanged, so every
 * exactly-once and crash guarantee holds as it does for a compactor killed at any step (test/lake/compact-crash.test.ts).
 * Stopping it is killing it (SIGKILL): nothing of a merge in progress is switched (or, if it was, the merged file is a
 * complete one and its inputs are swept later), and its scratch directory is removed here and by the next
 * process that opens one under the same parent. The child also exits when its parent does (its IPC channel closes).
 *
 * Protocol (IPC): parent -> child `{ type: 'run', lakeRoot, opts, logLevel }`; child -> parent `{ type: 'log', line }`
 * (a pino JSON line, re-logged by the parent's logger), `{ type: 'step', step, output }` (onStep), then
 * `{ type: 'done', result }` or `{ type: 'failed', message }`, and it exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import pino from 'pino';
import { silentLogger, type Logger } from '../util/log.ts';
import { compactLake, type CompactOptions, type CompactionResult, type CompactionStep } from './compact.ts';
import { sweepDeadScratch } from './scratch.ts';

/**
 * What can cross to the child: the options without the logger, signal and hooks. A `plan` (plain data) is merged as
 * given: the archive worker plans first to decide whether to start a child at all, and the child listing the lake
 * again would double each pass's listing (on S3 or HDFS, a LIST of every hour in the window).
 */
export type CompactProcessOptions = Omit<CompactOptions, 'logger' | 'signal' | 'onStep'>;

export type CompactChildMessage =
  | { type: 'log'; line: string }
  | { type: 'step'; step: CompactionStep; output: string }
  | { type: 'done'; result: CompactionResult }
  | { type: 'failed'; message: string };

export interface CompactInChildOptions {
  logger?: Logger;
  /** Aborted: the child is killed (SIGKILL) and the result says `stopped`. */
  signal?: AbortSignal;
  /** Called after each step of each merge, as the child reports it (tests). */
  onStep?: (step: CompactionStep, output: string) => void;
  /** Extra environment of the child (tests); the parent's environment otherwise. */
  env?: NodeJS.ProcessEnv;
  /** The child's pid once spawned (tests). */
  onSpawn?: (child: ChildProcess) => void;
}

/** The entry module and the module it runs: .ts under src/ (through tsx), .js in the compiled dist/. */
function childCommand(): { entry: string; module: string } {
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  return {
    entry: new URL('./compact-process-entry.js', import.meta.url).pathname,
    module: new URL(`./compact-process${ext}`, import.meta.url).href,
  };
}

/**
 * Runs `compactLake(lakeRoot, opts)` in a child process and resolves with its result. The lake must be given by its
 * location (a directory, `s3://...`, `webhdfs://...`): the child opens its own store.
 */
export function compactLakeInChild(lakeRoot: string, opts: CompactProcessOptions, o: CompactInChildOptions = {}): Promise<CompactionResult> {
  const logger = o.logger ?? silentLogger;
  const stoppedResult = (): CompactionResult => ({
    table: opts.table, merged: 0, inputs: 0, rows: 0, bytesBefore: 0, bytesAfter: 0, swept: 0, withdrawn: 0, hours: 0,
    nameTooLong: 0, crossings: 0, duplicates: 0, stopped: true,
  });
  if (o.signal?.aborted) return Promise.resolve(stoppedResult());
  const { entry, module } = childCommand();
  const child = spawn(process.execPath, [entry, module], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], env: o.env ?? process.env, serialization: 'advanced' });
  o.onSpawn?.(child);
  return new Promise<CompactionResult>((resolve, reject) => {
    let outcome: { result: CompactionResult } | { error: Error } | undefined;
    let killed = false;
    const kill = (): void => {
      killed = true;
      child.kill('SIGKILL');
    };
    o.signal?.addEventListener('abort', kill, { once: true });
    child.on('message', (m: CompactChildMessage) => {
      if (m.type === 'log') relog(logger, m.line);
      else if (m.type === 'step') o.onStep?.(m.step, m.output);
      else if (m.type === 'done') outcome = { result: m.result };
      else if (m.type === 'failed') outcome = { error: new Error(m.message) };
    });
    child.on('error', (e) => {
      outcome ??= { error: e };
    });
    child.on('exit', (code, signal) => {
      o.signal?.removeEventListener('abort', kill);
      const done = (): void => {
        if (killed && !(outcome && 'result' in outcome)) resolve(stoppedResult());
        else if (outcome && 'result' in outcome) resolve(outcome.result);
        else reject(outcome?.error ?? new Error(`compaction process exited (${signal ?? code}) without a result`));
      };
      // A killed child leaves its scratch directory (downloaded inputs, DuckDB's spill): removed now, not at the
      // next compaction (the platform may be stopping for good).
      if (code === 0) done();
      else void sweepDeadScratch(opts.scratchDir).catch(() => undefined).then(done);
    });
    child.send({ type: 'run', lakeRoot, opts, logLevel: logger.level });
  });
}

/** A child's pino line, logged again by the parent's logger at its level (its own `pid` kept as `compactorPid`). */
function relog(logger: Logger, line: string): void {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return;
  }
  const { level, msg, time: _time, pid, hostname: _host, component: _component, ...rest } = o;
  const name = pino.levels.labels[Number(level)] as 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'fatal' | undefined;
  if (!name) return;
  logger[name]({ ...rest, compactorPid: pid }, String(msg ?? ''));
}

/** The child's side: compact-process-entry.js calls it in the child process (with an IPC channel). */
export async function compactChildMain(): Promise<void> {
  const send = (m: CompactChildMessage): Promise<void> => new Promise((resolve) => {
    if (!process.connected) return resolve();
    process.send!(m, undefined, {}, () => resolve());
  });
  // The parent gone (killed, crashed): nothing would read the result, and a merge is optional work redone later.
  process.on('disconnect', () => process.exit(0));
  const msg = await new Promise<{ type: 'run'; lakeRoot: string; opts: CompactProcessOptions; logLevel: string }>((resolve) => {
    process.once('message', (m) => resolve(m as { type: 'run'; lakeRoot: string; opts: CompactProcessOptions; logLevel: string }));
  });
  const pauseAfter = process.env.DW_TEST_COMPACT_CHILD_PAUSE_AFTER;
  const logger = pino({ level: msg.logLevel || 'info', base: { pid: process.pid } }, { write: (line: string) => void send({ type: 'log', line: line.trimEnd() }) });
  try {
    const result = await compactLake(msg.lakeRoot, {
      ...msg.opts, logger,
      onStep: (step, group) => {
        void send({ type: 'step', step, output: group.output });
        // Tests only: hold the child right after this step (a merge in progress), for a stop to kill it there.
        if (pauseAfter === step) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 120_000);
      },
    });
    await send({ type: 'done', result });
  } catch (e) {
    await send({ type: 'failed', message: (e as Error).message });
  }
  process.disconnect();
}
