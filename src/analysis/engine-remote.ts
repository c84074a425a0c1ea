import { DwError } from '../errors/index.ts';
import { QueryCancelledError, QueryTimeoutError, type CursorOptions, type LakeFiles, type QueryCursor, type SandboxOptions } from '../lake/index.ts';
import type { Page } from './engine-protocol.ts';
import type { EngineProcess } from './engine-process.ts';
import type { QueryEngine } from './engine-types.ts';

/**
 * How long past its time limit (or its cancel) a query's engine may take to stop it before the process is killed.
 * DuckDB checks for an interrupt between chunks; a chunk of huge values can take it seconds to produce.
 */
export const KILL_GRACE_MS = 1000;

/**
 * A LakeSandbox in a query-engine process (engine-process.ts), with the same API: the analysis service cannot tell
 * them apart. The engine enforces the limits as it does in-process (rows, bytes, time: LakeSandbox's cursor); this
 * side adds the bound that holds whatever DuckDB does: a query still running KILL_GRACE_MS after its time limit or its
 * cancel gets its process killed.
 */
export class RemoteSandbox implements QueryEngine {
  private active = 0;
  private retired = false;
  private closed = false;

  private constructor(private readonly engine: EngineProcess, private readonly sb: number, readonly files: LakeFiles) {}

  static async open(engine: EngineProcess, files: LakeFiles, opts: SandboxOptions): Promise<RemoteSandbox> {
    const sb = engine.id();
    await engine.request({ op: 'open', q: engine.id(), sb, files, opts });
    engine.sandboxes += 1;
    return new RemoteSandbox(engine, sb, files);
  }

  get running(): number {
    return this.active;
  }

  get isRetired(): boolean {
    return this.retired || this.engine.isRetired;
  }

  get isClosed(): boolean {
    return this.closed || (this.engine.isRetired && this.active === 0);
  }

  async validate(sql: string): Promise<void> {
    this.enter();
    try {
      await this.engine.request({ op: 'validate', q: this.engine.id(), sb: this.sb, sql });
    } finally {
      this.leave();
    }
  }

  async cursor(sql: string, opts: CursorOptions = {}): Promise<QueryCursor> {
    this.enter(opts.onRelease);
    const q = this.engine.id();
    const { limit, maxBytes, timeoutMs } = opts;
    const call = new Call(this.engine, q, opts, () => this.leave(opts.onRelease));
    const first = await call.run({ op: 'cursor', q, sb: this.sb, sql, limit, maxBytes, timeoutMs });
    if (first.re !== 'cursor') throw new DwError('DW_INTERNAL', `query engine answered ${first.re} to a query`);
    return remoteCursor(call, first);
  }

  async copyToParquet(sql: string, opts: Omit<CursorOptions, 'limit' | 'maxBytes'> = {}): Promise<number> {
    this.enter(opts.onRelease);
    const q = this.engine.id();
    const call = new Call(this.engine, q, opts, () => this.leave(opts.onRelease));
    try {
      const done = await call.run({ op: 'copy', q, sb: this.sb, sql, timeoutMs: opts.timeoutMs });
      return done.re === 'ok' ? done.value ?? 0 : 0;
    } finally {
      call.finish();
    }
  }

  retire(): void {
    if (this.retired) return;
    this.retired = true;
    this.engine.sandboxes -= 1;
    // The engine retires its LakeSandbox, which closes when its last query ends.
    this.engine.post({ op: 'retire', sb: this.sb });
    if (this.active === 0) this.closed = true;
  }

  close(): void {
    this.retire();
    this.closed = true;
  }

  private enter(onRelease?: () => void): void {
    if (this.isRetired) {
      onRelease?.();
      throw new DwError('DW_INTERNAL', 'lake sandbox already closed');
    }
    this.active += 1;
  }

  private leave(onRelease?: () => void): void {
    this.active -= 1;
    if (this.retired && this.active === 0) this.closed = true;
    onRelease?.();
  }
}

/**
 * One query on the engine: its requests, each under the kill bound (time limit or cancel + KILL_GRACE_MS), and its
 * end (finish(), once: the engine stops counting it, the sandbox releases it).
 */
class Call {
  private readonly deadline: number;
  private finished = false;
  private inFlight = false;
  /** Someone waits for the request in flight (not a page read ahead that the reader has not asked for yet). */
  awaited = false;
  cancelled = false;
  private readonly onAbort = (): void => this.cancel();

