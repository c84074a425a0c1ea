/**
 * How the stream model is named in JetStream: streams, subjects, durable consumer names and KV keys.
 *
 * Subject of a record: `<topic>.<tenant>.<partition>.<key>`, e.g. `reports.paris.3.drone-42`.
 * The partition token is there because a consumer group member owns partitions, not drones: with it, the member's
 * JetStream consumer filters one partition with one subject (`reports.paris.3.*`); without it, it would need one
 * filter per drone of the partition (unknown in advance, thousands). Per-drone subjects stay addressable
 * (`reports.*.*.drone-42` for one drone, `reports.paris.>` for a tenant), so tools and ACLs still see tenants and drones.
 */
import { createHash } from 'node:crypto';

/** Topics are named by the platform; they become a subject token and (upper-cased) a stream name. */
const TOPIC_RE = /^[a-z0-9][a-z0-9_-]{0,63}$/;
/** Same rule as the config's `tenant`. */
const TENANT_RE = /^[a-z0-9][a-z0-9_-]{0,62}$/;
/** Characters kept as they are in subject tokens, consumer names and KV keys. */
const PLAIN_RE = /^[A-Za-z0-9_-]{1,128}$/;

export const GROUPS_BUCKET = 'dronewatch_groups';

export function checkTopic(topic: string): void {
  if (typeof topic !== 'string' || !TOPIC_RE.test(topic)) {
    throw new RangeError(`topic "${topic}" cannot be a JetStream stream: use 1-64 characters of a-z, 0-9, "_" and "-", starting with a letter or digit`);
  }
}

export function checkTenant(tenant: string): void {
  if (!TENANT_RE.test(tenant)) throw new RangeError(`tenant "${tenant}" must match ${TENANT_RE}`);
}

/** `reports` -> `REPORTS`. */
export function streamName(topic: string): string {
  checkTopic(topic);
  return topic.toUpperCase();
}

/**
 * A string as one subject token / KV key token: kept when plain, else `~` + base64url of its UTF-8 bytes (keys may hold
 * dots, spaces or any Unicode, which subjects cannot). Plain tokens never start with `~`, so decoding is unambiguous.
 */
export function encodeToken(s: string): string {
  if (PLAIN_RE.test(s)) return s;
  return `~${Buffer.from(s, 'utf8').toString('base64url')}`;
}

export function decodeToken(token: string): string {
  return token.startsWith('~') ? Buffer.from(token.slice(1), 'base64url').toString('utf8') : token;
}

export function recordSubject(topic: string, tenant: string, partition: number, key: string): string {
  return `${topic}.${tenant}.${partition}.${encodeToken(key)}`;
}

/** The one subject of a packed topic's partition (see above). */
export const PACKED_TOKEN = '~b';

export function packedSubject(topic: string, tenant: string, partition: number): string {
  return `${topic}.${tenant}.${partition}.${PACKED_TOKEN}`;
}

/** Filter of one partition of one tenant. */
export function partitionFilter(topic: string, tenant: string, partition: number): string {
  return `${topic}.${tenant}.${partition}.*`;
}

/** Filter of all partitions of one tenant. */
export function tenantFilter(topic: string, tenant: string): string {
  return `${topic}.${tenant}.>`;
}

export interface ParsedSubject {
  partition: number;
  key: string;
}

export function parseSubject(subject: string): ParsedSubject {
  const parts = subject.split('.');
  if (parts.length !== 4) throw new Error(`unexpected subject "${subject}" in a dronewatch stream`);
  return { partition: Number(parts[2]), key: decodeToken(parts[3]!) };
}

/** Short stable name for anything that is not plain (consumer names have a length budget). */
function shortName(s: string): string {
  return /^[A-Za-z0-9_-]{1,40}$/.test(s) ? s : `h${createHash('sha256').update(s).digest('hex').slice(0, 16)}`;
}

/**
 * Durable consumer of one group on one partition, for one ownership epoch. The epoch in the name means a member that
 * lost the partition can never pull from its successor's consumer (it would steal records from it).
 */
export function durableName(tenant: string, group: string, partition: number, epoch: number): string {
  return `dw_${tenant}_${shortName(group)}_p${partition}_e${epoch}`;
}

/** KV key prefix of a group: `<topic>.<tenant>.<group>`. */
export function groupPrefix(topic: string, tenant: string, group: string): string {
  return `${topic}.${tenant}.${kvToken(group)}`;
}

/** KV tokens allow `=`, which base64url does not produce: `=` marks an encoded token. */
export function kvToken(s: string): string {
  if (PLAIN_RE.test(s)) return s;
  return `=${Buffer.from(s, 'utf8').toString('base64url')}`;
}

/** The string a `kvToken` holds. */
export function decodeKvToken(token: string): string {
  return token.startsWith('=') ? Buffer.from(token.slice(1), 'base64url').toString('utf8') : token;
}

export function memberKey(prefix: string, memberId: string): string {
  return `${prefix}.m.${kvToken(memberId)}`;
}

export function partitionKey(prefix: string, partition: number): string {
  return `${prefix}.p.${partition}`;
}
