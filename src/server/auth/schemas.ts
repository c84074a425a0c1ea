import { PERMISSIONS, ROLES } from '../../security/roles.ts';
import { error, isoInstant, noContent, nullable, responses } from '../routes/schemas/common.ts';

/** Request and response schemas of the authentication and administration routes (src/server/auth/routes.ts). */

const role = { type: 'string', enum: ROLES } as const;
const password = { type: 'string', minLength: 12, maxLength: 1024 } as const;
const TAG = ['auth'];
const ADMIN = ['admin'];

const user = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'tenant', 'username', 'roles', 'disabled', 'createdAt'],
  properties: { id: { type: 'string' }, tenant: { type: 'string' }, username: { type: 'string' }, roles: { type: 'array', items: role }, disabled: { type: 'boolean' }, createdAt: isoInstant },
} as const;

const drone = {
  type: 'object',
  additionalProperties: false,
  required: ['tenant', 'droneId', 'createdAt', 'revokedAt'],
  properties: { tenant: { type: 'string' }, droneId: { type: 'string', description: '`*` for a gateway (any drone of the tenant).' }, createdAt: isoInstant, revokedAt: nullable(isoInstant) },
} as const;

const auditEntry = {
  type: 'object',
  additionalProperties: false,
  required: ['seq', 'at', 'actor', 'tenant', 'action', 'target', 'details', 'ip', 'prevHash', 'hash'],
  properties: {
    seq: { type: 'integer', minimum: 1 },
    at: isoInstant,
    actor: { type: 'string' },
    tenant: { type: 'string' },
    action: { type: 'string' },
    target: nullable({ type: 'string' }),
    // What was disclosed or changed differs per action (the SQL, a note, a reason): open-ended on purpose.
    details: { type: 'object', additionalProperties: true },
    ip: nullable({ type: 'string' }),
    prevHash: { type: 'string' },
    hash: { type: 'string' },
  },
} as const;

const usernameParam = { type: 'object', additionalProperties: false, required: ['username'], properties: { username: { type: 'string', minLength: 1, maxLength: 64 } } } as const;
const RATE_LIMITED = error('`DW_AUTH_RATE_LIMITED`: too many failed attempts for this account or address.', { retryAfter: true });

export const loginSchema = {
  tags: TAG,
  summary: 'Log in: sets the session cookie and answers the CSRF token changes must carry',
  body: { type: 'object', additionalProperties: false, required: ['username', 'password'], properties: { username: { type: 'string', minLength: 1, maxLength: 64 }, password: { type: 'string', minLength: 1, maxLength: 1024 } } },
  response: responses({
    200: {
      description: 'Logged in; `Set-Cookie` carries the session (HttpOnly, SameSite=Strict).',
      type: 'object',
      additionalProperties: false,
      required: ['username', 'tenant', 'roles', 'csrf', 'expiresAt'],
      properties: { username: { type: 'string' }, tenant: { type: 'string' }, roles: { type: 'array', items: role }, csrf: { type: 'string', description: 'Send it as x-csrf-token on every change made with the cookie.' }, expiresAt: isoInstant },
    },
    401: error('`DW_AUTH_REQUIRED`: wrong user name or password (the same answer for an unknown or disabled account).'),
    429: RATE_LIMITED,
  }, 'body'),
} as const;

export const logoutSchema = {
  tags: TAG,
  summary: "Log out: ends the request's session (an API token stays valid: revoke it with the CLI)",
  response: responses({ 204: noContent('Logged out; the cookie is cleared.') }, 'authenticated'),
} as const;

export const meSchema = {
  tags: TAG,
  summary: 'Who am I: the caller, its roles and permissions',
  response: responses({
    200: {
      type: 'object',
      additionalProperties: false,
      required: ['name', 'kind', 'tenant', 'roles', 'permissions'],
      properties: {
        name: { type: 'string' },
        kind: { type: 'string', enum: ['user', 'drone'] },
        tenant: { type: 'string' },
        roles: { type: 'array', items: role },
        permissions: { type: 'array', items: { type: 'string', enum: PERMISSIONS } },
        csrf: { type: 'string', description: "The session's CSRF token (sessions only)." },
      },
    },
  }, 'authenticated'),
} as const;

