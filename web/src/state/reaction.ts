import { getJson } from '../lib/api.ts';
import { startOfToday } from '../lib/format.ts';
import { Observable } from '../lib/observable.ts';
import type { ReactionTimes } from '../lib/types.ts';
import { alertsModel } from './alerts.ts';

const WEEK_MS = 7 * 24 * 3600_000;

/**
 * The reaction-time panel's figures (GET /v1/alerts/reaction-time) for today (the officer's local day) and the last
 * 7 days. Read from the alert store, which officers' changes reach at once, not from the lake (seconds behind).
 * Refreshed when an officer acknowledges or resolves an alert anywhere (live events), at most every 5 s for new
 * alerts, and every minute (the periods move).
 */
export class ReactionModel extends Observable {
  today: ReactionTimes | null = null;
  week: ReactionTimes | null = null;
  error: string | null = null;
  private started = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private lastRaisedRefresh = 0;

  start(): void {
    if (this.started) return;
    this.started = true;
    void this.refresh();
    setInterval(() => void this.refresh(), 60_000);
    alertsModel.onAlertEvent((e) => {
      if (e.type === 'acknowledged' || e.type === 'resolved') this.soon(200);
      else if (e.type === 'raised' && Date.now() - this.lastRaisedRefresh > 5000) {
        this.lastRaisedRefresh = Date.now();
        this.soon(1000);
      }
    });
  }

  soon(ms: number): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.refresh();
    }, ms);
  }

  async refresh(): Promise<void> {
    const now = Date.now();
    const to = new Date(now + 1000).toISOString();
    try {
      const [today, week] = await Promise.all([
        getJson<ReactionTimes>(`/v1/alerts/reaction-time?from=${new Date(startOfToday(now)).toISOString()}&to=${to}`),
        getJson<ReactionTimes>(`/v1/alerts/reaction-time?from=${new Date(now - WEEK_MS).toISOString()}&to=${to}`),
      ]);
      this.today = today;
      this.week = week;
      this.error = null;
    } catch (err) {
      this.error = (err as Error).message;
    }
    this.changed();
  }
}

export const reactionModel = new ReactionModel();
