import type { WebhookTarget } from '../alerts/webhooks.ts';
import { DwError } from '../errors/index.ts';
import { NotifyConflictError } from './errors.ts';
import { DEFAULT_ROUTE, defaultTargetId } from './defaults.ts';
import type { NotifyStore } from './store.ts';
import type { Delivery, DeliveryQuery, DeliveryStatus, PolicyVersion } from './types.ts';
import { checkPolicy, checkPolicyReason } from './validate.ts';

/** A target as the API and the CLI show it: never its secret, only whether it has one. */
export interface PublicTarget { id: string; url: string; hasSecret: boolean; timeoutMs?: number }
export type PublicPolicyVersion = Omit<PolicyVersion, 'targets'> & { targets: PublicTarget[] };

export const DEFAULT_POLICY_REASON = "the configuration's alerts.webhooks: every alert event (raised, updated, acknowledged, assigned, resolved) to each, for every tenant without a policy";

export function redact(v: PolicyVersion): PublicPolicyVersion {
  return { ...v, targets: v.targets.map((t) => ({ id: t.id, url: t.url, hasSecret: t.secret !== undefined, ...(t.timeoutMs !== undefined ? { timeoutMs: t.timeoutMs } : {}) })) };
}

/** Version 0: the configuration's webhooks, not stored (their secrets stay in the configuration). */
export function defaultPolicy(tenant: string, webhooks: readonly WebhookTarget[]): PolicyVersion {
  const targets = webhooks.map((w, i) => ({ id: defaultTargetId(i), url: w.url, ...(w.secret !== undefined ? { secret: w.secret } : {}), ...(w.timeoutMs !== undefined ? { timeoutMs: w.timeoutMs } : {}) }));
  return {
    tenant, version: 0, author: 'system', at: new Date(0).toISOString(), reason: DEFAULT_POLICY_REASON, targets,
    routes: targets.length > 0 ? [{ id: DEFAULT_ROUTE, match: {}, targets: targets.map((t) => t.id) }] : [],
  };
}

const STATUSES: readonly DeliveryStatus[] = ['delivered', 'retrying', 'failed', 'dropped'];

/** What the API and the CLI do with notification policies and the delivery log; the caller audits. */
export class NotifyService {
  constructor(readonly store: NotifyStore, private readonly webhooks: readonly WebhookTarget[], private readonly allowedUrlPrefixes: readonly string[] = []) {}

  async current(tenant: string): Promise<PolicyVersion> {
    return (await this.store.current(tenant)) ?? defaultPolicy(tenant, this.webhooks);
  }

  async version(tenant: string, version: number): Promise<PolicyVersion> {
    if (version === 0) return defaultPolicy(tenant, this.webhooks);
    const v = (await this.store.versions(tenant)).find((x) => x.version === version);
    if (!v) throw new DwError('DW_NOT_FOUND', `no version ${version} of the notification policy`, { status: 404 });
    return v;
  }

  async versions(tenant: string): Promise<PolicyVersion[]> {
    return [defaultPolicy(tenant, this.webhooks), ...(await this.store.versions(tenant))];
  }

  /** A whole new policy. `baseVersion`: refuse (409) unless it is still the version in force. */
  async apply(tenant: string, input: unknown, meta: { author: string; reason: unknown; baseVersion?: number | undefined }): Promise<PolicyVersion> {
    const reason = checkPolicyReason(meta.reason);
    const cur = await this.current(tenant);
    const policy = checkPolicy(input, cur, this.allowedUrlPrefixes);
    if (meta.baseVersion !== undefined && meta.baseVersion !== cur.version) throw new NotifyConflictError(tenant, meta.baseVersion, cur.version);
    return this.store.commit(tenant, cur.version, policy, { author: meta.author, reason });
  }

  deliveries(q: DeliveryQuery): Promise<Delivery[]> {
    if (q.status !== undefined && !STATUSES.includes(q.status)) throw new DwError('DW_REQUEST_INVALID', `status: must be one of ${STATUSES.join(', ')}`, { status: 400, details: [{ field: 'status', reason: `one of ${STATUSES.join(', ')}` }] });
    return this.store.deliveries(q);
  }
}
