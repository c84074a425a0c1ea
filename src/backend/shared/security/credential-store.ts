import { randomBytes, randomUUID } from 'node:crypto';
import { StreamUnavailableError } from '../../../stream/errors.ts';
import { KvConflictError, type KvFollowing, type SharedKv as KV, type SharedKvStore } from '../kv.ts';
import { silentLogger, type Logger } from '../../../util/log.ts';
import {
  check, conflict, dronePrincipal, invalid, normalRoles, notFound, userPrincipal,
  type ApiTokenInfo, type CredentialDump, type CredentialStore, type DroneCredential, type NewSession, type Principal, type Tenant, type User,
} from '../../../security/credentials.ts';
import {
  CredentialsView, keys, SECURITY_BUCKET, SESSIONS_BUCKET, toUser, type StoredDrone, type StoredSession, type StoredToken, type StoredUser,
} from './credentials-view.ts';
import { KvLoginLimiter, LOGINS_BUCKET } from './login-limiter.ts';
import { DEFAULT_SCRYPT, dummyHash, hashPassword, verifyPassword, type ScryptParams } from '../../../security/passwords.ts';
import { DEFAULT_LOGIN_LIMITS, type LoginLimiter } from '../../../security/rate-limit.ts';
import { newToken, tokenHash, tokenKind } from '../../../security/tokens.ts';

export interface KvCredentialStoreOptions {
  /** Where the buckets are (JetStream KV, or log-backed buckets on Kafka); the store closes it when it closes. */
  store: SharedKvStore;
  /** Which backend holds them, for `kind`. */
  backend: 'nats' | 'kafka';
  scrypt?: ScryptParams;
  /** How long the local copies may take to catch up with the buckets at start. Default 10 000 ms. */
  requestTimeoutMs?: number;
  logger?: Logger;
}

/** Sessions last at most 7 days (config security.sessionTtlHours): the bucket forgets older ones by itself. */
const SESSIONS_TTL_MS = 7 * 24 * 3600_000 + 3600_000;

const enc = new TextEncoder();
const dec = new TextDecoder();
const json = (v: unknown): Uint8Array => enc.encode(JSON.stringify(v));

/**
 * The credential store of a distributed deployment, in shared KV buckets (layout: credentials-view.ts): every API and
 * ingest process, on any host, authenticates against the same tenants, accounts, tokens, drones and sessions.
 * Each process follows both buckets into a local copy, so checks cost no request; a change made by any process
 * (a revoked token, a disabled account, a logout) reaches the others within the watch's latency (milliseconds).
 * A session or API token not yet in the copy (created an instant ago on another host) is read from the bucket.
 * Uniqueness (tenant ids, usernames, the first admin) rests on KV create, which exactly one writer wins.
 */
export class KvCredentialStore implements CredentialStore {
  readonly kind: 'nats' | 'kafka';
  private readonly view = new CredentialsView();
  private readonly followers: KvFollowing[] = [];
  private readonly scrypt: ScryptParams;
  private closed = false;

  private constructor(
    private readonly store: SharedKvStore,
    private readonly creds: KV,
    private readonly sessions: KV,
    private readonly logins: KvLoginLimiter,
    opts: KvCredentialStoreOptions,
  ) {
    this.kind = opts.backend;
    this.scrypt = opts.scrypt ?? DEFAULT_SCRYPT;
  }

  /** Opens (or creates) its three buckets and waits until the local copies hold everything in them. */
  static async open(opts: KvCredentialStoreOptions): Promise<KvCredentialStore> {
    const timeoutMs = opts.requestTimeoutMs ?? 10_000;
    try {
      const creds = await opts.store.bucket(SECURITY_BUCKET);
      const sessions = await opts.store.bucket(SESSIONS_BUCKET, { ttlMs: SESSIONS_TTL_MS });
      // Failures older than the window do not count: the bucket forgets them by itself.
      const logins = await opts.store.bucket(LOGINS_BUCKET, { ttlMs: DEFAULT_LOGIN_LIMITS.windowMs });
      const store = new KvCredentialStore(opts.store, creds, sessions, new KvLoginLimiter(logins), opts);
      const logger = opts.logger ?? silentLogger;
      for (const [kv, name] of [[creds, SECURITY_BUCKET], [sessions, SESSIONS_BUCKET]] as const) {
        store.followers.push(await kv.follow((key, value, rev) => store.view.apply(name, key, value === null ? null : JSON.parse(dec.decode(value)), rev), { timeoutMs, logger, what: 'credential store' }));
      }
      store.followers.push(await logins.follow((key, value, rev) => store.logins.apply(key, value, rev), { timeoutMs, logger, what: 'login limiter' }));
      return store;
    } catch (e) {
      await opts.store.close().catch(() => undefined);
      throw e;
    }
  }

