import type { KV } from '@nats-io/kv';
import { KvFollower } from '../../stream/nats/kv-follow.ts';
import type { Logger } from '../../util/log.ts';
import { ALERT_PREFIX, decodeJson, type AlertRecord } from './keys.ts';

/**
 * Follows a tenant's alert bucket: every alert's current value, then every change, as the server stores them
 * (the dedup index keys are skipped). Resumes after the last revision seen when the watch breaks.
 */
export class AlertWatch {
  private readonly follower: KvFollower;

  constructor(kv: KV, onAlert: (alertId: string, rec: AlertRecord | null, rev: number) => void, logger: Logger) {
    this.follower = new KvFollower(kv, (key, value, rev) => {
      if (!key.startsWith(ALERT_PREFIX)) return;
      // A malformed value throws here: the follower logs and skips it.
      onAlert(key.slice(ALERT_PREFIX.length), value === null ? null : decodeJson<AlertRecord>(value), rev);
    }, logger, 'alert state');
  }

  /** Resolves once everything the bucket held at the start was delivered. */
  start(timeoutMs: number): Promise<void> {
    return this.follower.start(timeoutMs);
  }

  stop(): void {
    this.follower.stop();
  }
}
