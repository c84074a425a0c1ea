import type { Logger } from '../../../util/log.ts';
import type { KvFollowing, SharedKv } from '../kv.ts';
import { ALERT_PREFIX, decodeJson, type AlertRecord } from './keys.ts';

/**
 * Follows a tenant's alert bucket: every alert's current value, then every change, as the bucket stores them
 * (the dedup index keys are skipped). Resumes by itself when the connection breaks.
 */
export class AlertWatch {
  private following: KvFollowing | undefined;
  private stopped = false;

  constructor(
    private readonly kv: SharedKv,
    private readonly onAlert: (alertId: string, rec: AlertRecord | null, rev: number) => void,
    private readonly logger: Logger,
  ) {}

  /** Resolves once everything the bucket held at the start was delivered. */
  async start(timeoutMs: number): Promise<void> {
    const following = await this.kv.follow((key, value, rev) => {
      if (!key.startsWith(ALERT_PREFIX)) return;
      // A malformed value throws here: the follower logs and skips it.
      this.onAlert(key.slice(ALERT_PREFIX.length), value === null ? null : decodeJson<AlertRecord>(value), rev);
    }, { timeoutMs, logger: this.logger, what: 'alert state' });
    if (this.stopped) following.stop();
    else this.following = following;
  }

  stop(): void {
    this.stopped = true;
    this.following?.stop();
  }
}
