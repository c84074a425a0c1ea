import type { FastifyPluginAsync } from 'fastify';
import type { AlertStatus } from '../../alerts/types.ts';
import type { ServerDeps } from '../types.ts';
import { NotFoundError } from '../../errors/index.ts';
import { sseHandler } from './sse.ts';

const alertId = { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 200 } } } as const;
const actor = { type: 'string', minLength: 1, maxLength: 200 } as const;
const note = { type: 'string', maxLength: 4000 } as const;
const STATUS = '(open|acknowledged|resolved)';
const NUM = '-?\\d+(\\.\\d+)?';

export const alertRoutes: FastifyPluginAsync<{ deps: ServerDeps }> = async (app, { deps }) => {
  if (deps.feed) app.get('/v1/alerts/stream', sseHandler(deps.feed));

  const alerts = deps.alerts;
  if (!alerts) return;

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
      alerts: alerts.list({
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
      return reactionTimes(Date.parse(q.from), q.to ? Date.parse(q.to) : Date.now() + 1);
    });
  }

  app.get('/v1/alerts/:id', { schema: { params: alertId } }, async (req) => {
    const { id } = req.params as { id: string };
    const alert = alerts.get(id);
    if (!alert) throw new NotFoundError(`alert ${id}`, 'DW_ALERT_NOT_FOUND');
    return alert;
  });

  app.post('/v1/alerts/:id/ack', {
    schema: { params: alertId, body: { type: 'object', additionalProperties: false, required: ['by'], properties: { by: actor, note } } },
  }, async (req) => {
    const { id } = req.params as { id: string };
    const b = req.body as { by: string; note?: string };
    return (await alerts.acknowledge(id, b.by, b.note)).alert;
  });

  app.post('/v1/alerts/:id/assign', {
    schema: { params: alertId, body: { type: 'object', additionalProperties: false, required: ['by', 'assignee'], properties: { by: actor, assignee: actor } } },
  }, async (req) => {
    const { id } = req.params as { id: string };
    const b = req.body as { by: string; assignee: string };
    return (await alerts.assign(id, b.assignee, b.by)).alert;
  });

  app.post('/v1/alerts/:id/resolve', {
    schema: { params: alertId, body: { type: 'object', additionalProperties: false, required: ['by'], properties: { by: actor, note } } },
  }, async (req) => {
    const { id } = req.params as { id: string };
    const b = req.body as { by: string; note?: string };
    return (await alerts.resolve(id, b.by, b.note)).alert;
  });
};
