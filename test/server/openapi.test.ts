import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import { ruleOf } from '../../src/server/auth/access.ts';
import { tempDir } from '../../src/testkit/index.ts';
import { startTestPlatform } from './helpers.ts';

interface Operation {
  parameters?: { in: string; name: string }[];
  requestBody?: unknown;
  responses: Record<string, { description?: string; content?: Record<string, { schema?: unknown }> }>;
  security?: Record<string, string[]>[];
}
interface OpenApiDoc {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, { properties?: { code?: { enum?: string[] } } }>; securitySchemes: Record<string, unknown> };
}

/**
 * Every route fastify knows, read from its own route tree (printRoutes): each line is a path segment below its
 * parent's (indentation: 4 characters a level), with the methods of the route ending there in parentheses.
 */
function routesOf(tree: string): { method: string; url: string }[] {
  const out: { method: string; url: string }[] = [];
  const stack: string[] = [];
  for (const line of tree.split('\n')) {
    const m = /^([\s│├└─]*)(.+?)(?: \(([A-Z, ]+)\))?$/u.exec(line);
    if (!m || m[2]!.trim() === '') continue;
    const depth = Math.floor([...m[1]!].length / 4);
    stack.length = depth;
    stack.push(m[2]!);
    for (const method of m[3]?.split(', ') ?? []) out.push({ method, url: stack.join('') });
  }
  return out;
}

/** The codes docs/errors.md documents (the first cell of each row of its table). */
function documentedCodes(): string[] {
  const md = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
  return [...md.matchAll(/^\| `(DW_[A-Z_]+)` \|/gm)].map((m) => m[1]!);
}

