import type { FastifyPluginAsync } from 'fastify';
import { tenantOf } from '../auth/tenant.ts';
import type { ServerDeps } from '../types.ts';
import { authorOf, type RulesApi } from './rules.ts';
import { addSilenceSchema, listSilencesSchema, removeSilenceSchema } from './rules-schemas.ts';

/** Silences (docs/alerts.md, "Silences"): alerts they match are stored, marked silenced, never announced. */
export const silenceRoutes: FastifyPluginAsync<{ deps: ServerDeps & { rules: RulesApi } }> = async (app, { deps }) => {
  const rules = deps.rules;

  app.get('/v1/silences', { schema: listSilencesSchema }, async (req) => ({ silences: await rules.listSilences(tenantOf(req, deps)) }));

  app.post('/v1/silences', { schema: addSilenceSchema }, async (req, reply) => {
    return reply.code(201).send(await rules.addSilence(tenantOf(req, deps), req.body, authorOf(req)));
  });

  app.delete('/v1/silences/:id', { schema: removeSilenceSchema }, async (req) => rules.removeSilence(tenantOf(req, deps), (req.params as { id: string }).id));
};
