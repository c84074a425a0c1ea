import type { Config } from '../config/schema.ts';
import { ConfigError } from '../errors/index.ts';
import type { Logger } from '../util/log.ts';
import { KvAlertState } from './kv/state.ts';
import { AlertStore, openAlertStore } from './store.ts';

export type OpenedAlertState = { kind: 'local'; store: AlertStore } | { kind: 'kv'; state: KvAlertState };

/** `alerts.state` resolved against the stream: `auto` is `kv` on a nats:// stream (workers and API share it), else `local`. */
export function alertStateKind(config: Pick<Config, 'alerts' | 'stream'>): 'local' | 'kv' {
  const nats = config.stream.url.startsWith('nats://');
  const setting = config.alerts.state;
  if (setting === 'kv' && !nats) {
    throw new ConfigError(`alerts.state "kv" needs a NATS stream (stream.url nats://host:port), not "${config.stream.url}"`, [
      { field: 'alerts.state', reason: 'kv requires a nats:// stream.url' },
    ]);
  }
  return setting === 'local' || (setting === 'auto' && !nats) ? 'local' : 'kv';
}

/** Opens the alert state this configuration asks for (docs/alerts.md, "State in distributed mode"). */
export async function openAlertState(config: Pick<Config, 'alerts' | 'stream' | 'tenant'>, opts: { dataDir: string; logger?: Logger }): Promise<OpenedAlertState> {
  if (alertStateKind(config) === 'local') {
    const store = openAlertStore({ dataDir: opts.dataDir, dedupWindowMs: config.alerts.dedupWindowMs, sync: config.stream.sync });
    await store.offloadCheckpoints();
    return { kind: 'local', store };
  }
  const servers = config.stream.url.slice('nats://'.length).split(',').map((s) => s.trim()).filter((s) => s.length > 0)
    .map((s) => (/^[a-z]+:\/\//.test(s) ? s : `nats://${s}`));
  const state = await KvAlertState.connect({
    servers, tenant: config.tenant, replicas: config.stream.replicas, dedupWindowMs: config.alerts.dedupWindowMs, security: config.stream.nats,
    retentionMs: config.alerts.stateRetentionHours * 3600_000,
    ...(opts.logger ? { logger: opts.logger } : {}),
  });
  return { kind: 'kv', state };
}
