import { DwError } from '../errors/index.ts';
import { scrubPaths } from './sandbox-guard.ts';

/** The errors of the lake sandbox (src/lake/sandbox.ts), re-exported from there. */

/** A query refused or failed. Its message never holds a path (scrubPaths): DuckDB's messages name the server's files. */
export class QueryError extends DwError {
  constructor(message: string, cause?: unknown) {
    super('DW_QUERY_FAILED', scrubPaths(message), { status: 400, cause });
  }
}

export class QueryTimeoutError extends DwError {
  constructor(timeoutMs: number) {
    super('DW_QUERY_TIMEOUT', `query stopped after its time limit of ${timeoutMs} ms (raise it with timeoutMs / --timeout, or narrow the query)`, { status: 408 });
  }
}

export class QueryCancelledError extends DwError {
  constructor() {
    super('DW_QUERY_CANCELLED', 'query cancelled', { status: 499 });
  }
}

/**
 * A query that needs more than its limits allow: an answer over its size limit (`analysis.maxResultBytes`), or more
 * memory than its engine may use (`analysis.memoryLimit`, or the analysis service's alarm on the process's memory).
 */
export class QueryTooLargeError extends DwError {
  constructor(message: string) {
    super('DW_QUERY_TOO_LARGE', message, { status: 413 });
  }
}
