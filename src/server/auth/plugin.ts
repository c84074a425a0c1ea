import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DwError } from '../../errors/index.ts';
import { safeEqual, type AuditLog, type CredentialStore, type LoginLimiter, type Principal } from '../../security/index.ts';
import { ruleOf, type RouteRule } from './access.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is calling (null before authentication, and on public routes without credentials). */
    principal: Principal | null;
    /** The CSRF token of the caller's browser session (null for bearer tokens): /v1/auth/me hands it back after a reload. */
    sessionCsrf: string | null;
    /**
     * True while the caller's credential is still valid and still grants this route (checked again against the store):
     * long-lived answers (live feeds) call it periodically and end when a session is logged out, a user disabled or a
     * token revoked. Always true without authentication.
     */
    stillAuthorized: () => Promise<boolean>;
  }
  interface FastifyContextConfig {
    dwAccess?: RouteRule;
  }
}

export interface AuthDeps {
  security: CredentialStore;
  audit: AuditLog;
  /** Failed-login limiter; default one in memory (per process). */
  limiter?: LoginLimiter;
  /** Browser sessions last this long (absolute). Default 12 h: one shift. */
  sessionTtlMs?: number;
  /** Cookies get `Secure` (HTTPS only). On when the server runs TLS. */
  secureCookies?: boolean;
}

export const SESSION_COOKIE = 'dw_session';
/**
 * Over HTTPS the cookie is `__Host-dw_session`: browsers accept that name only with `Secure`, `Path=/` and no
 * `Domain`, so a sibling host or a plain-HTTP page of the same domain cannot plant or overwrite the session.
 */
export const SECURE_SESSION_COOKIE = `__Host-${SESSION_COOKIE}`;

export function sessionCookieName(secure: boolean): string {
  return secure ? SECURE_SESSION_COOKIE : SESSION_COOKIE;
}
const ALWAYS = (): Promise<boolean> => Promise.resolve(true);
const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export function authRequired(): DwError {
  return new DwError('DW_AUTH_REQUIRED', 'authentication required: log in (POST /v1/auth/login) or send a bearer token', { status: 401 });
}

/** The session token the request carries, if any (under the cookie name of this server's transport). */
export function sessionTokenOf(req: FastifyRequest, secure: boolean): string | undefined {
  return cookieValue(req, sessionCookieName(secure));
}

function cookieValue(req: FastifyRequest, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) {
      // Our tokens are URL-safe: a value that does not even decode (`%E0%A4%A`) is no session, not a server error.
      try {
        return decodeURIComponent(part.slice(i + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/** Resolves the caller: a bearer token (API token, drone credential) or the session cookie (with its CSRF token). */
async function authenticate(deps: AuthDeps, req: FastifyRequest): Promise<{ principal: Principal; csrf?: string } | undefined> {
  const auth = req.headers.authorization;
  if (auth !== undefined) {
    const m = /^Bearer\s+(\S+)$/i.exec(auth);
    const principal = m ? await deps.security.resolveBearer(m[1]!) : undefined;
    // A bad bearer token is an error even when a cookie is present: the caller meant the token.
    if (!principal) throw new DwError('DW_AUTH_REQUIRED', 'invalid, expired or revoked bearer token', { status: 401 });
    return { principal };
  }
  const session = sessionTokenOf(req, deps.secureCookies === true);
  return session ? deps.security.resolveSession(session) : undefined;
}

/**
 * Installs authentication, authorisation and the audit trail on a server, before any route is registered: every
 * route then gets its rule from the access table (src/server/auth/access.ts), and a `/v1/` route without one makes
 * registration fail. Not a plugin on purpose: its hooks must apply to the whole server, not to one encapsulated scope.
 */
export function installAuth(app: FastifyInstance, deps: AuthDeps): void {
  app.decorateRequest('principal', null);
  app.decorateRequest('sessionCsrf', null);
  app.decorateRequest('stillAuthorized', null as unknown as () => Promise<boolean>);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) {
      if (method === 'OPTIONS') continue;
      const rule = ruleOf(method, route.url);
      if (!rule) throw new Error(`route ${method} ${route.url} has no access rule: add it to src/server/auth/access.ts`);
      route.config = { ...(route.config as object | undefined), dwAccess: rule };
    }
  });

  app.addHook('onRequest', async (req: FastifyRequest) => {
    req.stillAuthorized = ALWAYS;
    const rule = req.routeOptions.config?.dwAccess;
    if (!rule) return; // unknown URL: the 404 handler answers
    const who = await authenticate(deps, req);
    req.principal = who?.principal ?? null;
    req.sessionCsrf = who?.csrf ?? null;
    const access = rule.access;
    if (access.kind === 'public') return;
    if (!who) throw authRequired();
    const p = who.principal;
    if (who.csrf !== undefined && UNSAFE.has(req.method)) {
      const sent = req.headers['x-csrf-token'];
      if (typeof sent !== 'string' || !safeEqual(sent, who.csrf)) {
        throw new DwError('DW_AUTH_CSRF', 'missing or wrong x-csrf-token header (changes made with a session cookie need the token the login answered with)', { status: 403 });
      }
    }
    req.stillAuthorized = async () => {
      try {
        const again = (await authenticate(deps, req))?.principal;
        if (!again) return false;
        return access.kind !== 'permission' || again.permissions.has(access.permission);
      } catch {
        return false;
      }
    };
    if (access.kind === 'authenticated') return;
    if (access.kind === 'drone') {
      if (p.kind !== 'drone') throw denied(deps, req, p, 'report ingestion takes a drone or gateway credential');
      return;
    }
    if (!p.permissions.has(access.permission)) throw denied(deps, req, p, `your roles (${p.roles.join(', ') || 'none'}) do not grant ${access.permission}`);
  });

  // After body parsing and validation: the audit entry can say exactly what was asked (the SQL, the note...).
  app.addHook('preHandler', async (req: FastifyRequest) => {
    const spec = req.routeOptions.config?.dwAccess?.audit;
    const p = req.principal;
    if (!spec || !p) return;
    deps.audit.append({ actor: p.name, tenant: p.tenant, action: spec.action, target: spec.target?.(req) ?? null, details: spec.details?.(req) ?? {}, ip: req.ip });
  });
}

function denied(deps: AuthDeps, req: FastifyRequest, p: Principal, why: string): DwError {
  deps.audit.append({ actor: p.name, tenant: p.tenant, action: 'access.denied', target: `${req.method} ${req.routeOptions.url ?? req.url}`, details: { reason: why }, ip: req.ip });
  return new DwError('DW_AUTH_FORBIDDEN', `forbidden: ${why}`, { status: 403 });
}

/** Set-Cookie value of a session: HttpOnly (no script reads it), SameSite=Strict (no cross-site sends it). */
export function sessionCookie(token: string, maxAgeSeconds: number, secure: boolean): string {
  return `${sessionCookieName(secure)}=${encodeURIComponent(token)}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${Math.max(0, Math.floor(maxAgeSeconds))}${secure ? '; Secure' : ''}`;
}

export type { FastifyReply };
