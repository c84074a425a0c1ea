/** Authentication, roles, tenants, drone credentials and the audit log. See docs/security.md. */
export { hashPassword, verifyPassword, generatePassword, DEFAULT_SCRYPT, type ScryptParams } from './passwords.ts';
export { newToken, tokenHash, tokenKind, safeEqual, type TokenKind } from './tokens.ts';
export { ROLES, PERMISSIONS, isRole, permissionsOf, grants, type Role, type Permission } from './roles.ts';
export { SecurityStore, userPrincipal, TENANT_ID, USERNAME, type Tenant, type User, type Principal, type DroneCredential } from './store.ts';
export { AuditLog, AUDIT_GENESIS, auditEntryHash, type AuditAction, type AuditEntry, type AuditInput, type AuditQuery, type AuditRecord, type AuditHashInput } from './audit.ts';
export { archiveAuditLog, verifyArchivedAudit, readAuditCheckpoint, auditDataKey, AUDIT_LAKE_PREFIX, type AuditArchiveOptions, type AuditArchiveResult, type ArchivedAuditVerification } from './audit-archive.ts';
export { AuditDuck, AUDIT_COLUMNS, auditRow, type AuditRow } from './audit-parquet.ts';
export { LoginRateLimiter, DEFAULT_LOGIN_LIMITS, type LoginLimits } from './rate-limit.ts';
