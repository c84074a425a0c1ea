import { DwError } from '../errors/index.ts';
import type { RuleSet, RuleSetVersion, Silence } from './types.ts';

/**
 * Where rule set versions and silences live: `rules.db` next to alerts.db (src/backend/sqlite/rules.ts), or a bucket
 * of the shared alert state's connection (src/backend/shared/rules.ts: JetStream KV on NATS, log buckets on Kafka).
 * Versions are append-only: a change writes version `expected + 1`, and fails with DW_RULES_CONFLICT when another
 * change came first (two supervisors editing at once get one version and one conflict, never a silent overwrite).
 */
export interface RuleStore {
  /** Every version of the tenant, oldest first. */
  versions(tenant: string): Promise<RuleSetVersion[]>;
  /** The newest version, undefined when the tenant has none yet. */
  current(tenant: string): Promise<RuleSetVersion | undefined>;
  /** Writes version `expected + 1` (`expected` 0: the first); DW_RULES_CONFLICT when the newest is not `expected`. */
  commit(tenant: string, expected: number, set: RuleSet, meta: { author: string; reason: string }): Promise<RuleSetVersion>;
  silences(tenant: string): Promise<Silence[]>;
  addSilence(s: Silence): Promise<Silence>;
  /** DW_SILENCE_NOT_FOUND when the tenant has no such silence. */
  removeSilence(tenant: string, id: string): Promise<Silence>;
  /**
   * Calls `onChange` with every tenant's newest version and every silence now, then on every change, from whichever
   * process made it, within about a second. What alert workers use to take up new rules without a restart.
   */
  follow(onChange: (c: RuleStoreChange) => void): Promise<{ stop(): void }>;
  close(): Promise<void>;
}

export type RuleStoreChange =
  | { kind: 'version'; version: RuleSetVersion }
  | { kind: 'silence'; silence: Silence }
  | { kind: 'silence-removed'; tenant: string; id: string };

export class RulesConflictError extends DwError {
  constructor(tenant: string, expected: number, current: number) {
    super('DW_RULES_CONFLICT', `the rules of tenant "${tenant}" are at version ${current}, not ${expected}: another change came first; re-read them and retry`, { status: 409 });
  }
}

export class SilenceNotFoundError extends DwError {
  constructor(id: string) {
    super('DW_SILENCE_NOT_FOUND', `no silence ${id}`, { status: 404 });
  }
}
