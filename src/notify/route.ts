/** Which routes an alert takes and when its page is due next: pure functions, no I/O. */
import type { Alert } from '../alerts/types.ts';
import { inZone, type CompiledZone } from '../rules/geo.ts';
import type { NotifyRoute, Page } from './types.ts';

/**
 * The routes an alert takes, in order: the first that matches, and the ones after it while each matched one says
 * `continue` (Alertmanager's semantics). A route matches when every condition it lists holds. No match: the alert is
 * stored and shown but notified to nobody (a policy that wants a catch-all ends with a route matching everything).
 */
/** What routes match on: an alert, or an incident (its centroid as position; no rule). */
export type Routable = Pick<Alert, 'severity' | 'position'> & { rule?: string };

export function matchRoutes(routes: readonly NotifyRoute[], alert: Routable, zones: ReadonlyMap<string, CompiledZone>): NotifyRoute[] {
  const out: NotifyRoute[] = [];
  for (const r of routes) {
    if (!matches(r, alert, zones)) continue;
    out.push(r);
    if (r.continue !== true) break;
  }
  return out;
}

function matches(r: NotifyRoute, a: Routable, zones: ReadonlyMap<string, CompiledZone>): boolean {
  const m = r.match;
  if (m.severities && !m.severities.includes(a.severity)) return false;
  if (m.rules && (a.rule === undefined || !m.rules.includes(a.rule))) return false;
  if (m.zones) {
    // A zone the rules in force no longer have matches nothing (the policy names it; the rules dropped it).
    const inside = m.zones.some((id) => {
      const z = zones.get(id);
      return z !== undefined && inZone(z, a.position.lat, a.position.lon);
    });
    if (!inside) return false;
  }
  return true;
}

/** When the page must be looked at next: the earlier of its next escalation level and its next repeat; null: never. */
export function nextDue(p: Pick<Page, 'route' | 'raisedAt' | 'level' | 'lastSentAt' | 'done'>, minuteMs: number): number | null {
  if (p.done) return null;
  const level = p.route.escalate?.[p.level];
  const escalateAt = level ? p.raisedAt + level.afterMinutes * minuteMs : Infinity;
  const repeatAt = p.route.repeatMinutes !== undefined ? p.lastSentAt + p.route.repeatMinutes * minuteMs : Infinity;
  const at = Math.min(escalateAt, repeatAt);
  return Number.isFinite(at) ? Math.round(at) : null;
}

/** Every target a page has notified so far: its route's, and each escalation level's already sent. */
export function reachedTargets(p: Pick<Page, 'route' | 'level'>): string[] {
  const all = [...p.route.targets];
  for (const l of (p.route.escalate ?? []).slice(0, p.level)) all.push(...l.targets);
  return [...new Set(all)];
}
