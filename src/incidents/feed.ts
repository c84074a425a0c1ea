import { silentLogger, type Logger } from '../util/log.ts';
import type { IncidentListener } from './state.ts';
import type { IncidentEvent } from './types.ts';

const RECENT = 4096;

/**
 * In-process fan-out of incident events to live subscribers (SSE). A change can arrive twice (made here, then seen
 * again through the store's watch or polling): the last event ids are remembered and repeats dropped, as AlertBus does.
 */
export class IncidentFeed {
  private listeners: readonly IncidentListener[] = [];
  private readonly recent = new Set<string>();
  constructor(private readonly logger: Logger = silentLogger) {}

  get size(): number {
    return this.listeners.length;
  }

  subscribe(l: IncidentListener): () => void {
    this.listeners = [...this.listeners, l];
    return () => {
      this.listeners = this.listeners.filter((x) => x !== l);
    };
  }

  publish(e: IncidentEvent): void {
    if (this.recent.has(e.eventId)) return;
    this.recent.add(e.eventId);
    if (this.recent.size > RECENT) this.recent.delete(this.recent.values().next().value!);
    for (const l of this.listeners) {
      try {
        l(e);
      } catch (err) {
        this.logger.warn({ err, eventId: e.eventId }, 'incident listener threw');
      }
    }
  }
}
