/** Stream consumer 2: the archive worker, from the `reports` and `alerts` topics to the Parquet lake. */
export { ArchiveWorker, type ArchiveWorkerOptions, type ArchiveStats, type ArchiveTopic } from './worker.ts';
export type { BatchInfo, StepHook, TopicStats } from './topic-archiver.ts';
export { emptyTopicStats } from './topic-archiver.ts';
