import { STATUS_CODES } from 'node:http';
import swagger from '@fastify/swagger';
import type { FastifyInstance, RouteOptions } from 'fastify';
import { SESSION_COOKIE } from '../auth/plugin.ts';
import { errorEnvelope, responses } from './schemas/common.ts';
import { reportsRequestBody } from './schemas/platform.ts';

/** Where the description is served: outside /v1/, so public (see docs/api.md for why). */
export const OPENAPI_PATH = '/openapi.json';

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Request bodies the description shows but fastify must not validate: POST /v1/reports reads any body itself, so
 * that the ingestor judges every one and dead-letters each rejection (src/server/routes/reports.ts).
 */
const DOC_ONLY_BODIES: Record<string, unknown> = { 'POST /v1/reports': reportsRequestBody };

type SecurityRequirement = Record<string, readonly string[]>;

/**
 * Who may call an operation, from the same access table that enforces it (src/server/auth/access.ts, put on each
 * route's config by the auth plugin): public routes need nothing; the others a bearer token (API token, drone
 * credential) or the session cookie, whose changes also need the CSRF header. Without authentication: nothing.
 */
function securityOf(route: RouteOptions): SecurityRequirement[] | undefined {
  const access = route.config?.dwAccess?.access;
  if (!access) return undefined;
  if (access.kind === 'public') return [];
  if (access.kind === 'drone') return [{ bearerAuth: [] }];
  const unsafe = [route.method].flat().some((m) => UNSAFE.has(m));
  return [{ bearerAuth: [] }, unsafe ? { sessionCookie: [], csrfToken: [] } : { sessionCookie: [] }];
}

/**
 * A route's responses, each with a description (OpenAPI requires one; swagger would write "Default Response"): the
 * schema's own, else the status' name. src/server/routes/schemas' responses() describes each already; this covers
 * schemas written without it.
 */
function described(response: unknown): Record<string, unknown> | undefined {
  if (typeof response !== 'object' || response === null) return undefined;
  return Object.fromEntries(Object.entries(response).map(([status, r]) => {
    if (typeof r !== 'object' || r === null || typeof (r as { description?: unknown }).description === 'string') return [status, r];
    return [status, { ...r, description: STATUS_CODES[status] ?? `HTTP ${status}` }];
  }));
}

/**
 * Registers @fastify/swagger, which collects every route registered after it (with its request and response
 * schemas, src/server/routes/schemas/ and src/server/auth/schemas.ts) into an OpenAPI 3.1 description, and serves it
 * at GET /openapi.json. Call it before any route is registered.
 */
export async function registerOpenApi(app: FastifyInstance, opts: { secureCookies: boolean }): Promise<void> {
  app.addSchema(errorEnvelope);
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'dronewatch HTTP API',
        version: '1',
        description: 'Drone-fleet telemetry: report ingestion, alerts, the Parquet lake\'s SQL and statistics, the live fleet, administration. Every `/v1/` route needs a credential and a role that grants it (docs/security.md); each answer holds only the caller\'s tenant\'s data. Errors answer the `DwError` envelope with a stable code (docs/errors.md).',
      },
      components: {
        securitySchemes: {
          bearerAuth: { type: 'http', scheme: 'bearer', description: 'An API token (`dw_api_...`, `dronewatch users token create`) or, for POST /v1/reports only, a drone credential (`dw_drone_...`).' },
          sessionCookie: { type: 'apiKey', in: 'cookie', name: opts.secureCookies ? `__Host-${SESSION_COOKIE}` : SESSION_COOKIE, description: 'The session POST /v1/auth/login sets (the dashboard\'s).' },
          csrfToken: { type: 'apiKey', in: 'header', name: 'x-csrf-token', description: 'With the session cookie, every change carries the CSRF token the login answered.' },
        },
      },
    },
    // Error envelopes are referenced by their $id: one `DwError` component instead of a copy per response.
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
    transform: ({ schema, url, route }) => {
      const security = securityOf(route);
      const body = [route.method].flat().map((m) => DOC_ONLY_BODIES[`${m} ${url}`]).find((b) => b !== undefined);
      const response = described(schema.response);
      return { url, schema: { ...schema, ...(security ? { security } : {}), ...(body ? { body } : {}), ...(response ? { response } : {}) } };
    },
  });

  app.get(OPENAPI_PATH, {
    schema: {
      tags: ['meta'],
      summary: 'This description (OpenAPI 3.1)',
      response: responses({ 200: { description: 'The OpenAPI document.', type: 'object', additionalProperties: true } }),
    },
  }, async () => app.swagger());
}
