/** Authentication, roles, tenants, drone credentials and the audit log. See docs/security.md. */
export { hashPassword, verifyPassword, generatePassword, DEFAULT_SCRYPT, type ScryptParams } from './passwords.ts';
export { newToken, tokenHash, tokenKind, safeEqual, type TokenKind } from './tokens.ts';
export { ROLES, PERMISSIONS, isRole, permissionsOf, grants, type Role, type Permission } from './roles.ts';
export { SecurityStore, userPrincipal, TENANT_ID, USERNAME, type Tenant, type User, type Principal, type DroneCredential } from './store.ts';
export { AuditLog, type AuditAction, type AuditEntry, type AuditInput, type AuditQuery } from './audit.ts';
export { LoginRateLimiter, DEFAULT_LOGIN_LIMITS, type LoginLimits } from './rate-limit.ts';
