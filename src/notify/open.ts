/**
 * Where notification state lives: beside the alerts it is about, decided from the alert state as rules and incidents
 * are: `notify.db` next to alerts.db, or `dw_notify*_<tenant>` buckets on the shared alert state's connection.
 */
import path from 'node:path';
import type { AlertState } from '../alerts/state.ts';
import { KvAlertState } from '../backend/shared/alerts/state.ts';
import { AlertStore } from '../backend/sqlite/alerts/store.ts';
import type { Logger } from '../util/log.ts';
import type { NotifyConfig } from './config.ts';
import { KvNotifyStore } from './kv-store.ts';
import { SqliteNotifyStore } from './sqlite-store.ts';
import type { NotifyStore } from './store.ts';

export async function openNotifyStore(alerts: AlertState, config: Pick<NotifyConfig, 'retentionHours' | 'maxDeliveries'>, logger?: Logger): Promise<NotifyStore> {
  if (alerts instanceof AlertStore) return new SqliteNotifyStore(path.dirname(alerts.file));
  if (alerts instanceof KvAlertState) {
    return KvNotifyStore.open({ store: alerts.kvStore, tenant: alerts.tenant, retentionMs: config.retentionHours * 3600_000, maxDeliveries: config.maxDeliveries, ...(logger ? { logger } : {}) });
  }
  throw new TypeError('notifications: unknown alert state (neither alerts.db nor a shared KV state)');
}
