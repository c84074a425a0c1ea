/**
 * The Parquet lake: layout and writer (with the exactly-once commit protocol), readers' file listing, query helper
 * and compaction. See docs/lake-format.md.
 */
export { LAKE_TABLES, isLakeTable, type LakeTable, type StreamRange, type HourPartition } from './layout.ts';
export { LakeWriter, type ArchiveRecord, type LakeWriterOptions, type StagedBatch, type SplitStrategy } from './writer.ts';
export { LakeWriteError, type ProtocolStep, type RecoveryReport } from './commit.ts';
export { listLiveFiles, type TimeRange } from './live-files.ts';
export { openLakeQuery, localLakeFiles, snapshotFiles, type LakeFileSource, type LakeQuery, type LakeQueryOptions, type QueryResult } from './query.ts';
export { LakeSandbox, QueryError, QueryTimeoutError, QueryCancelledError, jsonFriendly, type LakeFiles, type QueryCursor, type CursorOptions, type SandboxOptions } from './sandbox.ts';
export { formatResult, cellText, csvCell, type ResultFormat } from './format.ts';
export { compactLake, DEFAULT_COMPACTION_LEVEL, type CompactOptions, type CompactionResult } from './compact.ts';
export { LocalLakeStore, type LakeStore, type StoreEntry } from './fs-store.ts';
