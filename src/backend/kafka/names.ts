/**
 * How the stream model is named in Kafka. Topics and consumer groups are namespaced by tenant, like the NATS subjects
 * (`<topic>.<tenant>.…`), so that tenants sharing a cluster never see each other's records, positions or groups:
 *
 * - topic `reports` of tenant `paris` is the Kafka topic `dw.paris.reports`;
 * - group `alerts` on it is the Kafka group `dw.paris.reports.g.alerts` (`.t.` for a transient group). The topic is
 *   part of the id because a group's state belongs to one topic in the Stream model (as in the embedded log and
 *   NATS), and because Kafka cannot otherwise say which topic an empty group was reading. The transient mark is in the
 *   id because a transient group whose members all died has no members left to carry it, yet must be recognised and
 *   deleted (see groups.ts).
 * - the topic catalog (partition count aside, what Kafka has no config for: the duplicate window) is the compacted
 *   topic `dw.paris._catalog`; `_` cannot start a platform topic name, so it never collides.
 */

/** Platform topic names: one Kafka-legal token without dots (dots separate the namespace). */
const TOPIC_RE = /^[a-z0-9][a-z0-9_-]{0,63}$/;
/** Same rule as the config's `tenant`. */
const TENANT_RE = /^[a-z0-9][a-z0-9_-]{0,62}$/;

export const NAMESPACE = 'dw';

/**
 * The namespace of deployment-wide state (credentials, saved queries: every tenant's processes share them), in place
 * of a tenant: `dw._deployment.<topic>`. No tenant can be called so (a tenant id cannot start with `_`).
 */
export const DEPLOYMENT_SCOPE = '_deployment';

export function checkTopic(topic: string): void {
  if (typeof topic !== 'string' || !TOPIC_RE.test(topic)) {
    throw new RangeError(`topic "${topic}" cannot be a Kafka topic here: use 1-64 characters of a-z, 0-9, "_" and "-", starting with a letter or digit`);
  }
}

export function checkTenant(tenant: string): void {
  if (tenant === DEPLOYMENT_SCOPE) return;
  if (typeof tenant !== 'string' || !TENANT_RE.test(tenant)) throw new RangeError(`tenant "${tenant}" must match ${TENANT_RE}`);
}

export function kafkaTopic(tenant: string, topic: string): string {
  checkTopic(topic);
  return `${NAMESPACE}.${tenant}.${topic}`;
}

export function catalogTopic(tenant: string): string {
  return `${NAMESPACE}.${tenant}._catalog`;
}

export function groupId(tenant: string, topic: string, group: string, transient: boolean): string {
  if (typeof group !== 'string' || group.length === 0) throw new TypeError('consumer group must be a non-empty string');
  return `${kafkaTopic(tenant, topic)}.${transient ? 't' : 'g'}.${group}`;
}

export interface ParsedGroupId {
  group: string;
  transient: boolean;
}

/** The group of a Kafka group id of this tenant's topic, or undefined for any other group. */
export function parseGroupId(tenant: string, topic: string, id: string): ParsedGroupId | undefined {
  const prefix = `${kafkaTopic(tenant, topic)}.`;
  if (!id.startsWith(prefix)) return undefined;
  const rest = id.slice(prefix.length);
  const kind = rest.slice(0, 2);
  if ((kind !== 'g.' && kind !== 't.') || rest.length < 3) return undefined;
  return { group: rest.slice(2), transient: kind === 't.' };
}
