/**
 * The Parquet lake on any object store (a local directory or S3): layout and writer (with the exactly-once commit
 * protocol), readers' file listing and local cache, query helper, compaction, retention and statistics.
 * See docs/lake-format.md.
 */
export { LAKE_TABLES, isLakeTable, isValidTenant, checkTenant, tenantPrefix, TENANT_PATTERN, type LakeTable, type StreamRange, type HourPartition } from './layout.ts';
export { LakeWriter, type ArchiveRecord, type LakeWriterOptions, type StagedBatch, type StagedFile, type SplitStrategy } from './writer.ts';
export { LakeWriteError, type Decision, type PendingBatch, type ProtocolStep, type RecoveryReport } from './commit.ts';
export { listLiveFiles, liveDataFiles, listTenants, type DataFile, type TenantScope, type TimeRange } from './live-files.ts';
export { listedFileGone, openLakeQuery, openSnapshot, snapshotFiles, tableRange, type LakeFileSource, type LakeQuery, type LakeQueryOptions, type QueryResult } from './query.ts';
export { lakeFilesFor, localLakeFiles, DEFAULT_LAKE_CACHE_BYTES, type LakeFileSet, type LakeFilesOptions } from './sources.ts';
export { LakeCache, LakeCacheError, type LakeCacheStats } from './cache.ts';
export { allLakeFiles, LakeSandbox, QueryError, QueryTimeoutError, QueryCancelledError, jsonFriendly, type LakeFiles, type QueryCursor, type CursorOptions, type SandboxOptions } from './sandbox.ts';
export { formatResult, cellText, csvCell, type ResultFormat } from './format.ts';
export { compactLake, DEFAULT_COMPACTION_LEVEL, DEFAULT_COMPACTION_MEMORY_LIMIT, DEFAULT_HOUR_COMPACTION_LEVEL, type CompactOptions, type CompactionResult, type CompactionStep } from './compact.ts';
export { applyRetention, type RetentionOptions, type RetentionResult, type RetentionPartition } from './retention.ts';
export { lakeStats, type LakeStats, type TableStats } from './stats.ts';
export { lakeStore, withLakeStore, type LakeLocationOrStore } from './store.ts';
