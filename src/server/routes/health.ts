import type { FastifyPluginAsync } from 'fastify';
import type { ServerDeps } from '../types.ts';

export const healthRoutes: FastifyPluginAsync<{ deps: ServerDeps }> = async (app, { deps }) => {
  const started = Date.now();
  app.get('/health', async () => {
    const status = deps.status?.();
    return {
      status: status?.overloaded ? 'overloaded' : 'ok',
      uptimeSeconds: Math.round((Date.now() - started) / 1000),
      ...(status ? { lag: status.lag, components: status.components } : {}),
    };
  });
};
