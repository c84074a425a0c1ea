import { DwError, type ErrorCode } from '../errors/index.ts';
import { QueryCancelledError, QueryError } from '../lake/sandbox-errors.ts';
import type { LakeFiles, SandboxOptions } from '../lake/sandbox.ts';

/**
 * The messages between the analysis service and a query-engine process (engine-child.ts), over Node's IPC channel
 * (JSON). `q` numbers a request; a cursor keeps its request's number for its later pages. Rows are sent as the
 * sandbox's cursor gives them (jsonFriendly values, JSON-safe), one page per `more`: the child reads no further than
 * what the service has asked for, so a slow reader holds back DuckDB as it does in-process.
 */
export type ToEngine =
  | { op: 'open'; q: number; sb: number; files: LakeFiles; opts: SandboxOptions }
  | { op: 'validate'; q: number; sb: number; sql: string }
  | { op: 'cursor'; q: number; sb: number; sql: string; limit?: number; maxBytes?: number; timeoutMs?: number }
  | { op: 'more'; q: number }
  | { op: 'cancel'; q: number }
  | { op: 'copy'; q: number; sb: number; sql: string; timeoutMs?: number }
  | { op: 'retire'; sb: number }
  | { op: 'close'; sb: number };

/** A page of a cursor: its rows, and whether it was the last (`done`: the child released the query's connection). */
export interface Page {
  rows: unknown[][];
  done: boolean;
  truncated: boolean;
  rowCount: number;
}

export type FromEngine =
  /** Sent once, when the child listens: messages sent before would be lost. */
  | { re: 'ready' }
  | { re: 'ok'; q: number; value?: number }
  | ({ re: 'cursor'; q: number; columns: string[]; columnTypes: string[] } & Page)
  | ({ re: 'rows'; q: number } & Page)
  | { re: 'error'; q: number; error: WireError };

export interface WireError {
  code: ErrorCode;
  message: string;
  status: number;
}

export function toWire(e: unknown): WireError {
  if (e instanceof DwError) return { code: e.code, message: e.message, status: e.status };
  // Not a DwError: a bug in the child; its message may name paths, so only the class goes out (the child logs it).
  return { code: 'DW_INTERNAL', message: `query engine failure (${(e as Error)?.name ?? typeof e})`, status: 500 };
}

/** The error the child threw, as a DwError of the same code, status and message. */
export function fromWire(w: WireError): DwError {
  if (w.code === 'DW_QUERY_CANCELLED') return new QueryCancelledError();
  if (w.code === 'DW_QUERY_FAILED') return new QueryError(w.message);
  return new DwError(w.code, w.message, { status: w.status });
}
