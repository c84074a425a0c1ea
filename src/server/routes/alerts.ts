import type { FastifyPluginAsync } from 'fastify';
import type { AlertStatus } from '../../alerts/types.ts';
import type { ServerDeps } from '../types.ts';
import { DwError, NotFoundError } from '../../errors/index.ts';
import { sseHandler } from './sse.ts';
import { tenantOf } from '../auth/tenant.ts';
import type { FastifyRequest } from 'fastify';
import type { Alert } from '../../alerts/types.ts';
import { ackSchema, alertStreamSchema, assignSchema, getAlertSchema, listAlertsSchema, reactionTimeSchema, resolveSchema } from './schemas/alerts.ts';

export const alertRoutes: FastifyPluginAsync<{ deps: ServerDeps }> = async (app, { deps }) => {
  if (deps.feed) app.get('/v1/alerts/stream', { schema: alertStreamSchema }, sseHandler(deps.feed, (req) => tenantOf(req, deps), deps.incidents));

  const alerts = deps.alerts;
  if (!alerts) return;

  /** The alert, if it exists and belongs to the caller's tenant: another force's alert does not exist for them. */
  const ownAlert = async (req: FastifyRequest, id: string): Promise<Alert> => {
    const alert = await alerts.get(id);
    if (!alert || alert.tenant !== tenantOf(req, deps)) throw new NotFoundError(`alert ${id}`, 'DW_ALERT_NOT_FOUND');
    return alert;
  };
  /** Who made a change: the authenticated caller; `by` from the body only when authentication is off. */
  const actorOf = (req: FastifyRequest, by: string | undefined): string => {
    const who = req.principal?.name ?? by;
    if (!who) throw new DwError('DW_REQUEST_INVALID', 'by: required (who made the change)', { status: 400, details: [{ field: 'by', reason: 'required' }] });
    return who;
  };

  app.get('/v1/alerts', { schema: listAlertsSchema }, async (req) => {
    const q = req.query as { status?: string; droneId?: string; since?: string; bbox?: string; limit: number };
    return {
      alerts: await alerts.list({
        tenant: tenantOf(req, deps),
        limit: q.limit,
        ...(q.status ? { status: q.status.split(',') as AlertStatus[] } : {}),
        ...(q.droneId ? { droneId: q.droneId } : {}),
        ...(q.since ? { since: Date.parse(q.since) } : {}),
        ...(q.bbox ? { bbox: q.bbox.split(',').map(Number) as [number, number, number, number] } : {}),
      }),
    };
  });

  const reactionTimes = alerts.reactionTimes?.bind(alerts);
  if (reactionTimes) {
    // Declared before /v1/alerts/:id; fastify prefers the static segment anyway.
    app.get('/v1/alerts/reaction-time', { schema: reactionTimeSchema }, async (req) => {
      const q = req.query as { from: string; to?: string };
      return reactionTimes(Date.parse(q.from), q.to ? Date.parse(q.to) : Date.now() + 1, tenantOf(req, deps));
    });
  }

  app.get('/v1/alerts/:id', { schema: getAlertSchema }, async (req) => {
    return await ownAlert(req, (req.params as { id: string }).id);
  });

  app.post('/v1/alerts/:id/ack', { schema: ackSchema }, async (req) => {
    const { id } = req.params as { id: string };
    const b = req.body as { by?: string; note?: string };
    await ownAlert(req, id);
    return (await alerts.acknowledge(id, actorOf(req, b.by), b.note)).alert;
  });

  app.post('/v1/alerts/:id/assign', { schema: assignSchema }, async (req) => {
    const { id } = req.params as { id: string };
    const b = req.body as { by?: string; assignee: string };
    await ownAlert(req, id);
    return (await alerts.assign(id, b.assignee, actorOf(req, b.by))).alert;
  });

  app.post('/v1/alerts/:id/resolve', { schema: resolveSchema }, async (req) => {
    const { id } = req.params as { id: string };
    const b = req.body as { by?: string; note?: string };
    await ownAlert(req, id);
    return (await alerts.resolve(id, actorOf(req, b.by), b.note)).alert;
  });
};
