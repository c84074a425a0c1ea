import { createHash } from 'node:crypto';

/** Ids are hashes, never random (like alert ids, src/alerts/ids.ts): a replayed alert opens the same incident. */
function shortHash(parts: readonly string[], hexChars: number): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('hex').slice(0, hexChars);
}

/** `i` + 16 hex chars from the tenant and the alert that opened the incident. */
export function incidentIdOf(tenant: string, firstAlertId: string): string {
  return `i${shortHash([tenant, firstAlertId], 16)}`;
}

export function incidentEventIdOf(incidentId: string, type: string, version: number): string {
  return shortHash([incidentId, type, String(version)], 24);
}
