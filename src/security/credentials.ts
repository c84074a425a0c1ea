import { DwError, type FieldError } from '../errors/index.ts';
import type { LoginLimiter } from './rate-limit.ts';
import { isRole, permissionsOf, type Permission, type Role } from './roles.ts';

/**
 * The credential store: tenants, officers' accounts, sessions, API tokens and drone credentials. Two implementations
 * behind this one interface, checked by one conformance suite (test/security/credentials-suite.ts):
 * - `SecurityStore` (store.ts): SQLite in `security.dir`, for the embedded mode and processes sharing one host;
 * - `KvCredentialStore` (kv-store.ts): JetStream KV, shared by every process of a distributed deployment, on any host.
 *
 * Reads that decide an access (`resolveBearer`, `resolveSession`) and changes may answer with a promise; listings
 * answer at once (the KV store serves them from its local copy of the buckets). Secrets are stored as hashes only
 * (scrypt for passwords, SHA-256 for random tokens); a token is shown once, when it is created.
 */

export type MaybePromise<T> = T | Promise<T>;

export interface Tenant {
  id: string;
  name: string;
  createdAt: string;
}

export interface User {
  id: string;
  tenant: string;
  username: string;
  roles: Role[];
  disabled: boolean;
  createdAt: string;
}

export interface DroneCredential {
  tenant: string;
  /** `*` for a gateway: it may publish for every drone of its tenant (the simulator, a radio relay). */
  droneId: string;
  createdAt: string;
  revokedAt: string | null;
}

export interface ApiTokenInfo {
  id: string;
  name: string;
  createdAt: string;
  revokedAt: string | null;
}

/** Who is calling, resolved from a session, an API token or a drone credential. */
export interface Principal {
  kind: 'user' | 'drone';
  /** User name, or `drone:<droneId>`: what the audit log records as the actor. */
  name: string;
  tenant: string;
  roles: readonly Role[];
  permissions: ReadonlySet<Permission>;
  /** Drones: the drone it may publish as (`*` = any drone of the tenant). */
  droneId?: string | undefined;
  userId?: string | undefined;
}

export interface NewSession {
  /** The cookie value (secret). */
  token: string;
  /** Sent back by the browser in a header on every change. */
  csrf: string;
  expiresAt: number;
}

export interface CredentialStore {
  /** `local` (SQLite) or `nats` (JetStream KV). */
  readonly kind: 'local' | 'nats' | 'kafka';
  close(): MaybePromise<void>;

  createTenant(id: string, name?: string): MaybePromise<Tenant>;
  /** Creates the tenant unless it exists (start-up of a single-tenant deployment). */
  ensureTenant(id: string): MaybePromise<Tenant>;
  getTenant(id: string): Tenant | undefined;
  listTenants(): Tenant[];

  createUser(input: { tenant: string; username: string; roles: readonly string[]; password: string }): Promise<User>;
  /**
   * Creates the first administrator if, and only if, there is no user at all, atomically: several processes sharing
   * the store may start at once, and exactly one of them creates it. True when this call did.
   */
  bootstrapAdmin(tenant: string, username: string, password: string): Promise<boolean>;
  findUser(username: string): User | undefined;
  getUser(username: string): User;
  listUsers(tenant?: string): User[];
  countUsers(): number;
  /** Disabling also ends the user's sessions at once (API tokens stop working while disabled). */
  setDisabled(username: string, disabled: boolean): MaybePromise<User>;
  /** Replaces the password and ends every session of the account. */
  setPassword(username: string, password: string): Promise<void>;
  /** The user when the password matches and the account is enabled. Costs one scrypt whether or not the user exists. */
  checkPassword(username: string, password: string): Promise<User | undefined>;

  createSession(user: User, ttlMs: number): MaybePromise<NewSession>;
  resolveSession(token: string): MaybePromise<{ principal: Principal; csrf: string } | undefined>;
  deleteSession(token: string): MaybePromise<void>;