describe('OpenAPI description at /openapi.json (issue 17, item 3)', () => {
  let url: string;
  let cleanup: () => Promise<void>;
  let routes: { method: string; url: string }[];
  let doc: OpenApiDoc;
  let adminToken: string;
  const tiles = tempDir('dw-openapi-tiles-');

  before(async () => {
    mkdirSync(path.join(tiles.dir, '1', '0'), { recursive: true });
    // Every route family: the API with authentication, the dashboard and its local tile set.
    const started = await startTestPlatform({ alerts: true, http: 'api' }, { security: { enabled: true }, dashboard: { tileDir: tiles.dir } });
    url = started.url;
    cleanup = started.cleanup;
    routes = routesOf(started.platform.server!.printRoutes());
    const security = started.platform.security!;
    await security.createUser({ tenant: started.platform.config.tenant, username: 'oa-admin', roles: ['admin'], password: 'a-long-password-1' });
    adminToken = (await security.createApiToken('oa-admin', 'openapi-test')).token;
    // Unauthenticated on purpose: the description is public (docs/api.md says why).
    const res = await fetch(`${url}/openapi.json`);
    assert.equal(res.status, 200);
    doc = await res.json() as OpenApiDoc;
  });
  after(async () => {
    await cleanup();
    tiles.cleanup();
  });

  it('is a valid OpenAPI 3.1 document', async () => {
    assert.equal(doc.openapi, '3.1.0');
    const validator = new Validator();
    const res = await validator.validate(structuredClone(doc) as unknown as Record<string, unknown>);
    assert.deepEqual(res.errors ?? [], []);
    assert.equal(res.valid, true);
    assert.equal(validator.version, '3.1');
    // The validator can fail: a response without its required description is refused.
    const broken = structuredClone(doc);
    delete broken.paths['/health']!.get!.responses['200']!.description;
    assert.equal((await new Validator().validate(broken as unknown as Record<string, unknown>)).valid, false);
  });

  it('describes every route fastify registered, and nothing else', () => {
    const fromServer = routes
      .filter((r) => r.method !== 'HEAD') // fastify adds a HEAD to every GET by itself
      .map((r) => `${r.method} ${r.url.replace(/:([A-Za-z]+)/g, '{$1}')}`)
      .sort();
    const described = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`)).sort();
    // The tree must have been read: the routes of each family are there.
    for (const r of ['GET /openapi.json', 'POST /v1/reports', 'GET /v1/alerts/{id}', 'POST /v1/auth/login', 'GET /v1/queries/{name}/result', 'GET /tiles/{z}/{x}/{file}', 'GET /']) assert.ok(fromServer.includes(r), r);
    assert.deepEqual(described, fromServer);
  });

  it('gives every operation its responses: a success, 500, and 401/403 where a credential is needed', () => {
    for (const [p, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const where = `${method.toUpperCase()} ${p}`;
        const statuses = Object.keys(op.responses);
        // A route without a response schema gets swagger's lone "Default Response" and no 500.
        // (Except GET / of a checkout whose dashboard is not built: it only answers 503, a page saying how to build it.)
        const notBuilt = p === '/' && /build/.test(op.responses['503']?.description ?? '');
        assert.ok(notBuilt || statuses.some((s) => /^[23]/.test(s)), `${where}: no success response`);
        assert.ok(statuses.includes('500'), `${where}: no 500`);
        for (const [status, r] of Object.entries(op.responses)) assert.notEqual(r.description, 'Default Response', `${where} ${status}: no description`);
        // Who may call it: the access table that enforces it (src/server/auth/access.ts).
        if (ruleOf(method.toUpperCase(), p.replace(/\{([A-Za-z]+)\}/g, ':$1'))?.access.kind !== 'public') {
          assert.ok(statuses.includes('401') && statuses.includes('403'), `${where}: 401/403 missing`);
          assert.ok(op.security && op.security.length > 0 && op.security.every((s) => Object.keys(s).every((k) => k in doc.components.securitySchemes)), `${where}: security`);
        } else {
          assert.deepEqual(op.security, [], `${where}: public, so security []`);
        }
        if ((op.parameters?.length ?? 0) > 0 || op.requestBody) assert.ok(statuses.includes('400'), `${where}: takes input, so 400`);
        // The router refuses a path parameter over 100 characters (414) before any route.
        if (op.parameters?.some((x) => x.in === 'path')) assert.ok(statuses.includes('414'), `${where}: path parameters, so 414`);
        for (const [status, r] of Object.entries(op.responses)) {
          if (/^[45]/.test(status) && !(p === '/health/ready' && status === '503') && !notBuilt) {
            assert.ok(r.content?.['application/json']?.schema, `${where} ${status}: no body schema`);
          }
        }
      }
    }
    // Changes made with the session cookie need the CSRF header; reads do not.
    assert.deepEqual(doc.paths['/v1/alerts/{id}/ack']!.post!.security, [{ bearerAuth: [] }, { sessionCookie: [], csrfToken: [] }]);
    assert.deepEqual(doc.paths['/v1/alerts']!.get!.security, [{ bearerAuth: [] }, { sessionCookie: [] }]);
    assert.deepEqual(doc.paths['/v1/reports']!.post!.security, [{ bearerAuth: [] }]);
  });

  it('names every error code of docs/errors.md in the error envelope', () => {
    const codes = documentedCodes();
    assert.ok(codes.length >= 30, `read ${codes.length} codes from docs/errors.md`);
    const envelope = doc.components.schemas.DwError;
    assert.ok(envelope, 'DwError component');
    const enumCodes = envelope.properties?.code?.enum ?? [];
    assert.deepEqual(codes.filter((c) => !enumCodes.includes(c)), []);
    // The other way round (a code of src/errors missing from docs/errors.md) is test/util's errors-doc check.
  });

  it('answers errors as the description says: the envelope, with every field kept', async () => {
    const res = await fetch(`${url}/v1/alerts?limit=0`, { headers: { authorization: 'Bearer nope' } });
    assert.equal(res.status, 401);
    assert.deepEqual(Object.keys(await res.json() as object).sort(), ['code', 'message']);
    const bad = await fetch(`${url}/v1/drones`, { method: 'POST', headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ droneId: '' }) });
    assert.equal(bad.status, 400);
    const body = await bad.json() as { code: string; message: string; errors: { field: string; reason: string }[] };
    assert.equal(body.code, 'DW_REQUEST_INVALID');
    assert.equal(body.errors[0]!.field, 'droneId');
  });

  it("answers the router's own refusals in the envelope too (found by the fuzzer: fastify's body, undocumented 414)", async () => {
    const get = async (p: string): Promise<{ status: number; body: { code?: string; errors?: { field: string }[] } }> => {
      const res = await fetch(`${url}${p}`, { headers: { authorization: `Bearer ${adminToken}` } });
      return { status: res.status, body: await res.json() as { code?: string; errors?: { field: string }[] } };
    };
    // Over the schema's maxLength (64) but within the router's limit: the schema names the field.
    const overSchema = await fetch(`${url}/v1/users/${'u'.repeat(65)}/disable`, { method: 'POST', headers: { authorization: `Bearer ${adminToken}` } });
    assert.equal(overSchema.status, 400);
    assert.equal((await overSchema.json() as { errors: { field: string }[] }).errors[0]!.field, 'username');
    const overRouter = await get(`/v1/fleet/drones/${'d'.repeat(5000)}/track`);
    assert.equal(overRouter.status, 414);
    assert.deepEqual(overRouter.body, { code: 'DW_REQUEST_INVALID', message: 'a path parameter is over 4096 characters' });
    const badUrl = await get('/v1/fleet/drones/%E0%A4%A/track');
    assert.equal(badUrl.status, 400);
    assert.equal(badUrl.body.code, 'DW_REQUEST_INVALID');
  });

  it('takes a session cookie that does not decode for no session (found by the fuzzer: 500 URIError)', async () => {
    const cookie = 'dw_session=%E0%A4%A';
    const me = await fetch(`${url}/v1/auth/me`, { headers: { cookie } });
    assert.equal(me.status, 401);
    assert.equal((await me.json() as { code: string }).code, 'DW_AUTH_REQUIRED');
    // With a bearer token the route runs, and logout reads the cookie itself.
    const out = await fetch(`${url}/v1/auth/logout`, { method: 'POST', headers: { cookie, authorization: `Bearer ${adminToken}` } });
    assert.equal(out.status, 204);
  });
});
