import type { Config } from '../config/schema.ts';
import { sharedStateKind } from '../config/shared-state.ts';
import type { Logger } from '../util/log.ts';
import { natsServers } from '../stream/index.ts';
import { KvAlertState } from './kv/state.ts';
import { AlertStore, openAlertStore } from './store.ts';

export type OpenedAlertState = { kind: 'local'; store: AlertStore } | { kind: 'kv'; state: KvAlertState };

/** `alerts.state` resolved against the stream: `auto` is `kv` on a nats:// stream (workers and API share it), else `local`. */
export function alertStateKind(config: Pick<Config, 'alerts' | 'stream'>): 'local' | 'kv' {
  return sharedStateKind(config.alerts.state, config.stream.url, 'alerts.state');
}

/** Opens the alert state this configuration asks for (docs/alerts.md, "State in distributed mode"). */
export async function openAlertState(config: Pick<Config, 'alerts' | 'stream' | 'tenant'>, opts: { dataDir: string; logger?: Logger }): Promise<OpenedAlertState> {
  if (alertStateKind(config) === 'local') {
    const store = openAlertStore({ dataDir: opts.dataDir, dedupWindowMs: config.alerts.dedupWindowMs, sync: config.stream.sync });
    await store.offloadCheckpoints();
    return { kind: 'local', store };
  }
  const servers = natsServers(config.stream.url);
  const state = await KvAlertState.connect({
    servers, tenant: config.tenant, replicas: config.stream.replicas, dedupWindowMs: config.alerts.dedupWindowMs, security: config.stream.nats,
    retentionMs: config.alerts.stateRetentionHours * 3600_000,
    ...(opts.logger ? { logger: opts.logger } : {}),
  });
  return { kind: 'kv', state };
}
