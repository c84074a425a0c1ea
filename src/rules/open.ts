/**
 * Where rules live: beside the alerts they raise, decided from the alert state as incidents are
 * (src/backend/incidents.ts): `rules.db` next to alerts.db, or a `dw_rules_<tenant>` bucket on the shared alert
 * state's connection. No setting can put a worker's rules somewhere its API process does not write them.
 */
import path from 'node:path';
import type { AlertState } from '../alerts/state.ts';
import { KvAlertState } from '../backend/shared/alerts/state.ts';
import { KvRuleStore } from '../backend/shared/rules.ts';
import { AlertStore } from '../backend/sqlite/alerts/store.ts';
import { SqliteRuleStore } from '../backend/sqlite/rules.ts';
import type { Logger } from '../util/log.ts';
import type { RuleStore } from './store.ts';

export async function openRuleStore(alerts: AlertState, logger?: Logger): Promise<RuleStore> {
  if (alerts instanceof AlertStore) return new SqliteRuleStore(path.dirname(alerts.file));
  if (alerts instanceof KvAlertState) return KvRuleStore.open({ store: alerts.kvStore, tenant: alerts.tenant, ...(logger ? { logger } : {}) });
  throw new TypeError('rules: unknown alert state (neither alerts.db nor a shared KV state)');
}
