import path from 'node:path';
import { ConfigError } from '../errors/index.ts';
import type { Logger } from '../util/log.ts';
import { NatsStream } from './nats/index.ts';
import type { NatsClientSecurity } from './nats/client-security.ts';
import { SqliteStream } from './sqlite/index.ts';
import type { Stream } from './types.ts';

export * from './types.ts';
export { TOPICS, DEFAULT_TOPIC_CONFIG } from './topics.ts';
export { StreamNotOwnerError, StreamUnavailableError } from './errors.ts';
export { SqliteStream, type SqliteStreamOptions, type SyncLevel } from './sqlite/index.ts';
export { NatsStream, type NatsStreamOptions } from './nats/index.ts';
export { natsSecurityOptions, type NatsClientSecurity } from './nats/client-security.ts';

export interface OpenStreamOptions {
  dataDir: string;
  /** Embedded log only (see SqliteStreamOptions.sync). */
  sync?: 'normal' | 'full';
  /** NATS only: the tenant whose subjects the stream reads and writes (config `tenant`). Default `default`. */
  tenant?: string;
  /** NATS only: replicas of the JetStream streams, consumers and group bucket it creates (config `stream.replicas`). */
  replicas?: number;
  /** NATS only: credentials and TLS (config `stream.nats`). */
  nats?: NatsClientSecurity;
  logger?: Logger;
}

/**
 * Opens the stream named by the `stream.url` setting:
 * - `sqlite`: the embedded log in `<dataDir>/stream.db`;
 * - `sqlite:/abs/path.db`: the embedded log in that file;
 * - `nats://host:port[,host:port...]`: NATS JetStream (NatsStream); every server of a cluster may be listed, the
 *   client fails over between them. Entries after the first may omit `nats://`.
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
    const servers = natsServers(url);
    return NatsStream.connect({
      servers,
      ...(opts.tenant !== undefined ? { tenant: opts.tenant } : {}),
      ...(opts.replicas !== undefined ? { replicas: opts.replicas } : {}),
      ...(opts.nats ? { security: opts.nats } : {}),
      ...(opts.logger ? { logger: opts.logger } : {}),
    });
  }
  throw new ConfigError(`stream.url "${url}" is not supported: use "sqlite", "sqlite:/absolute/path.db" or "nats://host:port[,host:port]"`, [
    { field: 'stream.url', reason: 'unknown stream URL scheme' },
  ]);
}

/** `nats://a:4222,b:4222` -> ['nats://a:4222', 'nats://b:4222']; refuses empty entries and paths. */
export function natsServers(url: string): string[] {
  const entries = url.slice('nats://'.length).split(',').map((e) => e.trim());
  const servers: string[] = [];
  for (const e of entries) {
    const full = /^[a-z]+:\/\//.test(e) ? e : `nats://${e}`;
    let parsed: URL | undefined;
    try { parsed = new URL(full); } catch { parsed = undefined; }
    if (!parsed || !parsed.hostname || (parsed.pathname !== '' && parsed.pathname !== '/') || !['nats:', 'tls:'].includes(parsed.protocol)) {
      throw new ConfigError(`stream.url "${url.replace(/\/\/[^@/]*@/, '//')}": "${e.replace(/^.*@/, '')}" is not a NATS server address (nats://host:port)`, [
        { field: 'stream.url', reason: 'expected nats://host:port[,host:port]' },
      ]);
    }
    servers.push(full);
  }
  return servers;
}
