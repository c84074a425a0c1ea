/**
 * Where incidents live: always beside the alerts they group (the seam's `alerts.state` decision, made once in
 * open.ts): `incidents.db` next to alerts.db, or a `dw_incidents_<tenant>` bucket on the shared alert state's own
 * connection. Opened from the alert state rather than as a separate backend part so that no setting can ever put
 * incidents somewhere their alert worker's alerts are not (docs/incidents.md, "State").
 */
import path from 'node:path';
import type { AlertState } from '../alerts/state.ts';
import type { Config } from '../config/schema.ts';
import { groupingConfig } from '../incidents/config.ts';
import type { IncidentState } from '../incidents/state.ts';
import type { Logger } from '../util/log.ts';
import { KvAlertState } from './shared/alerts/state.ts';
import { KvIncidentState } from './shared/incidents/state.ts';
import { AlertStore } from './sqlite/alerts/store.ts';
import { SqliteIncidentStore } from './sqlite/incidents/store.ts';

export { SqliteIncidentStore, type SqliteIncidentStoreOptions } from './sqlite/incidents/store.ts';
export { KvIncidentState, incidentBucketName, type KvIncidentStateOptions } from './shared/incidents/state.ts';

export interface IncidentStateConfig {
  incidents: Config['incidents'];
  alerts: Pick<Config['alerts'], 'stateRetentionHours'>;
  stream?: Pick<Config['stream'], 'sync'>;
}

export async function openIncidentState(alerts: AlertState, config: IncidentStateConfig, logger?: Logger): Promise<IncidentState> {
  const grouping = groupingConfig(config.incidents);
  const log = logger ? { logger } : {};
  if (alerts instanceof AlertStore) {
    return new SqliteIncidentStore({ dir: path.dirname(alerts.file), grouping, ...(config.stream ? { sync: config.stream.sync } : {}), ...log });
  }
  if (alerts instanceof KvAlertState) {
    return KvIncidentState.open({
      store: alerts.kvStore, tenant: alerts.tenant, grouping, retentionMs: config.alerts.stateRetentionHours * 3600_000, ...log,
    });
  }
  throw new TypeError('incidents: unknown alert state (neither alerts.db nor a shared KV state)');
}
