import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { Alert } from '../../alerts/types.ts';
import { DwError } from '../../errors/index.ts';
import { cascadeToAlerts } from '../../incidents/cascade.ts';
import { IncidentNotFoundError } from '../../incidents/errors.ts';
import type { IncidentAction } from '../../incidents/lifecycle.ts';
import type { IncidentState } from '../../incidents/state.ts';
import type { IncidentStatus } from '../../incidents/types.ts';
import { tenantOf } from '../auth/tenant.ts';
import type { ServerDeps } from '../types.ts';
import {
  ackIncidentSchema, assignIncidentSchema, getIncidentSchema, incidentReactionSchema, listIncidentsSchema, resolveIncidentSchema,
} from './incidents-schemas.ts';

/** What the incident routes need: the incident state; the alerts come from ServerDeps.alerts (cascades reuse their lifecycle). */
export type IncidentApi = Pick<IncidentState, 'get' | 'list' | 'change' | 'reactionTimes' | 'subscribe'>;

/**
 * `/v1/incidents`: list, read, and act on incidents (docs/api.md, "Incidents"). Per tenant like alerts: the caller's
 * tenant scopes every read and change, another force's incident answers 404. Roles and audit are the access table's
 * (src/server/auth/access.ts: the alert permissions, `incident.*` audit actions). A change cascades to the incident's
 * alerts through the alert lifecycle (AlertApi: the same store transitions, events and outbox as `/v1/alerts/:id/*`),
 * in the same caller's name.
 */
export const incidentRoutes: FastifyPluginAsync<{ deps: ServerDeps & { incidents: IncidentApi } }> = async (app, { deps }) => {
  const { incidents, alerts } = deps;

  const actorOf = (req: FastifyRequest, by: string | undefined): string => {
    const who = req.principal?.name ?? by;
    if (!who) throw new DwError('DW_REQUEST_INVALID', 'by: required (who made the change)', { status: 400, details: [{ field: 'by', reason: 'required' }] });
    return who;
  };

  app.get('/v1/incidents', { schema: listIncidentsSchema }, async (req) => {
    const q = req.query as { status?: string; since?: string; bbox?: string; limit: number };
    return {
      incidents: await incidents.list({
        tenant: tenantOf(req, deps), limit: q.limit,
        ...(q.status ? { status: q.status.split(',') as IncidentStatus[] } : {}),
        ...(q.since ? { since: Date.parse(q.since) } : {}),
        ...(q.bbox ? { bbox: q.bbox.split(',').map(Number) as [number, number, number, number] } : {}),
      }),
    };
  });

  app.get('/v1/incidents/reaction-time', { schema: incidentReactionSchema }, async (req) => {
    const q = req.query as { from: string; to?: string };
    return incidents.reactionTimes(Date.parse(q.from), q.to ? Date.parse(q.to) : Date.now() + 1, { tenant: tenantOf(req, deps) });
  });

  app.get('/v1/incidents/:id', { schema: getIncidentSchema }, async (req) => {
    const { id } = req.params as { id: string };
    const rec = await incidents.get(id, tenantOf(req, deps));
    if (!rec) throw new IncidentNotFoundError(id);
    const current: Alert[] = [];
    if (alerts) {
      for (const m of rec.members) {
        const a = await alerts.get(m.alertId);
        if (a && a.tenant === rec.incident.tenant) current.push(a);
      }
    }
    return { incident: rec.incident, members: rec.members, alerts: current, timeline: rec.timeline };
  });

  const act = (action: (b: { by?: string; note?: string; assignee?: string }) => IncidentAction) => async (req: FastifyRequest) => {
    const { id } = req.params as { id: string };
    const b = req.body as { by?: string; note?: string; assignee?: string };
    const tenant = tenantOf(req, deps);
    const by = actorOf(req, b.by);
    const a = action(b);
    const event = await incidents.change(id, a, by, tenant);
    const rec = await incidents.get(id, tenant);
    const { changed, unchanged } = alerts && rec ? await cascadeToAlerts(alerts, rec.members.map((m) => m.alertId), tenant, a, by) : { changed: 0, unchanged: 0 };
    return { incident: event.incident, alertsChanged: changed, alertsUnchanged: unchanged };
  };

  app.post('/v1/incidents/:id/ack', { schema: ackIncidentSchema }, act((b) => ({ action: 'acknowledge', note: b.note })));
  app.post('/v1/incidents/:id/assign', { schema: assignIncidentSchema }, act((b) => ({ action: 'assign', assignee: b.assignee! })));
  app.post('/v1/incidents/:id/resolve', { schema: resolveIncidentSchema }, act((b) => ({ action: 'resolve', note: b.note })));
};
