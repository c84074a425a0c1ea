import type { FastifyPluginAsync } from 'fastify';
import { redact, type NotifyService } from '../../notify/service.ts';
import type { DeliveryStatus } from '../../notify/types.ts';
import { tenantOf } from '../auth/tenant.ts';
import type { ServerDeps } from '../types.ts';
import { authorOf } from './rules.ts';
import { getPolicySchema, listDeliveriesSchema, listPolicyVersionsSchema, putPolicySchema } from './notify-schemas.ts';

/** What the notification routes need: src/notify/service.ts. */
export type NotifyApi = Pick<NotifyService, 'current' | 'version' | 'versions' | 'apply' | 'deliveries'>;

/** Notification policies and the delivery log (docs/alerts.md, "Notifications"); access and audit: auth/access.ts. */
export const notifyRoutes: FastifyPluginAsync<{ deps: ServerDeps & { notify: NotifyApi } }> = async (app, { deps }) => {
  const notify = deps.notify;

  app.get('/v1/notification-policies', { schema: getPolicySchema }, async (req) => {
    const q = req.query as { version?: number };
    const tenant = tenantOf(req, deps);
    return redact(q.version === undefined ? await notify.current(tenant) : await notify.version(tenant, q.version));
  });

  app.get('/v1/notification-policies/versions', { schema: listPolicyVersionsSchema }, async (req) => ({
    versions: (await notify.versions(tenantOf(req, deps))).map(({ version, author, at, reason }) => ({ version, author, at, reason })),
  }));

  app.put('/v1/notification-policies', { schema: putPolicySchema }, async (req) => {
    const b = req.body as { targets: unknown; routes: unknown; reason: string; baseVersion?: number };
    return redact(await notify.apply(tenantOf(req, deps), { targets: b.targets, routes: b.routes }, { author: authorOf(req), reason: b.reason, baseVersion: b.baseVersion }));
  });

  app.get('/v1/notifications/deliveries', { schema: listDeliveriesSchema }, async (req) => {
    const q = req.query as { alertId?: string; incidentId?: string; status?: DeliveryStatus; since?: string; limit?: number };
    return {
      deliveries: await notify.deliveries({
        tenant: tenantOf(req, deps),
        ...(q.alertId !== undefined ? { alertId: q.alertId } : {}),
        ...(q.incidentId !== undefined ? { incidentId: q.incidentId } : {}),
        ...(q.status !== undefined ? { status: q.status } : {}),
        ...(q.since !== undefined ? { since: Date.parse(q.since) } : {}),
        ...(q.limit !== undefined ? { limit: q.limit } : {}),
      }),
    };
  });
};
