import type { AlertState } from '../alerts/state.ts';
import type { IncidentState } from '../incidents/state.ts';
import type { WebhookTarget } from '../alerts/webhooks.ts';
import { compileZone, type CompiledZone } from '../rules/geo.ts';
import type { RuleStore } from '../rules/store.ts';
import type { Logger } from '../util/log.ts';
import type { NotifyConfig } from './config.ts';
import { Escalator } from './escalator.ts';
import { openNotifyStore } from './open.ts';
import { NotificationRouter } from './router.ts';
import { NotifyService } from './service.ts';
import type { NotifyStore } from './store.ts';

/** What a process of the platform holds of notifications: the store, the router its events go to, the API, and (alert workers) the escalator. */
export interface PlatformNotify {
  store: NotifyStore;
  router: NotificationRouter;
  service: NotifyService;
  escalator: Escalator | undefined;
  close(): Promise<void>;
}

/**
 * `escalate`: run the escalator here (processes with an alert worker); they also route incidents, heard from the
 * incident state's feed (every change, whichever process made it: the pages make each notification once).
 */
export async function openNotify(alerts: AlertState, rules: RuleStore, config: { notifications: NotifyConfig; webhooks: readonly WebhookTarget[] },
  opts: { escalate: boolean; incidents?: IncidentState | undefined; logger?: Logger }): Promise<PlatformNotify> {
  const store = await openNotifyStore(alerts, config.notifications, opts.logger);
  const log = opts.logger ? { logger: opts.logger } : {};
  const router = new NotificationRouter({ store, config: config.notifications, defaultTargets: config.webhooks, zonesOf: zonesFrom(rules), ...log });
  await router.start();
  const service = new NotifyService(store, config.webhooks, config.notifications.allowedUrlPrefixes);
  const escalator = opts.escalate
    ? new Escalator({ store, router, alerts, ...(opts.incidents ? { incidents: opts.incidents } : {}), policyOf: (t) => store.current(t), config: config.notifications, ...log })
    : undefined;
  escalator?.start();
  const unsubscribe = escalator && opts.incidents ? opts.incidents.subscribe((e) => router.sendIncident(e)) : undefined;
  return {
    store, router, service, escalator,
    async close() {
      unsubscribe?.();
      await escalator?.stop();
      await router.close();
      await store.close();
    },
  };
}

/** The zones of each tenant's rules in force, compiled once per version. */
function zonesFrom(rules: RuleStore): (tenant: string) => Promise<ReadonlyMap<string, CompiledZone>> {
  const cache = new Map<string, { version: number; zones: Map<string, CompiledZone> }>();
  return async (tenant) => {
    const cur = await rules.current(tenant);
    if (!cur) return new Map();
    const hit = cache.get(tenant);
    if (hit?.version === cur.version) return hit.zones;
    const zones = new Map(cur.zones.map((z) => [z.id, compileZone(z.id, z.geometry)]));
    cache.set(tenant, { version: cur.version, zones });
    return zones;
  };
}
