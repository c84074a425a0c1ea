import type { AlertState } from '../alerts/state.ts';
import type { Config } from '../config/schema.ts';
import { groupingConfig } from '../incidents/config.ts';
import type { Logger } from '../util/log.ts';
import { RuleBook } from './book.ts';
import { openRuleStore } from './open.ts';
import { RuleService, type RulesConfig } from './service.ts';
import type { RuleStore } from './store.ts';

/** What a process of the platform holds of the rules: the store, the API over it, and (alert workers) the book. */
export interface PlatformRules {
  store: RuleStore;
  service: RuleService;
  /** Followed rules for an alert worker; absent in a process without one. */
  book: RuleBook | undefined;
  close(): Promise<void>;
}

/** What the rules take from the configuration: its alert rules (version 1) and the workers' folding and grouping. */
export function rulesConfigOf(config: Pick<Config, 'alerts' | 'incidents'>): RulesConfig {
  return { ...config.alerts, grouping: groupingConfig(config.incidents) };
}

export async function openRules(alerts: AlertState, config: RulesConfig, opts: { follow: boolean; logger?: Logger }): Promise<PlatformRules> {
  const store = await openRuleStore(alerts, opts.logger);
  const service = new RuleService(store, config);
  let book: RuleBook | undefined;
  if (opts.follow) {
    book = new RuleBook(store, config, opts.logger ? { logger: opts.logger } : {});
    await book.start();
  }
  return {
    store, service, book,
    async close() {
      book?.stop();
      await store.close();
    },
  };
}
