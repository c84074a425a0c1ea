import path from 'node:path';
import { ConfigError } from '../errors/index.ts';
import type { Logger } from '../util/log.ts';
import { SqliteStream } from './sqlite/index.ts';
import type { Stream } from './types.ts';

export * from './types.ts';
export { TOPICS, DEFAULT_TOPIC_CONFIG } from './topics.ts';
export { StreamNotOwnerError } from './errors.ts';
export { SqliteStream, type SqliteStreamOptions, type SyncLevel } from './sqlite/index.ts';

export interface OpenStreamOptions {
  dataDir: string;
  /** Embedded log only (see SqliteStreamOptions.sync). */
  sync?: 'normal' | 'full';
  logger?: Logger;
}

/**
 * Opens the stream named by the `stream.url` setting:
 * - `sqlite`: the embedded log in `<dataDir>/stream.db`;
 * - `sqlite:/abs/path.db`: the embedded log in that file;
 * - `nats://...`: NATS JetStream (distributed mode; not available yet).
 */
export async function openStream(url: string, opts: OpenStreamOptions): Promise<Stream> {
  const sqliteOpts = { sync: opts.sync ?? 'normal', ...(opts.logger ? { logger: opts.logger } : {}) } as const;
  if (url === 'sqlite') return SqliteStream.open(path.join(opts.dataDir, 'stream.db'), sqliteOpts);
  if (url.startsWith('sqlite:')) {
    const file = url.slice('sqlite:'.length);
    if (!path.isAbsolute(file)) {
      throw new ConfigError(`stream.url "${url}": the database path after "sqlite:" must be absolute (or use "sqlite" for <dataDir>/stream.db)`, [
        { field: 'stream.url', reason: 'sqlite: path must be absolute' },
      ]);
    }
    return SqliteStream.open(file, sqliteOpts);
  }
  if (url.startsWith('nats://')) {
    throw new ConfigError('stream.url: the NATS JetStream adapter arrives with distributed mode and is not available yet; use "sqlite" (the embedded stream) for now', [
      { field: 'stream.url', reason: 'nats:// is not supported yet' },
    ]);
  }
  throw new ConfigError(`stream.url "${url}" is not supported: use "sqlite", "sqlite:/absolute/path.db" or "nats://host:port"`, [
    { field: 'stream.url', reason: 'unknown stream URL scheme' },
  ]);
}