  createApiToken(username: string, name: string): MaybePromise<{ id: string; token: string }>;
  listApiTokens(username: string): ApiTokenInfo[];
  /** Whose token an id is (the audit log records the owner's tenant when it is revoked). */
  findApiToken(id: string): (ApiTokenInfo & { username: string; tenant: string }) | undefined;
  revokeApiToken(id: string): MaybePromise<void>;

  /** Issues a drone's credential (replacing any previous one: re-registering rotates it). */
  registerDrone(tenant: string, droneId: string): MaybePromise<{ token: string }>;
  revokeDrone(tenant: string, droneId: string): MaybePromise<void>;
  listDrones(tenant: string): DroneCredential[];
  /** Resolves a bearer token (API token or drone credential) to its principal, or undefined if unknown/revoked. */
  resolveBearer(token: string): MaybePromise<Principal | undefined>;

  /** The failed-login limiter that goes with the store: in this process (SQLite), or across every host (KV). */
  loginLimiter(): LoginLimiter;
}

/**
 * Every long-lived credential of a store, secrets as their hashes only (sessions are not carried: they end with the
 * move, officers log in again). What `dronewatch security migrate-to-kv` copies from security.db to JetStream KV.
 */
export interface CredentialDump {
  tenants: Tenant[];
  users: (User & { passwordHash: string })[];
  apiTokens: (ApiTokenInfo & { username: string; hash: string })[];
  drones: (DroneCredential & { hash: string })[];
}

export const TENANT_ID = /^[a-z0-9][a-z0-9_-]{0,62}$/;
export const USERNAME = /^[a-z0-9][a-z0-9._@-]{0,63}$/;
export const DRONE_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;
export const MIN_PASSWORD_LENGTH = 12;

export function invalid(field: string, reason: string): DwError {
  const details: FieldError[] = [{ field, reason }];
  return new DwError('DW_REQUEST_INVALID', `${field}: ${reason}`, { status: 400, details });
}

export function notFound(what: string): DwError {
  return new DwError('DW_NOT_FOUND', `${what} not found`, { status: 404 });
}

export function conflict(what: string): DwError {
  return new DwError('DW_CONFLICT', `${what} exists already`, { status: 409 });
}

/** The checks every store makes, with the same messages. */
export const check = {
  tenantId(id: string): void {
    if (!TENANT_ID.test(id)) throw invalid('tenant', 'must be 1-63 characters: lower-case letters, digits, - and _');
  },
  newUser(input: { username: string; roles: readonly string[]; password: string }): void {
    if (!USERNAME.test(input.username)) throw invalid('username', 'must be 1-64 characters: lower-case letters, digits, . _ @ -');
    if (input.roles.length === 0 || !input.roles.every(isRole)) throw invalid('roles', 'must be one or more of officer, analyst, supervisor, admin');
    check.password(input.password);
  },
  password(password: string): void {
    if (password.length < MIN_PASSWORD_LENGTH) throw invalid('password', `must be at least ${MIN_PASSWORD_LENGTH} characters`);
  },
  droneId(droneId: string): void {
    if (droneId !== '*' && !DRONE_ID.test(droneId)) throw invalid('droneId', 'must be 1-64 characters: letters, digits, . _ : -');
  },
};

export function userPrincipal(u: User): Principal {
  return { kind: 'user', name: u.username, tenant: u.tenant, roles: u.roles, permissions: permissionsOf(u.roles), userId: u.id };
}

export function dronePrincipal(tenant: string, droneId: string): Principal {
  return {
    kind: 'drone', name: droneId === '*' ? 'gateway' : `drone:${droneId}`, tenant, roles: [],
    permissions: new Set<Permission>(droneId === '*' ? ['ingest:any-drone'] : []), droneId,
  };
}

/** Roles as stored: known ones, each once, in the given order. */
export function normalRoles(roles: readonly string[]): Role[] {
  return [...new Set(roles)].filter(isRole);
}
