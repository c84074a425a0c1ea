import type { Severity } from '../alerts/types.ts';
import { urlUnderPrefix, webhookUrlProblem } from '../alerts/webhook-url.ts';
import type { FieldError } from '../errors/index.ts';
import { RULE_ID } from '../rules/validate.ts';
import { NotifyInvalidError } from './errors.ts';
import type { EscalationLevel, NotificationPolicy, NotifyRoute, NotifyTarget, PolicyVersion, RouteMatch } from './types.ts';

export const NOTIFY_LIMITS = { targets: 50, routes: 100, levels: 5, listed: 200, minMinutes: 1, maxMinutes: 7 * 24 * 60, secret: 500, url: 2000, reason: 500, timeoutMs: 30_000 } as const;
const SEVERITIES: readonly Severity[] = ['info', 'warning', 'critical'];

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Checks a proposed policy and returns it normalised, every problem named by its field. A target given without
 * `secret` keeps the secret it had in `previous` when its id and URL are unchanged: the API never shows secrets, so
 * an edit of what GET answered must not drop them (to remove one, give the target a new id).
 */
export function checkPolicy(input: unknown, previous?: Pick<PolicyVersion, 'targets'>, allowedUrlPrefixes: readonly string[] = []): NotificationPolicy {
  const errors: FieldError[] = [];
  const err = reporter(errors);
  if (!isObj(input)) throw new NotifyInvalidError([{ field: '', reason: 'must be an object with targets and routes' }]);
  const targets: NotifyTarget[] = [];
  if (!Array.isArray(input.targets)) err('targets', 'must be an array');
  else if (input.targets.length > NOTIFY_LIMITS.targets) err('targets', `at most ${NOTIFY_LIMITS.targets} targets`);
  const ids = new Set<string>();
  if (Array.isArray(input.targets) && input.targets.length <= NOTIFY_LIMITS.targets) input.targets.forEach((t: unknown, i) => {
    const c = checkTarget(t, `targets[${i}]`, err, previous);
    if (!c) return;
    // Indices are the input's: the field named is the one the caller wrote, whatever was refused before it.
    if (ids.has(c.id)) return err(`targets[${i}].id`, `"${c.id}" is used twice`);
    ids.add(c.id);
    if (allowedUrlPrefixes.length > 0) {
      const url = new URL(c.url); // checkTarget accepted it as a URL
      if (!allowedUrlPrefixes.some((p) => urlUnderPrefix(url, p))) return err(`targets[${i}].url`, `must be under one of notifications.allowedUrlPrefixes (${allowedUrlPrefixes.join(', ')}): same scheme, host and port, and a path that starts with the prefix's`);
    }
    targets.push(c);
  });

  const routes: NotifyRoute[] = [];
  if (!Array.isArray(input.routes)) err('routes', 'must be an array');
  else if (input.routes.length > NOTIFY_LIMITS.routes) err('routes', `at most ${NOTIFY_LIMITS.routes} routes`);
  else {
    const routeIds = new Set<string>();
    input.routes.forEach((r: unknown, i) => {
      const c = checkRoute(r, `routes[${i}]`, ids, err);
      if (!c) return;
      if (routeIds.has(c.id)) return err(`routes[${i}].id`, `"${c.id}" is used twice`);
      routeIds.add(c.id);
      routes.push(c);
    });
  }
  if (errors.length > 0) throw new NotifyInvalidError(errors);
  return { targets, routes };
}

export function checkPolicyReason(reason: unknown): string {
  if (typeof reason !== 'string' || reason.trim() === '' || reason.length > NOTIFY_LIMITS.reason) {
    throw new NotifyInvalidError([{ field: 'reason', reason: `required: why, 1-${NOTIFY_LIMITS.reason} characters` }]);
  }
  return reason;
}

function checkTarget(t: unknown, at: string, err: Reporter, previous?: Pick<PolicyVersion, 'targets'>): NotifyTarget | undefined {
  if (!isObj(t)) return err(at, 'must be an object'), undefined;
  const n = err.count();
  if (typeof t.id !== 'string' || !RULE_ID.test(t.id)) err(`${at}.id`, 'must be 1-64 characters: a-z, 0-9, -, _ and :');
  let url: URL | undefined;
  try {
    url = typeof t.url === 'string' && t.url.length <= NOTIFY_LIMITS.url ? new URL(t.url) : undefined;
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) err(`${at}.url`, `must be an http:// or https:// URL of at most ${NOTIFY_LIMITS.url} characters`);
  else {
    const problem = webhookUrlProblem(url);
    if (problem) err(`${at}.url`, problem);
  }
  if (t.secret !== undefined && (typeof t.secret !== 'string' || t.secret.length === 0 || t.secret.length > NOTIFY_LIMITS.secret)) err(`${at}.secret`, `must be 1-${NOTIFY_LIMITS.secret} characters`);
  if (t.timeoutMs !== undefined && !(Number.isInteger(t.timeoutMs) && (t.timeoutMs as number) >= 100 && (t.timeoutMs as number) <= NOTIFY_LIMITS.timeoutMs)) err(`${at}.timeoutMs`, `must be an integer from 100 to ${NOTIFY_LIMITS.timeoutMs}`);
  for (const k of Object.keys(t)) if (!['id', 'url', 'secret', 'timeoutMs', 'hasSecret'].includes(k)) err(`${at}.${k}`, 'unknown field');
  if (err.count() > n) return undefined;
  const id = t.id as string;
  const kept = t.secret === undefined ? previous?.targets.find((p) => p.id === id && p.url === t.url)?.secret : (t.secret as string);
  return { id, url: t.url as string, ...(kept !== undefined ? { secret: kept } : {}), ...(t.timeoutMs !== undefined ? { timeoutMs: t.timeoutMs as number } : {}) };
}

