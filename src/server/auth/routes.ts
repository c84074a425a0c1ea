import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { DwError } from '../../errors/index.ts';
import { LoginRateLimiter } from '../../security/index.ts';
import { authRequired, sessionCookie, sessionTokenOf, type AuthDeps } from './plugin.ts';
import { auditListSchema, auditVerifySchema, createUserSchema, listDronesSchema, listUsersSchema, loginSchema, logoutSchema, meSchema, passwordSchema, registerDroneSchema, revokeDroneSchema, setDisabledSchema } from './schemas.ts';

const DEFAULT_SESSION_TTL_MS = 12 * 3600_000;

function principalOf(req: FastifyRequest) {
  if (!req.principal) throw authRequired();
  return req.principal;
}

/** Login, logout, who am I; and the admin API: users, drone credentials, the audit log. */
export const authRoutes: FastifyPluginAsync<{ auth: AuthDeps }> = async (app, { auth }) => {
  const { security, audit } = auth;
  const limiter = auth.limiter ?? new LoginRateLimiter();
  const ttl = auth.sessionTtlMs ?? DEFAULT_SESSION_TTL_MS;

  app.post('/v1/auth/login', { schema: loginSchema }, async (req, reply) => {
    const { username, password } = req.body as { username: string; password: string };
    // Counted before the password is checked (and taken back on success): concurrent guesses see each other.
    const wait = await limiter.admit(username, req.ip);
    if (wait > 0) {
      reply.header('retry-after', String(wait));
      throw new DwError('DW_AUTH_RATE_LIMITED', `too many failed logins; try again in ${wait} s`, { status: 429 });
    }
    const user = await security.checkPassword(username, password);
    if (!user) {
      audit.append({ actor: username, tenant: security.findUser(username)?.tenant ?? '-', action: 'login.failure', ip: req.ip });
      // The same answer for an unknown user, a wrong password and a disabled account: no account enumeration.
      throw new DwError('DW_AUTH_REQUIRED', 'wrong user name or password', { status: 401 });
    }
    await limiter.recordSuccess(username, req.ip);
    const s = await security.createSession(user, ttl);
    audit.append({ actor: user.username, tenant: user.tenant, action: 'login.success', ip: req.ip });
    reply.header('set-cookie', sessionCookie(s.token, ttl / 1000, auth.secureCookies === true));
    return { username: user.username, tenant: user.tenant, roles: user.roles, csrf: s.csrf, expiresAt: new Date(s.expiresAt).toISOString() };
  });

  app.post('/v1/auth/logout', { schema: logoutSchema }, async (req, reply) => {
    const token = sessionTokenOf(req, auth.secureCookies === true);
    if (token) await security.deleteSession(token);
    const p = principalOf(req);
    audit.append({ actor: p.name, tenant: p.tenant, action: 'logout', ip: req.ip });
    reply.header('set-cookie', sessionCookie('', 0, auth.secureCookies === true));
    return reply.status(204).send();
  });

  app.get('/v1/auth/me', { schema: meSchema }, async (req) => {
    const p = principalOf(req);
    // The session's CSRF token too: a reloaded page has lost the one the login answered with (same-origin reads only).
    return { name: p.name, kind: p.kind, tenant: p.tenant, roles: p.roles, permissions: [...p.permissions].sort(), ...(req.sessionCsrf ? { csrf: req.sessionCsrf } : {}) };
  });

  // Self-service password change (the first administrator replaces its printed one-time password here). The current
  // password is required (a stolen session alone cannot take the account over) and failures count against the login
  // rate limit. Every session of the account ends, this one included: log in again with the new password.
  app.post('/v1/auth/password', { schema: passwordSchema }, async (req, reply) => {
    const p = principalOf(req);
    if (p.kind !== 'user') throw new DwError('DW_AUTH_FORBIDDEN', 'forbidden: only officers have a password', { status: 403 });
    const { currentPassword, newPassword } = req.body as { currentPassword: string; newPassword: string };
    const wait = await limiter.admit(p.name, req.ip);
    if (wait > 0) {
      reply.header('retry-after', String(wait));
      throw new DwError('DW_AUTH_RATE_LIMITED', `too many failed attempts; try again in ${wait} s`, { status: 429 });
    }
    if (!(await security.checkPassword(p.name, currentPassword))) {
      throw new DwError('DW_AUTH_REQUIRED', 'wrong current password', { status: 401 });
    }
    await limiter.recordSuccess(p.name, req.ip);
    await security.setPassword(p.name, newPassword);
    audit.append({ actor: p.name, tenant: p.tenant, action: 'user.password', target: p.name, ip: req.ip });
    reply.header('set-cookie', sessionCookie('', 0, auth.secureCookies === true));
    return reply.status(204).send();
  });

  // ---- admin: users of the admin's own tenant ----
  app.get('/v1/users', { schema: listUsersSchema }, async (req) => ({ users: security.listUsers(principalOf(req).tenant) }));

  app.post('/v1/users', { schema: createUserSchema }, async (req, reply) => {
    const b = req.body as { username: string; roles: string[]; password: string };
    const user = await security.createUser({ tenant: principalOf(req).tenant, ...b });
    return reply.status(201).send(user);
  });

  for (const [verb, disabled] of [['disable', true], ['enable', false]] as const) {
    app.post(`/v1/users/:username/${verb}`, { schema: setDisabledSchema(verb) }, async (req) => {
      const { username } = req.params as { username: string };
      const u = security.findUser(username);
      // Another tenant's user does not exist as far as this admin can tell.
      if (!u || u.tenant !== principalOf(req).tenant) throw new DwError('DW_NOT_FOUND', `user "${username}" not found`, { status: 404 });
      return await security.setDisabled(username, disabled);
    });
  }

  // ---- admin: drone credentials ----
  app.get('/v1/drones', { schema: listDronesSchema }, async (req) => ({ drones: security.listDrones(principalOf(req).tenant) }));

  app.post('/v1/drones', { schema: registerDroneSchema }, async (req, reply) => {
    const { droneId } = req.body as { droneId: string };
    const { token } = await security.registerDrone(principalOf(req).tenant, droneId);
    // The only time the credential is ever shown.
    return reply.status(201).header('cache-control', 'no-store').send({ droneId, tenant: principalOf(req).tenant, token });
  });

  app.delete('/v1/drones/:droneId', { schema: revokeDroneSchema }, async (req, reply) => {
    await security.revokeDrone(principalOf(req).tenant, (req.params as { droneId: string }).droneId);
    return reply.status(204).send();
  });

  // ---- audit log (supervisors, admins): their tenant's entries ----
  app.get('/v1/audit', { schema: auditListSchema }, async (req) => {
    const q = req.query as { actor?: string; action?: string; since?: string; limit: number };
    return { entries: audit.list({ ...q, tenant: principalOf(req).tenant }) };
  });

  app.get('/v1/audit/verify', { schema: auditVerifySchema }, async () => audit.verify());
};