  constructor(private readonly engine: EngineProcess, readonly q: number, private readonly opts: Pick<CursorOptions, 'timeoutMs' | 'signal'>, private readonly release: () => void) {
    this.deadline = opts.timeoutMs && opts.timeoutMs > 0 ? performance.now() + opts.timeoutMs : Number.POSITIVE_INFINITY;
    engine.track(q, true);
    opts.signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  /** Sends a request of this query and waits for its answer; a failure ends the query. */
  async run(m: Parameters<EngineProcess['request']>[0], ahead = false) {
    if (this.cancelled || this.opts.signal?.aborted) {
      this.finish();
      throw new QueryCancelledError();
    }
    this.inFlight = true;
    this.awaited = !ahead;
    // Armed only while the engine works for this query: a reader that is slow to ask for the next page costs nothing.
    const wait = Number.isFinite(this.deadline) ? Math.max(0, this.deadline - performance.now()) + KILL_GRACE_MS : undefined;
    const timer = wait === undefined ? undefined : setTimeout(() => this.engine.kill(this.q, new QueryTimeoutError(this.opts.timeoutMs ?? 0)), wait);
    try {
      const reply = await this.engine.request(m);
      // Cancelled while the engine was answering (a page read ahead): the answer is dropped, the query is over.
      if (this.cancelled) throw new QueryCancelledError();
      return reply;
    } catch (e) {
      this.finish();
      throw e;
    } finally {
      this.inFlight = false;
      if (timer) clearTimeout(timer);
    }
  }

  /** Interrupts the query; if the engine does not answer within KILL_GRACE_MS, its process is killed. */
  cancel(): void {
    if (this.cancelled || this.finished) return;
    this.cancelled = true;
    this.engine.post({ op: 'cancel', q: this.q });
    // Between two reads (or with only a page read ahead in flight) nobody may come back for the answer: released now,
    // as in-process. A reader waiting for its answer gets QueryCancelledError with it, and is released then.
    if (!this.inFlight || !this.awaited) this.finish();
    if (!this.inFlight) return;
    // Unless the engine is stuck in the query: then its process goes.
    setTimeout(() => {
      if (this.inFlight) this.engine.kill(this.q, new QueryCancelledError());
    }, KILL_GRACE_MS).unref();
  }

  finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.opts.signal?.removeEventListener('abort', this.onAbort);
    this.engine.track(this.q, false);
    this.release();
  }
}

/** The service's cursor over a query running in the engine: pages are asked for one at a time, as they are read. */
function remoteCursor(call: Call, first: Page & { columns: string[]; columnTypes: string[] }): QueryCursor {
  let rowCount = first.rowCount;
  let truncated = first.truncated;
  let iterated = false;
  // Finished (the service's slot given back) when iteration ends, even if the engine is done already: as in-process,
  // the caller learns the query's end by iterating (or cancelling), never before it has the cursor.
  const note = (p: Page): void => {
    rowCount = p.rowCount;
    truncated = p.truncated;
  };
  async function* rows(): AsyncGenerator<unknown[][]> {
    let page: Page = first;
    try {
      for (;;) {
        if (call.cancelled) throw new QueryCancelledError();
        if (page.done) {
          if (page.rows.length > 0) yield page.rows;
          return;
        }
        // The next page is asked for before this one is handed on, so the engine converts it while the reader uses
        // this one (half the time of a large result); never more than one page ahead, as DuckDB runs one chunk ahead.
        const ahead = call.run({ op: 'more', q: call.q }, true);
        ahead.catch(() => undefined); // awaited below, unless the reader stops first
        if (page.rows.length > 0) yield page.rows;
        call.awaited = true;
        const next = await ahead;
        if (next.re !== 'rows') throw new DwError('DW_INTERNAL', `query engine answered ${next.re} to a page`);
        page = next;
        note(page);
      }
    } finally {
      // Iteration stopped early (a break, an error of the reader): the engine stops the query and frees its connection.
      if (page.done) call.finish();
      else call.cancel();
    }
  }
  return {
    columns: first.columns,
    columnTypes: first.columnTypes,
    get rowCount() {
      return rowCount;
    },
    get truncated() {
      return truncated;
    },
    cancel: () => call.cancel(),
    [Symbol.asyncIterator]() {
      if (iterated) throw new DwError('DW_INTERNAL', 'a query cursor can be iterated once');
      iterated = true;
      return rows();
    },
  };
}
