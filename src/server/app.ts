import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import { isDwError } from '../errors/index.ts';
import { DEFAULT_MAX_BODY_BYTES } from '../ingest/index.ts';
import type { Logger } from '../util/log.ts';
import { alertRoutes } from './routes/alerts.ts';
import { incidentRoutes } from './routes/incidents.ts';
import { ruleRoutes } from './routes/rules.ts';
import { silenceRoutes } from './routes/silences.ts';
import { notifyRoutes } from './routes/notify.ts';
import { healthRoutes } from './routes/health.ts';
import { reportRoutes } from './routes/reports.ts';
import { deadLetterRoutes } from './routes/dead-letters.ts';
import { analysisRoutes } from './routes/analysis.ts';
import { dashboardRoutes } from './routes/dashboard.ts';
import { fleetRoutes } from './routes/fleet.ts';
import { installAuth } from './auth/plugin.ts';
import { authRoutes } from './auth/routes.ts';
import { registerOpenApi } from './routes/openapi.ts';
import { MAX_PATH_PARAM_CHARS } from './routes/schemas/common.ts';
import { installHttpMetrics } from '../metrics/http.ts';
import { installRequestLog, requestIdOptions } from './request-log.ts';
import type { ServerDeps } from './types.ts';
import { installGracefulClose } from './graceful-close.ts';

/**
 * The HTTP API as a fastify instance: each concern is a plugin, registered only when its dependency is given,
 * so `serve`, `ingest` and `up` compose the same pieces. Errors answer `{ code, message, errors? }`, never a stack.
 */
export async function buildServer(deps: ServerDeps, opts: { logger?: Logger; https?: { cert: Buffer; key: Buffer } } = {}): Promise<FastifyInstance> {
  const app = Fastify({
    // TLS from files (http.tlsCert / http.tlsKey): HTTPS only, no plain listener next to it.
    ...(opts.https ? { https: { cert: opts.https.cert, key: opts.https.key, minVersion: 'TLSv1.2' as const } } : {}),
    loggerInstance: opts.logger as FastifyBaseLogger | undefined,
    // Fastify's two lines per request are replaced by one of ours (request-log.ts), without personal data.
    logController: new LogController({ disableRequestLogging: true }),
    ...requestIdOptions,
    bodyLimit: deps.bodyLimit ?? DEFAULT_MAX_BODY_BYTES,
    return503OnClosing: true,
    // Path parameters up to this length reach the route, whose schema then names the field and its limit (400).
    routerOptions: { maxParamLength: MAX_PATH_PARAM_CHARS },
    // The router's own refusals (a malformed percent-encoding, 400; a longer path parameter, 414) come before any
    // route or error handler: answered in the documented envelope instead of fastify's, never echoing the URL.
    frameworkErrors: (err, _req, reply: FastifyReply) => {
      const message = err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? `a path parameter is over ${MAX_PATH_PARAM_CHARS} characters` : 'malformed URL (bad percent-encoding)';
      void reply.status(err.statusCode ?? 400).send({ code: 'DW_REQUEST_INVALID', message });
    },
  });

  app.setErrorHandler((err, req, reply) => {
    if (isDwError(err)) {
      if (err.code === 'DW_INGEST_BACKPRESSURE') reply.header('retry-after', String(deps.retryAfterSeconds ?? 1));
      // Every refusal that says when to come back (rate limits, 429 DW_QUERY_TOO_MANY...) carries it as a number.
      const wait = (err as { retryAfterSeconds?: unknown }).retryAfterSeconds;
      if (typeof wait === 'number' && err.code !== 'DW_INGEST_BACKPRESSURE') reply.header('retry-after', String(wait));
      return reply.status(err.status).send(err.toJSON());
    }
    const e = err as { statusCode?: number; code?: string; message?: string; validation?: { instancePath: string; message?: string }[] };
    if (e.validation) {
      const errors = e.validation.map((v) => ({ field: v.instancePath.replace(/^\//, '').replace(/\//g, '.'), reason: v.message ?? 'invalid' }));
      return reply.status(400).send({ code: 'DW_REQUEST_INVALID', message: errors.map((x) => `${x.field || 'body'}: ${x.reason}`).join('; '), errors });
    }
    if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) {
      // Fastify's own refusals (FST_ERR_CTP_BODY_TOO_LARGE 413, FST_ERR_CTP_INVALID_MEDIA_TYPE 415, an empty JSON
      // body...) keep their status; their code is not one of ours, so clients see the documented one.
      return reply.status(e.statusCode).send({ code: 'DW_REQUEST_INVALID', message: e.message ?? 'bad request' });
    }
    req.log.error({ err }, 'request failed');
    return reply.status(500).send({ code: 'DW_INTERNAL', message: 'internal error; see the server log' });
  });
  if (opts.https) {
    // Browsers that once reached the server over HTTPS never try plain HTTP again (no downgrade, no cookie leak).
    app.addHook('onSend', async (_req, reply) => {
      reply.header('strict-transport-security', 'max-age=31536000');
    });
  }
  // Live streams end and kept-alive connections close at close(), so stopping never waits on a client.
  installGracefulClose(app);
  app.setNotFoundHandler((req, reply) => reply.status(404).send({ code: 'DW_NOT_FOUND', message: `no route ${req.method} ${req.url}` }));

  // First: authentication and the access table must see every route registered after them.
  if (deps.auth) installAuth(app, deps.auth);
  // Before any route: it collects each one's schemas into the OpenAPI description, served at GET /openapi.json.
  await registerOpenApi(app, { secureCookies: deps.auth?.secureCookies === true });
  // After auth (GET /metrics gets its access rule) and OpenAPI (which describes it), before the other routes: a route
  // takes the hooks installed before it (login failures are counted and logged too).
  installHttpMetrics(app, deps);
  installRequestLog(app, deps);
  if (deps.auth) await app.register(authRoutes, { auth: deps.auth });
  await app.register(healthRoutes, { deps });
  if (deps.ingest) await app.register(reportRoutes, { deps });
  if (deps.alerts || deps.feed) await app.register(alertRoutes, { deps });
  if (deps.incidents) await app.register(incidentRoutes, { deps: { ...deps, incidents: deps.incidents } });
  if (deps.rules) {
    await app.register(ruleRoutes, { deps: { ...deps, rules: deps.rules } });
    await app.register(silenceRoutes, { deps: { ...deps, rules: deps.rules } });
  }
  if (deps.notify) await app.register(notifyRoutes, { deps: { ...deps, notify: deps.notify } });
  if (deps.deadLetters) await app.register(deadLetterRoutes, { deps });
  if (deps.analysis) await app.register(analysisRoutes, { deps });
  if (deps.fleet) await app.register(fleetRoutes, { deps });
  if (deps.dashboard) await app.register(dashboardRoutes, { deps });
  return app;
}
