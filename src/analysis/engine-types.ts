import type { CursorOptions, LakeFiles, QueryCursor, SandboxOptions } from '../lake/index.ts';

/**
 * What the analysis service asks of a query engine over one snapshot: the shape of LakeSandbox (src/lake/sandbox.ts),
 * which implements it in this process, and of RemoteSandbox (engine-process.ts), which runs the same LakeSandbox in a
 * query-engine process of its own under a hard memory limit.
 */
export interface QueryEngine {
  readonly files: LakeFiles;
  /** Queries and exports running on it now. */
  readonly running: number;
  /** No new query starts on it (retired by its owner, or its engine process is gone). */
  readonly isRetired: boolean;
  readonly isClosed: boolean;
  validate(sql: string): Promise<void>;
  cursor(sql: string, opts?: CursorOptions): Promise<QueryCursor>;
  copyToParquet(sql: string, opts?: Omit<CursorOptions, 'limit' | 'maxBytes'>): Promise<number>;
  /** Closes once the queries running on it are done. */
  retire(): void;
  close(): void;
}

/** Opens an engine over one tenant's files (`opts.tenant`). */
export type EngineOpener = (files: LakeFiles, opts: SandboxOptions) => Promise<QueryEngine>;
