import type { FastifyPluginAsync } from 'fastify';
import type { ServerDeps } from '../types.ts';
import { tenantOf } from '../auth/tenant.ts';
import { deadLettersSchema } from './schemas/platform.ts';

export const deadLetterRoutes: FastifyPluginAsync<{ deps: ServerDeps }> = async (app, { deps }) => {
  const dl = deps.deadLetters!;
  app.get('/v1/dead-letters', { schema: deadLettersSchema }, async (req) => {
    const q = req.query as { limit: number; since?: string };
    return { deadLetters: await dl.list({ limit: q.limit, tenant: tenantOf(req, deps), ...(q.since ? { since: Date.parse(q.since) } : {}) }) };
  });
};
