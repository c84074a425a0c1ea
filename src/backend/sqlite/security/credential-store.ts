import Database from 'better-sqlite3';
import { randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';
import { DEFAULT_SCRYPT, dummyHash, hashPassword, verifyPassword, type ScryptParams } from '../../../security/passwords.ts';
import { LoginRateLimiter, type LoginLimiter } from '../../../security/rate-limit.ts';
import { isRole } from '../../../security/roles.ts';
import {
  check, conflict, dronePrincipal, invalid, normalRoles, notFound, userPrincipal,
  type ApiTokenInfo, type CredentialDump, type CredentialStore, type DroneCredential, type NewSession, type Principal, type Tenant, type User,
} from '../../../security/credentials.ts';
import { SECURITY_SCHEMA } from './schema.ts';
import { newToken, tokenHash, tokenKind } from '../../../security/tokens.ts';
import { openWalDatabase } from '../open-db.ts';

interface UserRow { id: string; tenant: string; username: string; roles: string; password_hash: string; disabled: number; created_at: string }

const toUser = (r: UserRow): User => ({ id: r.id, tenant: r.tenant, username: r.username, roles: r.roles.split(',').filter(isRole), disabled: r.disabled === 1, createdAt: r.created_at });

/**
 * The credential store in `<dataDir>/security.db` (SQLite): the embedded mode, and processes sharing one host.
 * Every check reads the database, so a revocation or a disabled account takes effect on the next request of any
 * process sharing the file.
 */
export class SecurityStore implements CredentialStore {
  readonly kind = 'local' as const;
  private readonly limiter = new LoginRateLimiter();

  private constructor(private readonly db: Database.Database, private readonly scrypt: ScryptParams) {}

  static open(dataDir: string, opts: { scrypt?: ScryptParams } = {}): SecurityStore {
    const db = openWalDatabase(path.join(dataDir, 'security.db'));
    db.pragma('foreign_keys = ON');
    db.exec(SECURITY_SCHEMA);
    return new SecurityStore(db, opts.scrypt ?? DEFAULT_SCRYPT);
  }

  /** Failed logins are counted in this process (the store on one host; docs/security.md). */
  loginLimiter(): LoginLimiter {
    return this.limiter;
  }

  close(): void {
    this.db.close();
  }

  /** Every long-lived credential, secrets as hashes (for `migrate-to-kv`). */
  dump(): CredentialDump {
    const users = this.db.prepare<[], UserRow>('SELECT * FROM users ORDER BY username').all().map((r) => ({ ...toUser(r), passwordHash: r.password_hash }));
    const apiTokens = this.db.prepare<[], { id: string; name: string; username: string; hash: string; created_at: string; revoked_at: string | null }>(
      'SELECT t.id, t.name, u.username, t.hash, t.created_at, t.revoked_at FROM api_tokens t JOIN users u ON u.id = t.user_id ORDER BY t.created_at',
    ).all().map((r) => ({ id: r.id, name: r.name, username: r.username, hash: r.hash, createdAt: r.created_at, revokedAt: r.revoked_at }));
    const drones = this.db.prepare<[], { tenant: string; drone_id: string; hash: string; created_at: string; revoked_at: string | null }>(
      'SELECT tenant, drone_id, hash, created_at, revoked_at FROM drones ORDER BY tenant, drone_id',
    ).all().map((r) => ({ tenant: r.tenant, droneId: r.drone_id, hash: r.hash, createdAt: r.created_at, revokedAt: r.revoked_at }));
    return { tenants: this.listTenants(), users, apiTokens, drones };
  }

  // ---- tenants ----
  createTenant(id: string, name = id): Tenant {
    check.tenantId(id);
    if (this.getTenant(id)) throw conflict(`tenant "${id}"`);
    const createdAt = new Date().toISOString();
    this.db.prepare('INSERT INTO tenants (id, name, created_at) VALUES (?, ?, ?)').run(id, name, createdAt);
    return { id, name, createdAt };
  }

  /** Creates the tenant unless it exists (start-up of a single-tenant deployment). */
  ensureTenant(id: string): Tenant {
    check.tenantId(id);
    // INSERT OR IGNORE: processes sharing the store may start at the same moment.
    this.db.prepare('INSERT OR IGNORE INTO tenants (id, name, created_at) VALUES (?, ?, ?)').run(id, id, new Date().toISOString());
    return this.getTenant(id)!;
  }

  getTenant(id: string): Tenant | undefined {
    const r = this.db.prepare<[string], { id: string; name: string; created_at: string }>('SELECT * FROM tenants WHERE id = ?').get(id);
    return r ? { id: r.id, name: r.name, createdAt: r.created_at } : undefined;
  }

  listTenants(): Tenant[] {
    return this.db.prepare<[], { id: string; name: string; created_at: string }>('SELECT * FROM tenants ORDER BY id').all().map((r) => ({ id: r.id, name: r.name, createdAt: r.created_at }));
  }

  // ---- users ----
  async createUser(input: { tenant: string; username: string; roles: readonly string[]; password: string }): Promise<User> {
    check.newUser(input);
    if (!this.getTenant(input.tenant)) throw invalid('tenant', `unknown tenant "${input.tenant}"`);
    if (this.findUser(input.username)) throw conflict(`user "${input.username}"`);
    const hash = await hashPassword(input.password, this.scrypt);
    const id = randomUUID();
    const createdAt = new Date().toISOString();
    this.db.prepare('INSERT INTO users (id, tenant, username, roles, password_hash, disabled, created_at) VALUES (?, ?, ?, ?, ?, 0, ?)')
      .run(id, input.tenant, input.username, normalRoles(input.roles).join(','), hash, createdAt);
    return this.getUser(input.username);
  }

  async bootstrapAdmin(tenant: string, username: string, password: string): Promise<boolean> {
    if (this.countUsers() > 0) return false;
    const hash = await hashPassword(password, this.scrypt);
    return this.db.transaction(() => {
      if (this.countUsers() > 0) return false;
      this.ensureTenant(tenant);
      this.db.prepare('INSERT INTO users (id, tenant, username, roles, password_hash, disabled, created_at) VALUES (?, ?, ?, ?, ?, 0, ?)')
        .run(randomUUID(), tenant, username, 'admin', hash, new Date().toISOString());
      return true;
    }).immediate();
  }

  findUser(username: string): User | undefined {
    const r = this.db.prepare<[string], UserRow>('SELECT * FROM users WHERE username = ?').get(username);
    return r ? toUser(r) : undefined;
  }

  getUser(username: string): User {
    const u = this.findUser(username);
    if (!u) throw notFound(`user "${username}"`);
    return u;
  }

  listUsers(tenant?: string): User[] {
    const rows = tenant === undefined
      ? this.db.prepare<[], UserRow>('SELECT * FROM users ORDER BY tenant, username').all()
      : this.db.prepare<[string], UserRow>('SELECT * FROM users WHERE tenant = ? ORDER BY username').all(tenant);
    return rows.map(toUser);
  }

  countUsers(): number {
    return this.db.prepare<[], { n: number }>('SELECT count(*) AS n FROM users').get()!.n;
  }

  setDisabled(username: string, disabled: boolean): User {
    const u = this.getUser(username);
    this.db.transaction(() => {
      this.db.prepare('UPDATE users SET disabled = ? WHERE id = ?').run(disabled ? 1 : 0, u.id);
      if (disabled) this.db.prepare('DELETE FROM sessions WHERE user_id = ?').run(u.id);
    })();
    return this.getUser(username);
  }

  async setPassword(username: string, password: string): Promise<void> {
    check.password(password);
    const u = this.getUser(username);
    const hash = await hashPassword(password, this.scrypt);
    this.db.transaction(() => {
      this.db.prepare('UPDATE users SET password_hash = ? WHERE id = ?').run(hash, u.id);
      this.db.prepare('DELETE FROM sessions WHERE user_id = ?').run(u.id);
    })();
  }

  async checkPassword(username: string, password: string): Promise<User | undefined> {
    const r = this.db.prepare<[string], UserRow>('SELECT * FROM users WHERE username = ?').get(username);
    // A dummy hash for unknown users: the answer takes as long as for a wrong password (no user enumeration by timing).
    const ok = await verifyPassword(password, r?.password_hash ?? dummyHash(this.scrypt));
    return r && ok && r.disabled === 0 ? toUser(r) : undefined;
  }

  // ---- sessions ----
  createSession(user: User, ttlMs: number): NewSession {
    const token = newToken('sess');
    const csrf = randomBytes(32).toString('base64url');
    const expiresAt = Date.now() + ttlMs;
    this.db.prepare('DELETE FROM sessions WHERE expires_at < ?').run(Date.now());
    this.db.prepare('INSERT INTO sessions (hash, user_id, csrf, expires_at) VALUES (?, ?, ?, ?)').run(tokenHash(token), user.id, csrf, expiresAt);
    return { token, csrf, expiresAt };
  }

  resolveSession(token: string): { principal: Principal; csrf: string } | undefined {
    if (tokenKind(token) !== 'sess') return undefined;
    const r = this.db.prepare<[string, number], UserRow & { csrf: string }>(
      'SELECT u.*, s.csrf FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.hash = ? AND s.expires_at > ? AND u.disabled = 0',
    ).get(tokenHash(token), Date.now());
    return r ? { principal: userPrincipal(toUser(r)), csrf: r.csrf } : undefined;
  }

  deleteSession(token: string): void {
    this.db.prepare('DELETE FROM sessions WHERE hash = ?').run(tokenHash(token));
  }

  // ---- API tokens ----
  createApiToken(username: string, name: string): { id: string; token: string } {
    const u = this.getUser(username);
    const token = newToken('api');
    const id = randomUUID();
    this.db.prepare('INSERT INTO api_tokens (id, user_id, name, hash, created_at) VALUES (?, ?, ?, ?, ?)').run(id, u.id, name, tokenHash(token), new Date().toISOString());
    return { id, token };
  }

  listApiTokens(username: string): ApiTokenInfo[] {
    const u = this.getUser(username);
    return this.db.prepare<[string], { id: string; name: string; created_at: string; revoked_at: string | null }>('SELECT id, name, created_at, revoked_at FROM api_tokens WHERE user_id = ? ORDER BY created_at')
      .all(u.id).map((r) => ({ id: r.id, name: r.name, createdAt: r.created_at, revokedAt: r.revoked_at }));
  }

  findApiToken(id: string): (ApiTokenInfo & { username: string; tenant: string }) | undefined {
    const r = this.db.prepare<[string], { id: string; name: string; username: string; tenant: string; created_at: string; revoked_at: string | null }>(
      'SELECT t.id, t.name, u.username, u.tenant, t.created_at, t.revoked_at FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.id = ?',
    ).get(id);
    return r ? { id: r.id, name: r.name, username: r.username, tenant: r.tenant, createdAt: r.created_at, revokedAt: r.revoked_at } : undefined;
  }

  revokeApiToken(id: string): void {
    if (this.db.prepare('UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(new Date().toISOString(), id).changes === 0) throw notFound(`API token ${id}`);
  }

  // ---- drones ----
  registerDrone(tenant: string, droneId: string): { token: string } {
    if (!this.getTenant(tenant)) throw invalid('tenant', `unknown tenant "${tenant}"`);
    check.droneId(droneId);
    const token = newToken('drone');
    this.db.prepare(`INSERT INTO drones (tenant, drone_id, hash, created_at, revoked_at) VALUES (?, ?, ?, ?, NULL)
      ON CONFLICT (tenant, drone_id) DO UPDATE SET hash = excluded.hash, created_at = excluded.created_at, revoked_at = NULL`)
      .run(tenant, droneId, tokenHash(token), new Date().toISOString());
    return { token };
  }

  revokeDrone(tenant: string, droneId: string): void {
    if (this.db.prepare('UPDATE drones SET revoked_at = ? WHERE tenant = ? AND drone_id = ? AND revoked_at IS NULL').run(new Date().toISOString(), tenant, droneId).changes === 0) {
      throw notFound(`drone credential ${tenant}/${droneId}`);
    }
  }

  listDrones(tenant: string): DroneCredential[] {
    return this.db.prepare<[string], { tenant: string; drone_id: string; created_at: string; revoked_at: string | null }>('SELECT tenant, drone_id, created_at, revoked_at FROM drones WHERE tenant = ? ORDER BY drone_id')
      .all(tenant).map((r) => ({ tenant: r.tenant, droneId: r.drone_id, createdAt: r.created_at, revokedAt: r.revoked_at }));
  }

  resolveBearer(token: string): Principal | undefined {
    const kind = tokenKind(token);
    if (kind === 'api') {
      const r = this.db.prepare<[string], UserRow>('SELECT u.* FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.hash = ? AND t.revoked_at IS NULL AND u.disabled = 0').get(tokenHash(token));
      return r ? userPrincipal(toUser(r)) : undefined;
    }
    if (kind === 'drone') {
      const r = this.db.prepare<[string], { tenant: string; drone_id: string }>('SELECT tenant, drone_id FROM drones WHERE hash = ? AND revoked_at IS NULL').get(tokenHash(token));
      return r ? dronePrincipal(r.tenant, r.drone_id) : undefined;
    }
    return undefined;
  }
}
