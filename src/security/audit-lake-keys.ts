import { DwError } from '../errors/index.ts';
import { listAll, type ObjectStore } from '../objectstore/index.ts';

/**
 * Where the lake keeps the audit logs' copies (src/security/audit-archive.ts). One lake holds the logs of every API
 * host, each under its log id (`AuditLog.logId`: derived from the log's entry 1, so two logs never share one):
 *
 *   audit/tenant=<t>/date=YYYY-MM-DD/audit-<logId>-<first>-<last>.parquet   a batch's entries of one tenant and day
 *   _commits/audit/<logId>/<first>.json                                     the batch's range, decided once
 *   _checkpoints/audit/<logId>/<last>.json                                  "the log's entries up to <last> are in"
 *
 * The tenant and day stay the partition directories, so engines reading `audit/**` with hive partitioning still get
 * them; the log id is in the file name and in the files' `log_id` column. Keys of the first layout (no log id, never
 * shipped) match none of these patterns: they are ignored, never read as a log.
 */

export const AUDIT_LAKE_PREFIX = 'audit/';
const COMMITS = '_commits/audit/';
const CHECKPOINTS = '_checkpoints/audit/';
/** Any safe integer, so names sort by seq. */
const SEQ_WIDTH = 16;
const LOG_ID = /^[0-9a-f]{16}$/;
const SEQ_FILE = /^(\d+)\.json$/;
const LOG_SEQ_FILE = /^([0-9a-f]{16})\/(\d+)\.json$/;
const DATA_KEY = /^audit\/tenant=([^/]+)\/date=([^/]+)\/audit-([0-9a-f]{16})-(\d+)-(\d+)\.parquet$/;

export interface AuditCheckpoint {
  lastSeq: number;
  hash: string;
  firstSeq: number;
  files: string[];
  writer: string;
  at: string;
}

export function isAuditLogId(s: string): boolean {
  return LOG_ID.test(s);
}

const pad = (n: number): string => String(n).padStart(SEQ_WIDTH, '0');
export const commitPrefix = (logId: string): string => `${COMMITS}${logId}/`;
export const checkpointPrefix = (logId: string): string => `${CHECKPOINTS}${logId}/`;
export const commitKey = (logId: string, first: number): string => `${commitPrefix(logId)}${pad(first)}.json`;
export const checkpointKey = (logId: string, last: number): string => `${checkpointPrefix(logId)}${pad(last)}.json`;

/** A tenant as a path segment: ids are safe as they are; anything else (`-` for unknown users) is %-encoded. */
export function tenantSegment(tenant: string): string {
  if (/^[a-z0-9][a-z0-9_-]{0,62}$/.test(tenant)) return tenant;
  return tenant === '' ? '%' : Array.from(Buffer.from(tenant, 'utf8'), (b) => (/[a-z0-9_-]/i.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`)).join('');
}

export function auditDataKey(logId: string, tenant: string, date: string, first: number, last: number): string {
  return `${AUDIT_LAKE_PREFIX}tenant=${tenantSegment(tenant)}/date=${date}/audit-${logId}-${pad(first)}-${pad(last)}.parquet`;
}

/** The log and batch range of an audit data file's key, or undefined for any other key (first-layout ones too). */
export function parseAuditDataKey(key: string): { logId: string; first: number; last: number } | undefined {
  const m = DATA_KEY.exec(key);
  if (!m) return undefined;
  const r = { logId: m[3]!, first: Number(m[4]), last: Number(m[5]) };
  return Number.isSafeInteger(r.first) && Number.isSafeInteger(r.last) && r.first >= 1 && r.first <= r.last ? r : undefined;
}

export function lakeMismatch(message: string): DwError {
  return new DwError('DW_AUDIT_LAKE_MISMATCH', message, { status: 409 });
}

export async function readJson<T>(lake: ObjectStore, key: string): Promise<T | undefined> {
  const buf = await lake.get(key);
  if (!buf) return undefined;
  try {
    return JSON.parse(buf.toString('utf8')) as T;
  } catch {
    throw lakeMismatch(`${lake.location}: ${key} is not JSON: the lake's audit copy is damaged`);
  }
}

/** Seqs of the `<seq>.json` objects directly under `prefix`, ascending. */
export async function listSeqs(lake: ObjectStore, prefix: string): Promise<number[]> {
  const out: number[] = [];
  for (const o of (await listAll(lake, prefix)).objects) {
    const m = SEQ_FILE.exec(o.key.slice(prefix.length));
    if (m && Number.isSafeInteger(Number(m[1]))) out.push(Number(m[1]));
  }
  return out.sort((a, b) => a - b);
}

/** Ids of the logs that have a checkpoint in the lake (at least one batch complete), sorted. */
export async function archivedAuditLogIds(lake: ObjectStore): Promise<string[]> {
  const ids = new Set<string>();
  for (const o of (await listAll(lake, CHECKPOINTS)).objects) {
    const m = LOG_SEQ_FILE.exec(o.key.slice(CHECKPOINTS.length));
    if (m) ids.add(m[1]!);
  }
  return [...ids].sort();
}

/** The newest checkpoint of one log's copy: how far the lake holds it. Undefined when nothing of it is archived. */
export async function readAuditCheckpoint(lake: ObjectStore, logId: string): Promise<{ lastSeq: number; hash: string } | undefined> {
  const last = (await listSeqs(lake, checkpointPrefix(logId))).at(-1);
  if (last === undefined) return undefined;
  const key = checkpointKey(logId, last);
  const cp = await readJson<AuditCheckpoint>(lake, key);
  // Pruned between the listing and the read: a newer one exists.
  if (!cp) return readAuditCheckpoint(lake, logId);
  if (cp.lastSeq !== last || typeof cp.hash !== 'string') throw lakeMismatch(`${lake.location}: ${key} does not describe entry ${last} of audit log ${logId}`);
  return { lastSeq: cp.lastSeq, hash: cp.hash };
}
