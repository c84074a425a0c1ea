import { ConfigError } from '../errors/index.ts';

/**
 * Where a piece of shared state lives (`alerts.state`, `security.store`): `auto` is `kv` (JetStream KV, shared by
 * every process on any host) on a nats:// stream and `local` (SQLite under the data directory) otherwise; `kv`
 * without a NATS stream is a configuration error naming the field.
 */
export function sharedStateKind(setting: 'auto' | 'local' | 'kv', streamUrl: string, field: string): 'local' | 'kv' {
  const nats = streamUrl.startsWith('nats://');
  if (setting === 'kv' && !nats) {
    throw new ConfigError(`${field} "kv" needs a NATS stream (stream.url nats://host:port), not "${streamUrl}"`, [
      { field, reason: 'kv requires a nats:// stream.url' },
    ]);
  }
  return setting === 'local' || (setting === 'auto' && !nats) ? 'local' : 'kv';
}
