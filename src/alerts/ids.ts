import { createHash } from 'node:crypto';

/**
 * Ids are hashes of what identifies the thing, never random: a report delivered twice (at-least-once stream, crash and
 * restart) yields the same alert id and the same event ids, which is what makes the store and the `alerts` topic
 * (de-duplicated by record id) idempotent.
 */
function shortHash(parts: readonly string[], hexChars: number): string {
  const h = createHash('sha256');
  for (const p of parts) {
    h.update(p);
    h.update('\0');
  }
  return h.digest('hex').slice(0, hexChars);
}

/** 16 hex chars (64 bits) from the report that opened the alert and the citizen. */
export function alertIdOf(tenant: string, firstReportId: string, citizen: string): string {
  return shortHash([tenant, firstReportId, citizen], 16);
}

/**
 * `raised`/`updated` events are identified by the report that caused them, so the same (alert, report) can never give
 * two events; lifecycle events by the alert's version (each change increments it).
 */
export function eventIdOf(alertId: string, type: string, discriminator: string | number): string {
  return shortHash([alertId, type, String(discriminator)], 24);
}
