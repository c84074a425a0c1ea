import { isRole, type Role } from '../../../security/roles.ts';
import type { Tenant, User } from '../../../security/credentials.ts';

/**
 * Layout of the credential store in JetStream KV (docs/security.md, "Distributed mode"):
 * - bucket `dw_security`: `tn.<tenant>` a tenant, `u.<username>` an account (with its scrypt hash),
 *   `t.<sha256>` an API token, `d.<tenant>.<droneId>` a drone credential (with the SHA-256 of its secret);
 * - bucket `dw_sessions`: `s.<sha256>` a browser session; the bucket's TTL (7 days, the longest session allowed)
 *   removes forgotten ones, and each session carries its own expiry.
 * Names and drone ids may hold characters KV keys may not (`@`, `:`): they are base64url-encoded in the key.
 */

export const SECURITY_BUCKET = 'dw_security';
export const SESSIONS_BUCKET = 'dw_sessions';

export interface StoredUser extends Omit<User, 'roles'> {
  roles: string[];
  passwordHash: string;
}

export interface StoredToken {
  id: string;
  username: string;
  name: string;
  createdAt: string;
  revokedAt: string | null;
}

export interface StoredDrone {
  tenant: string;
  droneId: string;
  /** SHA-256 of the credential: re-registering replaces it (rotation). */
  hash: string;
  createdAt: string;
  revokedAt: string | null;
}

export interface StoredSession {
  username: string;
  userId: string;
  csrf: string;
  expiresAt: number;
}

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64url');
const unb64 = (s: string): string => Buffer.from(s, 'base64url').toString('utf8');

export const keys = {
  tenant: (id: string): string => `tn.${id}`,
  user: (username: string): string => `u.${b64(username)}`,
  token: (hash: string): string => `t.${hash}`,
  drone: (tenant: string, droneId: string): string => `d.${tenant}.${b64(droneId)}`,
  session: (hash: string): string => `s.${hash}`,
};

export function toUser(u: StoredUser): User {
  return { id: u.id, tenant: u.tenant, username: u.username, roles: u.roles.filter(isRole) as Role[], disabled: u.disabled, createdAt: u.createdAt };
}

/**
 * This process's copy of both buckets, fed by their watches and by its own writes, each with its revision (an older
 * revision never replaces a newer one). Every lookup the store answers at once comes from here.
 */
export class CredentialsView {
  readonly tenants = new Map<string, Tenant>();
  readonly users = new Map<string, StoredUser>();
  /** API tokens by the SHA-256 of their secret. */
  readonly tokens = new Map<string, StoredToken>();
  readonly tokenHashById = new Map<string, string>();
  /** Drone credentials by `<tenant>/<droneId>`. */
  readonly drones = new Map<string, StoredDrone>();
  readonly droneByHash = new Map<string, string>();
  readonly sessions = new Map<string, StoredSession>();
  private readonly revisions = new Map<string, number>();

  /** Applies a key's value (null: deleted) from one of the buckets. False when an as new or newer revision is known. */
  apply(bucket: string, key: string, value: unknown, rev: number): boolean {
    const id = `${bucket}/${key}`;
    if ((this.revisions.get(id) ?? 0) >= rev) return false;
    this.revisions.set(id, rev);
    const dot = key.indexOf('.');
    const kind = key.slice(0, dot);
    const rest = key.slice(dot + 1);
    if (bucket === SESSIONS_BUCKET) {
      if (kind !== 's') return true;
      if (value === null) this.sessions.delete(rest);
      else this.sessions.set(rest, value as StoredSession);
      return true;
    }
    switch (kind) {
      case 'tn':
        if (value === null) this.tenants.delete(rest);
        else this.tenants.set(rest, value as Tenant);
        break;
      case 'u':
        if (value === null) this.users.delete(unb64(rest));
        else this.users.set((value as StoredUser).username, value as StoredUser);
        break;
      case 't': {
        const old = this.tokens.get(rest);
        if (old) this.tokenHashById.delete(old.id);
        if (value === null) this.tokens.delete(rest);
        else {
          this.tokens.set(rest, value as StoredToken);
          this.tokenHashById.set((value as StoredToken).id, rest);
        }
        break;
      }
      case 'd': {
        const old = this.droneKeyOf(rest);
        const before = old ? this.drones.get(old) : undefined;
        if (before) this.droneByHash.delete(before.hash);
        if (value === null) {
          if (old) this.drones.delete(old);
        } else {
          const d = value as StoredDrone;
          this.drones.set(`${d.tenant}/${d.droneId}`, d);
          this.droneByHash.set(d.hash, `${d.tenant}/${d.droneId}`);
        }
        break;
      }
      default:
        break;
    }
    return true;
  }

  /** `<tenant>/<droneId>` of a `d.` key's rest (`<tenant>.<base64url droneId>`). */
  private droneKeyOf(rest: string): string | undefined {
    const dot = rest.indexOf('.');
    return dot > 0 ? `${rest.slice(0, dot)}/${unb64(rest.slice(dot + 1))}` : undefined;
  }
}
