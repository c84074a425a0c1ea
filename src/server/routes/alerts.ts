import type { FastifyPluginAsync } from 'fastify';
import type { AlertStatus } from '../../alerts/types.ts';
import type { ServerDeps } from '../types.ts';
import { DwError, NotFoundError } from '../../errors/index.ts';
import { sseHandler } from './sse.ts';
import { tenantOf } from '../auth/tenant.ts';
import type { FastifyRequest } from 'fastify';
import type { Alert } from '../../alerts/types.ts';

const alertId = { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 200 } } } as const;
const actor = { type: 'string', minLength: 1, maxLength: 200 } as const;
const note = { type: 'string', maxLength: 4000 } as const;
const STATUS = '(open|acknowledged|resolved)';
const NUM = '-?\\d+(\\.\\d+)?';

export const alertRoutes: FastifyPluginAsync<{ deps: ServerDeps }> = async (app, { deps }) => {
  if (deps.feed) app.get('/v1/alerts/stream', sseHandler(deps.feed, (req) => tenantOf(req, deps)));

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

  app.get('/v1/alerts', {
    schema: {
      querystring: {
        type: 'object',
        additionalProperties: false,
        properties: {
          // One status, or several separated by commas (`open,acknowledged`: what still needs an officer).
          status: { type: 'string', pattern: `^${STATUS}(,${STATUS})*$` },
          droneId: { type: 'string', minLength: 1, maxLength: 64 },
          since: { type: 'string', format: 'date-time' },
          // minLat,minLon,maxLat,maxLon of the latest position.
          bbox: { type: 'string', pattern: `^${NUM},${NUM},${NUM},${NUM}$` },
          limit: { type: 'integer', minimum: 1, maximum: 10000, default: 100 },
        },
      },
    },
  }, async (req) => {
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
    app.get('/v1/alerts/reaction-time', {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          required: ['from'],
          properties: { from: { type: 'string', format: 'date-time' }, to: { type: 'string', format: 'date-time' } },
        },
      },
    }, async (req) => {
      const q = req.query as { from: string; to?: string };
      return reactionTimes(Date.parse(q.from), q.to ? Date.parse(q.to) : Date.now() + 1, tenantOf(req, deps));
    });
  }

  app.get('/v1/alerts/:id', { schema: { params: alertId } }, async (req) => {
    return await ownAlert(req, (req.params as { id: string }).id);
  });

  app.post('/v1/alerts/:id/ack', {
    schema: { params: alertId, body: { type: 'object', additionalProperties: false, properties: { by: actor, note } } },
  }, async (req) => {
    const { id } = req.params as { id: string };
    const b = req.body as { by?: string; note?: string };
    await ownAlert(req, id);
    return (await alerts.acknowledge(id, actorOf(req, b.by), b.note)).alert;
  });

  app.post('/v1/alerts/:id/assign', {
    schema: { params: alertId, body: { type: 'object', additionalProperties: false, required: ['assignee'], properties: { by: actor, assignee: actor } } },
  }, async (req) => {
    const { id } = req.params as { id: string };
    const b = req.body as { by?: string; assignee: string };
    await ownAlert(req, id);
    return (await alerts.assign(id, b.assignee, actorOf(req, b.by))).alert;
  });

  app.post('/v1/alerts/:id/resolve', {
    schema: { params: alertId, body: { type: 'object', additionalProperties: false, properties: { by: actor, note } } },
  }, async (req) => {
    const { id } = req.params as { id: string };
    const b = req.body as { by?: string; note?: string };
    await ownAlert(req, id);
    return (await alerts.resolve(id, actorOf(req, b.by), b.note)).alert;
  });
};
