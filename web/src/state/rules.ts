import { ApiError, getJson, request, sendJson } from '../lib/api.ts';
import { Observable } from '../lib/observable.ts';
import type { DryRunResult, RuleSet, RuleSetVersion, Silence } from '../lib/types.ts';

/** The period "try on last week" replays: the last 7 days up to now (the server allows at most 31). */
export const DRY_RUN_DAYS = 7;

/**
 * The tenant's rules in force and its silences, and the changes the rules page makes. Every change goes through the
 * same routes as `dronewatch rules apply|disable` (POST /v1/rules with the version it was based on, DELETE
 * /v1/rules/:id), so validation, versioning and the audit trail are the server's; a change based on a version that
 * is no longer in force is refused (409) and the page reloads the rules rather than overwrite someone else's change.
 */
export class RulesModel extends Observable {
  current: RuleSetVersion | null = null;
  silences: Silence[] = [];
  /** Why the rules could not be read (the page says so instead of showing an empty map). */
  loadError: string | null = null;

  async load(): Promise<void> {
    try {
      this.current = await getJson<RuleSetVersion>('/v1/rules');
      this.loadError = null;
    } catch (e) {
      this.loadError = e instanceof Error ? e.message : String(e);
    }
    try {
      this.silences = (await getJson<{ silences: Silence[] }>('/v1/silences')).silences;
    } catch {
      // Silences are shown when readable; the rules do not depend on them.
      this.silences = [];
    }
    this.changed();
  }

  /** A whole new rule set based on the version in force: the new version, or ApiError (400 naming fields, 409). */
  async apply(set: RuleSet, reason: string): Promise<RuleSetVersion> {
    const base = this.current?.version;
    try {
      const v = await sendJson<RuleSetVersion>('POST', '/v1/rules', { rules: set.rules, zones: set.zones, reason, ...(base !== undefined ? { baseVersion: base } : {}) });
      this.current = v;
      this.changed();
      return v;
    } catch (e) {
      if (e instanceof ApiError && e.code === 'DW_RULES_CONFLICT') await this.load();
      throw e;
    }
  }

  /** Disables one rule (kept in the set, never fires): DELETE /v1/rules/:id. */
  async disable(id: string, reason: string): Promise<RuleSetVersion> {
    const q = new URLSearchParams({ reason });
    if (this.current) q.set('baseVersion', String(this.current.version));
    try {
      const v = await sendJson<RuleSetVersion>('DELETE', `/v1/rules/${encodeURIComponent(id)}?${q}`);
      this.current = v;
      this.changed();
      return v;
    } catch (e) {
      if (e instanceof ApiError && e.code === 'DW_RULES_CONFLICT') await this.load();
      throw e;
    }
  }

  /**
   * What `set` would have raised over the last DRY_RUN_DAYS days, next to the rules in force. Asks for progress
   * (NDJSON: `{"replayed":N}` lines, then the result or the error): a week of a city's reports takes seconds.
   */
  async dryRun(set: RuleSet, onProgress: (replayed: number) => void, signal?: AbortSignal, now = Date.now()): Promise<DryRunResult> {
    const from = new Date(now - DRY_RUN_DAYS * 86_400_000).toISOString();
    const res = await request('/v1/rules/dry-run', {
      method: 'POST',
      headers: { accept: 'application/x-ndjson', 'content-type': 'application/json' },
      body: JSON.stringify({ rules: set.rules, zones: set.zones, from, to: new Date(now).toISOString() }),
      ...(signal ? { signal } : {}),
    });
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (value) buf += decoder.decode(value, { stream: true });
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!line) continue;
        const msg = JSON.parse(line) as { replayed?: number; result?: DryRunResult; error?: { code: string; message: string } };
        if (msg.result) return msg.result;
        // The status (200) was sent before the replay failed: the error comes as the last line.
        if (msg.error) throw new ApiError(200, msg.error.code, msg.error.message);
        if (typeof msg.replayed === 'number') onProgress(msg.replayed);
      }
      if (done) throw new ApiError(200, 'DW_INTERNAL', 'the dry run ended without a result');
    }
  }
}

export const rulesModel = new RulesModel();
