export { SqliteStream, type SqliteStreamOptions } from './stream.ts';
export type { SyncLevel } from './schema.ts';
