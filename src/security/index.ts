/** Authentication, roles, tenants, drone credentials and the audit log. See docs/security.md. */
export { hashPassword, verifyPassword, generatePassword, dummyHash, DEFAULT_SCRYPT, type ScryptParams } from './passwords.ts';
export { newToken, tokenHash, tokenKind, safeEqual, type TokenKind } from './tokens.ts';
export { ROLES, PERMISSIONS, isRole, permissionsOf, grants, type Role, type Permission } from './roles.ts';
export {
  userPrincipal, dronePrincipal, TENANT_ID, USERNAME,
  type CredentialStore, type CredentialDump, type Tenant, type User, type Principal, type DroneCredential, type ApiTokenInfo, type NewSession,
} from './credentials.ts';
export { AuditLog, AUDIT_GENESIS, auditEntryHash, auditLogIdOf, type AuditAction, type AuditEntry, type AuditInput, type AuditQuery, type AuditRecord, type AuditHashInput } from './audit.ts';
export { archiveAuditLog, type AuditArchiveOptions, type AuditArchiveResult } from './audit-archive.ts';
export { verifyArchivedAudit, type ArchivedAuditVerification, type ArchivedLogVerification } from './audit-archive-verify.ts';
export { archivedAuditLogIds, readAuditCheckpoint, auditDataKey, parseAuditDataKey, AUDIT_LAKE_PREFIX } from './audit-lake-keys.ts';
export { AuditDuck, AUDIT_COLUMNS, auditRow, type AuditRow, type AuditLakeRow } from './audit-parquet.ts';
export { LoginRateLimiter, DEFAULT_LOGIN_LIMITS, type LoginLimiter, type LoginLimits } from './rate-limit.ts';