function checkRoute(r: unknown, at: string, targetIds: ReadonlySet<string>, err: Reporter): NotifyRoute | undefined {
  if (!isObj(r)) return err(at, 'must be an object'), undefined;
  const n = err.count();
  if (typeof r.id !== 'string' || !RULE_ID.test(r.id)) err(`${at}.id`, 'must be 1-64 characters: a-z, 0-9, -, _ and :');
  const match = checkMatch(r.match ?? {}, `${at}.match`, err);
  const targets = checkTargetList(r.targets, `${at}.targets`, targetIds, err);
  const minutes = (v: unknown, f: string): number | undefined => {
    if (v === undefined) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < NOTIFY_LIMITS.minMinutes || v > NOTIFY_LIMITS.maxMinutes) {
      err(f, `must be a number of minutes from ${NOTIFY_LIMITS.minMinutes} to ${NOTIFY_LIMITS.maxMinutes}`);
      return undefined;
    }
    return v;
  };
  const repeatMinutes = minutes(r.repeatMinutes, `${at}.repeatMinutes`);
  const escalate: EscalationLevel[] = [];
  if (r.escalate !== undefined) {
    if (!Array.isArray(r.escalate) || r.escalate.length > NOTIFY_LIMITS.levels) err(`${at}.escalate`, `must be an array of at most ${NOTIFY_LIMITS.levels} levels`);
    else r.escalate.forEach((l: unknown, i) => {
      const f = `${at}.escalate[${i}]`;
      if (!isObj(l)) return err(f, 'must be an object with afterMinutes and targets');
      const after = minutes(l.afterMinutes, `${f}.afterMinutes`);
      if (l.afterMinutes === undefined) err(`${f}.afterMinutes`, 'required');
      const ts = checkTargetList(l.targets, `${f}.targets`, targetIds, err);
      if (after !== undefined && escalate.length > 0 && after <= escalate[escalate.length - 1]!.afterMinutes) err(`${f}.afterMinutes`, 'must be later than the previous level');
      if (after !== undefined && ts) escalate.push({ afterMinutes: after, targets: ts });
    });
  }
  if (r.continue !== undefined && typeof r.continue !== 'boolean') err(`${at}.continue`, 'must be true or false');
  if (r.subject !== undefined && r.subject !== 'alert' && r.subject !== 'incident') err(`${at}.subject`, 'must be alert or incident');
  if (r.subject === 'incident' && match?.rules !== undefined) err(`${at}.match.rules`, 'an incident route matches severities and zones, not rules (an incident groups alerts of several rules)');
  for (const k of Object.keys(r)) if (!['id', 'match', 'targets', 'repeatMinutes', 'escalate', 'continue', 'subject'].includes(k)) err(`${at}.${k}`, 'unknown field');
  if (err.count() > n || !match || !targets) return undefined;
  return {
    id: r.id as string, match, targets,
    ...(repeatMinutes !== undefined ? { repeatMinutes } : {}),
    ...(escalate.length > 0 ? { escalate } : {}),
    ...(r.continue === true ? { continue: true } : {}),
    ...(r.subject === 'incident' ? { subject: 'incident' as const } : {}),
  };
}

function checkMatch(m: unknown, at: string, err: Reporter): RouteMatch | undefined {
  if (!isObj(m)) return err(at, 'must be an object'), undefined;
  const out: RouteMatch = {};
  const list = (k: 'severities' | 'zones' | 'rules', ok: (v: unknown) => boolean, what: string): void => {
    const v = m[k];
    if (v === undefined) return;
    if (!Array.isArray(v) || v.length === 0 || v.length > NOTIFY_LIMITS.listed || !v.every(ok)) return err(`${at}.${k}`, `must be a non-empty array of ${what}`);
    (out as Record<string, unknown>)[k] = [...new Set(v as string[])];
  };
  list('severities', (v) => SEVERITIES.includes(v as Severity), 'info, warning, critical');
  list('zones', (v) => typeof v === 'string' && RULE_ID.test(v), 'zone ids');
  list('rules', (v) => typeof v === 'string' && RULE_ID.test(v), 'rule ids');
  for (const k of Object.keys(m)) if (!['severities', 'zones', 'rules'].includes(k)) err(`${at}.${k}`, 'unknown field');
  return out;
}

function checkTargetList(v: unknown, at: string, targetIds: ReadonlySet<string>, err: Reporter): string[] | undefined {
  if (!Array.isArray(v) || v.length === 0 || v.length > NOTIFY_LIMITS.targets) return err(at, 'must be a non-empty array of target ids'), undefined;
  const bad = v.findIndex((t) => typeof t !== 'string' || !targetIds.has(t));
  if (bad >= 0) return err(`${at}[${bad}]`, 'must be the id of one of the policy\'s targets'), undefined;
  return [...new Set(v as string[])];
}

interface Reporter {
  (field: string, reason: string): void;
  /** Errors reported so far: a part that added some is left out of the result. */
  count(): number;
}

function reporter(errors: FieldError[]): Reporter {
  return Object.assign((field: string, reason: string): void => { errors.push({ field, reason }); }, { count: () => errors.length });
}
