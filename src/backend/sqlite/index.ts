/** The embedded backend: everything in SQLite files under the data directory (one host). */
import path from 'node:path';
import { ConfigError } from '../../errors/index.ts';
import type { Stream } from '../../stream/types.ts';
import type { BackendConfig, BackendOptions, BackendParts } from '../types.ts';
import { SqliteStream } from './stream/index.ts';

export { SqliteStream, type SqliteStreamOptions } from './stream/index.ts';
export type { SyncLevel } from './stream/schema.ts';
export { AlertStore, openAlertStore, type AlertStoreOptions } from './alerts/store.ts';
export { SecurityStore } from './security/credential-store.ts';
export { openSavedQueryStore } from './saved-queries.ts';

/**
 * `sqlite`: the embedded log in `<dataDir>/stream.db`; `sqlite:/abs/path.db`: in that file.
 */
export function openSqliteStream(url: string, config: BackendConfig, opts: BackendOptions): Promise<Stream> {
  const sqliteOpts = {
    sync: config.stream.sync, ...(opts.logger ? { logger: opts.logger } : {}), ...(opts.checkpointThreads === false ? { checkpointThread: false } : {}),
  } as const;
  if (url === 'sqlite') return SqliteStream.open(path.join(path.resolve(config.dataDir), 'stream.db'), sqliteOpts);
  const file = url.slice('sqlite:'.length);
  if (!path.isAbsolute(file)) {
    throw new ConfigError(`stream.url "${url}": the database path after "sqlite:" must be absolute (or use "sqlite" for <dataDir>/stream.db)`, [
      { field: 'stream.url', reason: 'sqlite: path must be absolute' },
    ]);
  }
  return SqliteStream.open(file, sqliteOpts);
}

export function sqliteBackend(config: BackendConfig, opts: BackendOptions): BackendParts {
  return { stream: () => openSqliteStream(config.stream.url, config, opts) };
}
