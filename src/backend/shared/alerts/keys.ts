/**
 * Layout of the alert state in a shared KV bucket (JetStream KV, or a log-backed bucket on Kafka) (docs/alerts.md, "State in distributed mode"):
 * - bucket `dw_alerts_<tenant>`: one per tenant, so a tenant's alerts can be listed, watched, replicated, secured
 *   and deleted on their own;
 * - `a.<alertId>`: an AlertRecord, changed only by compare-and-set on its revision (sightings and officers alike);
 * - `d.<hash>`: the dedup index, `{ alertId, previous }` of the latest alert of one (drone, citizen). Names and drone ids may
 *   hold any character, keys may not: the pair is hashed into one token.
 */
import { createHash } from 'node:crypto';
import type { Alert, AlertEvent } from '../../../alerts/types.ts';

export const ALERT_PREFIX = 'a.';
export const DEDUP_PREFIX = 'd.';
/** Sightings remembered per alert for republishing their events after a redelivery (see AlertRecord.recent). */
export const RECENT_SIGHTINGS = 32;

export function bucketName(tenant: string): string {
  return `dw_alerts_${tenant}`;
}

export function alertKey(alertId: string): string {
  return `${ALERT_PREFIX}${alertId}`;
}

export function dedupKey(droneId: string, citizen: string): string {
  return `${DEDUP_PREFIX}${createHash('sha256').update(droneId).update('\0').update(citizen).digest('hex').slice(0, 32)}`;
}

/** What `a.<alertId>` holds. */
export interface AlertRecord {
  alert: Alert;
  /** Counts changes, like the SQLite store's `version`: lifecycle event ids derive from it. */
  version: number;
  /**
   * Highest `reports` position applied to this alert. A drone's reports are in one partition, in order, and a
   * worker applies them in order, so every sighting of this drone at or before it was applied: the redelivered
   * report is recognised without an `applied` table.
   */
  seen: { p: number; o: number } | null;
  /** The last RECENT_SIGHTINGS sightings `[reportId, 'r' (raised) | 'u' (updated)]`: their event ids, for republishing. */
  recent: [string, 'r' | 'u'][];
  /**
   * Lifecycle events (acknowledged, assigned, resolved) written with their change and not yet confirmed on the
   * `alerts` topic: the outbox, inside the one key a compare-and-set writes atomically (see kv/pending.ts).
   */
  pending?: AlertEvent[];
}

export interface DedupEntry {
  alertId: string;
  /**
   * The alerts it replaced, newest first (at most PREVIOUS_ALERTS): a redelivered batch may hold a sighting that
   * updated one of them before a later report of the batch opened the current one; its event is found there.
   */
  previous?: string[];
}

export const PREVIOUS_ALERTS = 3;

const enc = new TextEncoder();
const dec = new TextDecoder();

export function encodeJson(v: AlertRecord | DedupEntry): Uint8Array {
  return enc.encode(JSON.stringify(v));
}

export function decodeJson<T>(bytes: Uint8Array): T {
  return JSON.parse(dec.decode(bytes)) as T;
}
