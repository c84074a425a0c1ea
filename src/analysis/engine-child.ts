/**
 * A query-engine process (engine-process.ts starts it): the LakeSandboxes of one force's snapshots, run here instead
 * of in the server so that the operating system's memory limit on this process (RLIMIT_DATA, set with prlimit) bounds
 * what DuckDB does not count itself, and so that a query that ignores its interrupt can be killed with the process.
 * It does what the service asks over the IPC channel (engine-protocol.ts) and nothing else; it exits when the channel
 * closes (the server stopped or died).
 */
import { LakeSandbox, type QueryCursor } from '../lake/sandbox.ts';
import { answerSize } from '../lake/sandbox-cursor.ts';
import { QueryTooLargeError } from '../lake/sandbox-errors.ts';
import { DwError } from '../errors/index.ts';
import { toWire, type FromEngine, type Page, type ToEngine } from './engine-protocol.ts';

interface Running {
  /** Aborted by `cancel`: interrupts the query whatever it is doing (opening, reading a page, writing Parquet). */
  abort: AbortController;
  cursor?: QueryCursor;
  pages?: AsyncIterator<unknown[][]>;
  /** Rows of the cursor's last batch not sent yet (a batch over PAGE_BYTES goes out in several pages). */
  left: unknown[][];
}

/**
 * Bytes of rows (answerSize, about their JSON) a page holds at most, unless one row alone is larger: an IPC message
 * is one JSON string, and a chunk of an export (no answer-size limit) can hold 2,048 values of any size.
 */
const PAGE_BYTES = 8 * 1024 * 1024;

const sandboxes = new Map<number, LakeSandbox>();
const running = new Map<number, Running>();

const send = (m: FromEngine): void => {
  // A page of a huge answer may take a while to go out: the next one is only read once the service asks for it.
  process.send?.(m);
};
const fail = (q: number, e: unknown): void => {
  // One value over what a JSON message can hold (~512 MB: an export has no answer-size limit).
  if (e instanceof RangeError && /string length/i.test(e.message)) e = new QueryTooLargeError('a value of the answer is too large to be passed on (over ~500 MB): select a shorter one (substr, length)');
  if (!(e instanceof DwError)) process.stderr.write(`dronewatch query engine: ${(e as Error)?.stack ?? String(e)}\n`);
  send({ re: 'error', q, error: toWire(e) });
};

function sandbox(sb: number): LakeSandbox {
  const s = sandboxes.get(sb);
  if (!s) throw new DwError('DW_INTERNAL', 'the query engine has no such snapshot (closed)');
  return s;
}

/** The next page of `q`: rows left of the cursor's last batch, else its next batch (cut at PAGE_BYTES), or the end. */
async function page(q: number, r: Running): Promise<Page> {
  const cur = r.cursor!;
  if (r.left.length === 0) {
    const next = await r.pages!.next();
    if (next.done) {
      running.delete(q);
      return { rows: [], done: true, truncated: cur.truncated, rowCount: cur.rowCount };
    }
    r.left = next.value;
  }
  let bytes = 0;
  let n = 0;
  while (n < r.left.length && (n === 0 || bytes + answerSize(r.left[n]) <= PAGE_BYTES)) bytes += answerSize(r.left[n++]);
  const rows = r.left.slice(0, n);
  r.left = r.left.slice(n);
  // rowCount as the reader will have it after this page (the cursor has converted the whole batch already).
  return { rows, done: false, truncated: cur.truncated, rowCount: cur.rowCount - r.left.length };
}

async function handle(m: ToEngine): Promise<void> {
  switch (m.op) {
    case 'open': {
      try {
        sandboxes.set(m.sb, await LakeSandbox.open(m.files, m.opts));
        send({ re: 'ok', q: m.q });
      } catch (e) {
        fail(m.q, e);
      }
      return;
    }
    case 'validate': {
      try {
        await sandbox(m.sb).validate(m.sql);
        send({ re: 'ok', q: m.q });
      } catch (e) {
        fail(m.q, e);
      }
      return;
    }
    case 'cursor': {
      const r: Running = { abort: new AbortController(), left: [] };
      running.set(m.q, r);
      try {
        const cur = await sandbox(m.sb).cursor(m.sql, { limit: m.limit, maxBytes: m.maxBytes, timeoutMs: m.timeoutMs, signal: r.abort.signal });
        r.cursor = cur;
        r.pages = cur[Symbol.asyncIterator]();
        const first = await page(m.q, r);
        send({ re: 'cursor', q: m.q, columns: [...cur.columns], columnTypes: [...cur.columnTypes], ...first });
      } catch (e) {
        running.delete(m.q);
        r.cursor?.cancel(); // a first page that could not be sent: the query's connection is released
        fail(m.q, e);
      }
      return;
    }
    case 'more': {
      const r = running.get(m.q);
      if (!r?.pages) return fail(m.q, new DwError('DW_INTERNAL', 'no such query in the engine'));
      try {
        send({ re: 'rows', q: m.q, ...(await page(m.q, r)) });
      } catch (e) {
        running.delete(m.q);
        r.cursor?.cancel();
        fail(m.q, e);
      }
      return;
    }
    case 'cancel': {
      const r = running.get(m.q);
      if (!r) return;
      r.abort.abort();
      // Between two pages nothing is being read: the cursor releases its connection now; a read in flight ends with
      // QueryCancelledError, which answers the service's pending request.
      r.cursor?.cancel();
      return;
    }
    case 'copy': {
      const r: Running = { abort: new AbortController(), left: [] };
      running.set(m.q, r);
      try {
        const rows = await sandbox(m.sb).copyToParquet(m.sql, { timeoutMs: m.timeoutMs, signal: r.abort.signal });
        send({ re: 'ok', q: m.q, value: rows });
      } catch (e) {
        fail(m.q, e);
      } finally {
        running.delete(m.q);
      }
      return;
    }
    case 'retire':
    case 'close': {
      // Both retire: closing a DuckDB under a query still working on it (one the service gave up on) corrupts memory.
      sandboxes.get(m.sb)?.retire();
      sandboxes.delete(m.sb);
      return;
    }
  }
}

process.on('message', (m: ToEngine) => void handle(m));
// The server stopped or died: nothing more will be asked, and nobody reads the answers.
process.on('disconnect', () => process.exit(0));
send({ re: 'ready' });