export const passwordSchema = {
  tags: TAG,
  summary: 'Change the own password; every session of the account ends',
  body: { type: 'object', additionalProperties: false, required: ['currentPassword', 'newPassword'], properties: { currentPassword: { type: 'string', minLength: 1, maxLength: 1024 }, newPassword: password } },
  response: responses({
    204: noContent('Changed; log in again.'),
    401: error('`DW_AUTH_REQUIRED`: no or bad credentials, or a wrong current password.'),
    429: RATE_LIMITED,
  }, 'authenticated', 'body'),
} as const;

export const listUsersSchema = {
  tags: ADMIN,
  summary: "The users of the admin's tenant",
  response: responses({ 200: { type: 'object', additionalProperties: false, required: ['users'], properties: { users: { type: 'array', items: user } } } }, 'authenticated'),
} as const;

export const createUserSchema = {
  tags: ADMIN,
  summary: "Create a user in the admin's tenant",
  // Names and roles are checked by the store (check.newUser), whose messages say what a valid one is.
  body: { type: 'object', additionalProperties: false, required: ['username', 'roles', 'password'], properties: { username: { type: 'string', description: 'Letters, digits, `.`, `_`, `-`.' }, roles: { type: 'array', items: { type: 'string', description: `One of ${ROLES.join(', ')}.` }, minItems: 1 }, password } },
  response: responses({ 201: { ...user, description: 'Created.' }, 409: error('`DW_CONFLICT`: a user of that name exists.') }, 'authenticated', 'body'),
} as const;

export const setDisabledSchema = (verb: 'disable' | 'enable') => ({
  tags: ADMIN,
  summary: verb === 'disable' ? 'Disable a user: its sessions end and its API tokens stop working' : 'Enable a disabled user',
  params: usernameParam,
  response: responses({ 200: user, 404: error("`DW_NOT_FOUND`: no such user in the admin's tenant.") }, 'authenticated', 'path'),
}) as const;

export const listDronesSchema = {
  tags: ADMIN,
  summary: "The drone credentials of the admin's tenant (never the secrets)",
  response: responses({ 200: { type: 'object', additionalProperties: false, required: ['drones'], properties: { drones: { type: 'array', items: drone } } } }, 'authenticated'),
} as const;

export const registerDroneSchema = {
  tags: ADMIN,
  summary: "Register a drone (or rotate its credential): the credential is answered this once",
  body: { type: 'object', additionalProperties: false, required: ['droneId'], properties: { droneId: { type: 'string', minLength: 1, maxLength: 64 } } },
  response: responses({
    201: { description: 'Registered; `token` is never shown again.', type: 'object', additionalProperties: false, required: ['droneId', 'tenant', 'token'], properties: { droneId: { type: 'string' }, tenant: { type: 'string' }, token: { type: 'string' } } },
  }, 'authenticated', 'body'),
} as const;

export const revokeDroneSchema = {
  tags: ADMIN,
  summary: "Revoke a drone's credential",
  params: { type: 'object', additionalProperties: false, required: ['droneId'], properties: { droneId: { type: 'string', minLength: 1, maxLength: 64 } } },
  response: responses({ 204: noContent('Revoked.'), 404: error("`DW_NOT_FOUND`: no such drone in the admin's tenant.") }, 'authenticated', 'path'),
} as const;

export const auditListSchema = {
  tags: ADMIN,
  summary: "The audit log of the caller's tenant, oldest first",
  querystring: { type: 'object', additionalProperties: false, properties: { actor: { type: 'string' }, action: { type: 'string' }, since: isoInstant, limit: { type: 'integer', minimum: 1, maximum: 100000, default: 1000 } } },
  response: responses({ 200: { type: 'object', additionalProperties: false, required: ['entries'], properties: { entries: { type: 'array', items: auditEntry } } } }, 'authenticated', 'invalid'),
} as const;

export const auditVerifySchema = {
  tags: ADMIN,
  summary: "Check the audit log's hash chain",
  response: responses({
    200: {
      type: 'object',
      additionalProperties: false,
      required: ['ok', 'entries', 'head'],
      properties: { ok: { type: 'boolean' }, entries: { type: 'integer', minimum: 0 }, head: { type: 'string' }, firstBad: { type: 'integer', description: 'The first entry that does not verify (when ok is false).' } },
    },
  }, 'authenticated'),
} as const;
