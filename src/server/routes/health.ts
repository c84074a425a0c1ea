import type { FastifyPluginAsync } from 'fastify';
import type { ServerDeps } from '../types.ts';
import { healthSchema, liveSchema, readySchema } from './schemas/platform.ts';

export const healthRoutes: FastifyPluginAsync<{ deps: ServerDeps }> = async (app, { deps }) => {
  const started = Date.now();
  app.get('/health', { schema: healthSchema }, async () => {
    const status = deps.status?.();
    return {
      status: status?.overloaded ? 'overloaded' : 'ok',
      uptimeSeconds: Math.round((Date.now() - started) / 1000),
      ...(status ? { lag: status.lag, components: status.components } : {}),
    };
  });

  // For orchestrators (Kubernetes probes, load balancers): live = the process serves HTTP (restart it otherwise);
  // ready = it can do its work now: the stream answers and the consumers keep up (send it traffic otherwise).
  app.get('/health/live', { schema: liveSchema }, async () => ({ status: 'live', uptimeSeconds: Math.round((Date.now() - started) / 1000) }));
  app.get('/health/ready', { schema: readySchema }, async (_req, reply) => {
    const status = deps.status?.();
    const reasons: string[] = [];
    // Public route: no addresses or error texts (the process logs those).
    if (status?.reachable === false) reasons.push('stream unreachable');
    if (status?.overloaded) reasons.push(`consumers behind: ${Object.entries(status.lag).map(([g, n]) => `${g} ${n}`).join(', ')}`);
    if (reasons.length > 0) return reply.status(503).send({ status: 'not ready', reasons });
    return { status: 'ready', ...(status ? { lag: status.lag } : {}) };
  });
};
