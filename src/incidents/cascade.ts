import { AlertNotFoundError, AlertTransitionError } from '../alerts/errors.ts';
import type { Alert, AlertEvent } from '../alerts/types.ts';
import type { IncidentAction } from './lifecycle.ts';

/** The alert lifecycle an incident change goes through (AlertService: store, events, outbox, topic). */
export interface AlertLifecycle {
  get(alertId: string): Alert | undefined | Promise<Alert | undefined>;
  acknowledge(alertId: string, by: string, note?: string): Promise<AlertEvent>;
  assign(alertId: string, assignee: string, by: string): Promise<AlertEvent>;
  resolve(alertId: string, by: string, note?: string): Promise<AlertEvent>;
}

/**
 * An incident's change applied to each of its alerts it still applies to (acknowledge: open ones; assign and resolve:
 * unresolved ones), in the same name: used by the API and the CLI. An alert changed meanwhile by someone else, of
 * another tenant, or gone from the state (past its retention) is counted unchanged.
 */
export async function cascadeToAlerts(alerts: AlertLifecycle, ids: readonly string[], tenant: string, a: IncidentAction, by: string): Promise<{ changed: number; unchanged: number }> {
  let changed = 0;
  let unchanged = 0;
  for (const id of ids) {
    const alert = await alerts.get(id);
    const applies = alert !== undefined && alert.tenant === tenant
      && (a.action === 'acknowledge' ? alert.status === 'open' : alert.status !== 'resolved');
    if (!applies) {
      unchanged++;
      continue;
    }
    try {
      if (a.action === 'acknowledge') await alerts.acknowledge(id, by, a.note);
      else if (a.action === 'assign') await alerts.assign(id, a.assignee, by);
      else await alerts.resolve(id, by, a.note);
      changed++;
    } catch (err) {
      if (!(err instanceof AlertTransitionError || err instanceof AlertNotFoundError)) throw err;
      unchanged++;
    }
  }
  return { changed, unchanged };
}