  /** The failed-login limiter counted across every process of the deployment (bucket `dw_login_failures`). */
  loginLimiter(): LoginLimiter {
    return this.logins;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const f of this.followers) f.stop();
    await this.store.close();
  }

  // ---- writes: each applied to the local copy with its revision as soon as the server acknowledged it ----
  private bucketOf(kv: KV): string {
    return kv === this.sessions ? SESSIONS_BUCKET : SECURITY_BUCKET;
  }

  /** Creates a key; false if it exists. */
  private async create(kv: KV, key: string, value: unknown): Promise<boolean> {
    try {
      const rev = await kv.create(key, json(value));
      this.view.apply(this.bucketOf(kv), key, value, rev);
      return true;
    } catch (e) {
      if (e instanceof KvConflictError) return false;
      throw e;
    }
  }

  private async put(kv: KV, key: string, value: unknown): Promise<void> {
    const rev = await kv.put(key, json(value));
    this.view.apply(this.bucketOf(kv), key, value, rev);
  }

  /**
   * Deletes a session. The server does not answer a delete's revision, so the local copy forgets the key for good
   * (highest revision): a session id is random and never written again, and this host refuses it from now on.
   */
  private async removeSession(key: string): Promise<void> {
    await this.sessions.delete(key);
    this.view.apply(SESSIONS_BUCKET, key, null, Number.MAX_SAFE_INTEGER);
  }

  /** Reads the key from the server, changes it with `fn` and writes it back if nobody wrote meanwhile (retried). */
  private async update<T>(kv: KV, key: string, fn: (cur: T) => T | undefined): Promise<T | undefined> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const e = await kv.get(key);
      if (!e) return undefined;
      const next = fn(JSON.parse(dec.decode(e.value)) as T);
      if (next === undefined) return undefined;
      try {
        const rev = await kv.update(key, json(next), e.revision);
        this.view.apply(this.bucketOf(kv), key, next, rev);
        return next;
      } catch (err) {
        if (!(err instanceof KvConflictError)) throw err;
        await new Promise((r) => setTimeout(r, Math.random() * 20));
      }
    }
    throw new StreamUnavailableError(`credential store: ${key} kept changing under 20 updates`, 'concurrent writers');
  }

  private async read<T>(kv: KV, key: string): Promise<T | undefined> {
    const e = await kv.get(key);
    if (!e) return undefined;
    const value = JSON.parse(dec.decode(e.value)) as T;
    this.view.apply(this.bucketOf(kv), key, value, e.revision);
    return value;
  }

  /**
   * Copies credentials (a local store's `dump()`) in, keeping their ids and hashes so that every password, API token
   * and drone credential keeps working. Keys that exist are left as they are (a re-run copies only what is missing).
   */
  async load(dump: CredentialDump): Promise<{ copied: number; existing: number }> {
    let copied = 0;
    let existing = 0;
    const put = async (key: string, value: unknown): Promise<void> => {
      if (await this.create(this.creds, key, value)) copied++;
      else existing++;
    };
    for (const t of dump.tenants) await put(keys.tenant(t.id), t);
    for (const u of dump.users) await put(keys.user(u.username), { id: u.id, tenant: u.tenant, username: u.username, roles: u.roles, disabled: u.disabled, createdAt: u.createdAt, passwordHash: u.passwordHash } satisfies StoredUser);
    for (const t of dump.apiTokens) await put(keys.token(t.hash), { id: t.id, username: t.username, name: t.name, createdAt: t.createdAt, revokedAt: t.revokedAt } satisfies StoredToken);
    for (const d of dump.drones) await put(keys.drone(d.tenant, d.droneId), { tenant: d.tenant, droneId: d.droneId, hash: d.hash, createdAt: d.createdAt, revokedAt: d.revokedAt } satisfies StoredDrone);
    return { copied, existing };
  }

  // ---- tenants ----
  async createTenant(id: string, name = id): Promise<Tenant> {
    check.tenantId(id);
    const t: Tenant = { id, name, createdAt: new Date().toISOString() };
    if (!(await this.create(this.creds, keys.tenant(id), t))) throw conflict(`tenant "${id}"`);
    return t;
  }

  async ensureTenant(id: string): Promise<Tenant> {
    check.tenantId(id);
    if (!this.view.tenants.has(id)) await this.create(this.creds, keys.tenant(id), { id, name: id, createdAt: new Date().toISOString() });
    return this.view.tenants.get(id) ?? (await this.read<Tenant>(this.creds, keys.tenant(id)))!;
  }

  getTenant(id: string): Tenant | undefined {
    return this.view.tenants.get(id);
  }

  listTenants(): Tenant[] {
    return [...this.view.tenants.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  // ---- users ----
  async createUser(input: { tenant: string; username: string; roles: readonly string[]; password: string }): Promise<User> {
    check.newUser(input);
    if (!this.getTenant(input.tenant) && !(await this.read<Tenant>(this.creds, keys.tenant(input.tenant)))) throw invalid('tenant', `unknown tenant "${input.tenant}"`);
    if (this.findUser(input.username)) throw conflict(`user "${input.username}"`);
    const u: StoredUser = {
      id: randomUUID(), tenant: input.tenant, username: input.username, roles: normalRoles(input.roles), disabled: false,
      createdAt: new Date().toISOString(), passwordHash: await hashPassword(input.password, this.scrypt),
    };
    if (!(await this.create(this.creds, keys.user(u.username), u))) throw conflict(`user "${input.username}"`);
    return toUser(u);
  }

  async bootstrapAdmin(tenant: string, username: string, password: string): Promise<boolean> {
    if (this.countUsers() > 0) return false;
    const hash = await hashPassword(password, this.scrypt);
    await this.ensureTenant(tenant);
    // Every process bootstraps the same account name: the create of its key is won by exactly one of them.
    const u: StoredUser = { id: randomUUID(), tenant, username, roles: ['admin'], disabled: false, createdAt: new Date().toISOString(), passwordHash: hash };
    return this.create(this.creds, keys.user(username), u);
  }

  findUser(username: string): User | undefined {
    const u = this.view.users.get(username);
    return u ? toUser(u) : undefined;
  }

  getUser(username: string): User {
    const u = this.findUser(username);
    if (!u) throw notFound(`user "${username}"`);
    return u;
  }

  listUsers(tenant?: string): User[] {
    return [...this.view.users.values()].filter((u) => tenant === undefined || u.tenant === tenant)
      .sort((a, b) => (a.tenant === b.tenant ? (a.username < b.username ? -1 : 1) : a.tenant < b.tenant ? -1 : 1)).map(toUser);
  }

  countUsers(): number {
    return this.view.users.size;
  }

  async setDisabled(username: string, disabled: boolean): Promise<User> {
    this.getUser(username);
    const u = await this.update<StoredUser>(this.creds, keys.user(username), (cur) => ({ ...cur, disabled }));
    if (!u) throw notFound(`user "${username}"`);
    if (disabled) await this.endSessions(username);
    return toUser(u);
  }

  async setPassword(username: string, password: string): Promise<void> {
    check.password(password);
    this.getUser(username);
    const hash = await hashPassword(password, this.scrypt);
    if (!(await this.update<StoredUser>(this.creds, keys.user(username), (cur) => ({ ...cur, passwordHash: hash })))) throw notFound(`user "${username}"`);
    await this.endSessions(username);
  }

  async checkPassword(username: string, password: string): Promise<User | undefined> {
    const u = this.view.users.get(username) ?? (await this.read<StoredUser>(this.creds, keys.user(username)));
    // A dummy hash for unknown users: the answer takes as long as for a wrong password (no user enumeration by timing).
    const ok = await verifyPassword(password, u?.passwordHash ?? dummyHash(this.scrypt));
    return u && ok && !u.disabled ? toUser(u) : undefined;
  }

  private async endSessions(username: string): Promise<void> {
    for (const [hash, s] of [...this.view.sessions]) if (s.username === username) await this.removeSession(keys.session(hash));
  }

  // ---- sessions ----
  async createSession(user: User, ttlMs: number): Promise<NewSession> {
    const token = newToken('sess');
    const s: StoredSession = { username: user.username, userId: user.id, csrf: randomBytes(32).toString('base64url'), expiresAt: Date.now() + ttlMs };
    await this.put(this.sessions, keys.session(tokenHash(token)), s);
    return { token, csrf: s.csrf, expiresAt: s.expiresAt };
  }

  async resolveSession(token: string): Promise<{ principal: Principal; csrf: string } | undefined> {
    if (tokenKind(token) !== 'sess') return undefined;
    const hash = tokenHash(token);
    const s = this.view.sessions.get(hash) ?? (await this.read<StoredSession>(this.sessions, keys.session(hash)));
    if (!s || s.expiresAt <= Date.now()) return undefined;
    const u = this.view.users.get(s.username);
    return u && u.id === s.userId && !u.disabled ? { principal: userPrincipal(toUser(u)), csrf: s.csrf } : undefined;
  }

  async deleteSession(token: string): Promise<void> {
    await this.removeSession(keys.session(tokenHash(token)));
  }

  // ---- API tokens ----
  async createApiToken(username: string, name: string): Promise<{ id: string; token: string }> {
    this.getUser(username);
    const token = newToken('api');
    const t: StoredToken = { id: randomUUID(), username, name, createdAt: new Date().toISOString(), revokedAt: null };
    await this.create(this.creds, keys.token(tokenHash(token)), t);
    return { id: t.id, token };
  }

  listApiTokens(username: string): ApiTokenInfo[] {
    this.getUser(username);
    return [...this.view.tokens.values()].filter((t) => t.username === username).sort((a, b) => (a.createdAt < b.createdAt ? -1 : 1))
      .map((t) => ({ id: t.id, name: t.name, createdAt: t.createdAt, revokedAt: t.revokedAt }));
  }

  findApiToken(id: string): (ApiTokenInfo & { username: string; tenant: string }) | undefined {
    const hash = this.view.tokenHashById.get(id);
    const t = hash === undefined ? undefined : this.view.tokens.get(hash);
    const u = t ? this.view.users.get(t.username) : undefined;
    return t && u ? { id: t.id, name: t.name, username: t.username, tenant: u.tenant, createdAt: t.createdAt, revokedAt: t.revokedAt } : undefined;
  }

  async revokeApiToken(id: string): Promise<void> {
    const hash = this.view.tokenHashById.get(id);
    const done = hash === undefined ? undefined : await this.update<StoredToken>(this.creds, keys.token(hash), (cur) => (cur.revokedAt ? undefined : { ...cur, revokedAt: new Date().toISOString() }));
    if (!done) throw notFound(`API token ${id}`);
  }

  // ---- drones ----
  async registerDrone(tenant: string, droneId: string): Promise<{ token: string }> {
    if (!this.getTenant(tenant)) throw invalid('tenant', `unknown tenant "${tenant}"`);
    check.droneId(droneId);
    const token = newToken('drone');
    const d: StoredDrone = { tenant, droneId, hash: tokenHash(token), createdAt: new Date().toISOString(), revokedAt: null };
    await this.put(this.creds, keys.drone(tenant, droneId), d);
    return { token };
  }

  async revokeDrone(tenant: string, droneId: string): Promise<void> {
    const done = await this.update<StoredDrone>(this.creds, keys.drone(tenant, droneId), (cur) => (cur.revokedAt ? undefined : { ...cur, revokedAt: new Date().toISOString() }));
    if (!done) throw notFound(`drone credential ${tenant}/${droneId}`);
  }

  listDrones(tenant: string): DroneCredential[] {
    return [...this.view.drones.values()].filter((d) => d.tenant === tenant).sort((a, b) => (a.droneId < b.droneId ? -1 : 1))
      .map((d) => ({ tenant: d.tenant, droneId: d.droneId, createdAt: d.createdAt, revokedAt: d.revokedAt }));
  }

  async resolveBearer(token: string): Promise<Principal | undefined> {
    const kind = tokenKind(token);
    const hash = tokenHash(token);
    if (kind === 'api') {
      const t = this.view.tokens.get(hash) ?? (await this.read<StoredToken>(this.creds, keys.token(hash)));
      const u = t && !t.revokedAt ? this.view.users.get(t.username) : undefined;
      return u && !u.disabled ? userPrincipal(toUser(u)) : undefined;
    }
    if (kind === 'drone') {
      // Drone credentials are keyed by drone, not by secret: one registered an instant ago on another host is known
      // here once the watch delivers it (milliseconds).
      const key = this.view.droneByHash.get(hash);
      const d = key === undefined ? undefined : this.view.drones.get(key);
      return d && d.hash === hash && !d.revokedAt ? dronePrincipal(d.tenant, d.droneId) : undefined;
    }
    return undefined;
  }
}
