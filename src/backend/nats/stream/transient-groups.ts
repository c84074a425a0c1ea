/**
 * Transient consumer groups on NATS (ConsumerOptions.transient): a group that exists only while it has members. Its
 * KV keys (`<prefix>.m.*` leases, `<prefix>.p.*` partitions, and the mark `<prefix>.t`) are deleted when its last
 * member leaves, and a group whose members all died without leaving is deleted when another transient group of the
 * topic starts, once every lease has expired. Its per-epoch durable consumers expire by themselves (inactive
 * threshold). Without this, each API process start left a `feed-*` and a `fleet-*` group behind for ever.
 */
import type { KV } from '@nats-io/kv';
import type { Logger } from '../../../util/log.ts';
import type { MemberValue } from './group-state.ts';
import { decodeKvToken, groupPrefix } from './names.ts';

const dec = new TextDecoder();

async function keysOf(kv: KV, filter: string): Promise<string[]> {
  const out: string[] = [];
  for await (const k of await kv.keys(filter)) out.push(k);
  return out;
}

/** Deletes every key of a group (purge: no history is kept for them). */
export async function dropGroup(kv: KV, prefix: string): Promise<void> {
  for (const key of await keysOf(kv, `${prefix}.>`)) await kv.purge(key);
}

/** Whether any member of the group other than `except` holds a lease that has not expired at `now`. */
async function hasLiveMember(kv: KV, prefix: string, now: number, except?: string): Promise<boolean> {
  for (const key of await keysOf(kv, `${prefix}.m.>`)) {
    const e = await kv.get(key);
    if (!e || e.operation !== 'PUT') continue;
    const m = JSON.parse(dec.decode(e.value)) as MemberValue;
    if (m.id !== except && m.expiresAt >= now) return true;
  }
  return false;
}

/** Marks the group transient, then deletes the dead transient groups of the topic (best effort: logged, not thrown). */
export async function joinTransient(kv: KV, topic: string, tenant: string, group: string, now: number, logger: Logger): Promise<void> {
  const mine = groupPrefix(topic, tenant, group);
  await kv.put(`${mine}.t`, new TextEncoder().encode('{}'));
  try {
    for (const mark of await keysOf(kv, `${topic}.${tenant}.*.t`)) {
      const prefix = mark.slice(0, -'.t'.length);
      if (prefix === mine || (await hasLiveMember(kv, prefix, now))) continue;
      await dropGroup(kv, prefix);
      logger.debug({ group: prefix }, 'stream: removed a transient group left by a dead process');
    }
  } catch (err) {
    logger.warn({ err, topic }, 'stream: removing dead transient groups failed; the next start tries again');
  }
}

/** After this member left: deletes the group if nobody else holds a live lease. */
export async function leaveTransient(kv: KV, topic: string, tenant: string, group: string, memberId: string, now: number): Promise<void> {
  const prefix = groupPrefix(topic, tenant, group);
  if (!(await hasLiveMember(kv, prefix, now, memberId))) await dropGroup(kv, prefix);
}

/** Names of the groups that have keys on the topic. */
export async function listGroups(kv: KV, topic: string, tenant: string): Promise<string[]> {
  const names = new Set<string>();
  for (const key of await keysOf(kv, `${topic}.${tenant}.>`)) {
    const token = key.split('.')[2];
    if (token !== undefined) names.add(decodeKvToken(token));
  }
  return [...names].sort();
}
