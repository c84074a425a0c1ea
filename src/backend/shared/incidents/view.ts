import { cellOf, cellsAround } from '../../../incidents/geo.ts';
import { live, type IncidentLookup } from '../../../incidents/grouping.ts';
import type { IncidentRecord } from '../../../incidents/types.ts';

/**
 * A process's copy of one tenant's incident bucket, indexed for the grouping: by id, by alert (which incident holds
 * it) and by grid cell of the live incidents' centroids. Fed by the bucket's watch and by this process's own writes;
 * an older revision never replaces a newer one.
 */
export class IncidentView implements IncidentLookup {
  private readonly byId = new Map<string, { rec: IncidentRecord; rev: number }>();
  private readonly byAlert = new Map<string, string>();
  private readonly cells = new Map<string, Set<string>>();
  private readonly cellOfId = new Map<string, string>();

  constructor(private readonly radiusM: number) {}

  entry(id: string): { rec: IncidentRecord; rev: number } | undefined {
    return this.byId.get(id);
  }

  records(): IterableIterator<{ rec: IncidentRecord; rev: number }> {
    return this.byId.values();
  }

  apply(id: string, rec: IncidentRecord | null, rev: number): void {
    const cur = this.byId.get(id);
    if (cur && cur.rev >= rev) return;
    this.unindex(id, cur?.rec);
    if (!rec) {
      this.byId.delete(id);
      return;
    }
    this.byId.set(id, { rec, rev });
    const i = rec.incident;
    if (i.status !== 'merged') for (const m of rec.members) this.byAlert.set(m.alertId, id);
    if (live(i)) {
      const c = cellOf(i.centroid.lat, i.centroid.lon, this.radiusM);
      let set = this.cells.get(c);
      if (!set) this.cells.set(c, (set = new Set()));
      set.add(id);
      this.cellOfId.set(id, c);
    }
  }

  private unindex(id: string, rec: IncidentRecord | undefined): void {
    const c = this.cellOfId.get(id);
    if (c !== undefined) {
      const set = this.cells.get(c);
      set?.delete(id);
      if (set?.size === 0) this.cells.delete(c);
      this.cellOfId.delete(id);
    }
    if (rec) for (const m of rec.members) if (this.byAlert.get(m.alertId) === id) this.byAlert.delete(m.alertId);
  }

  holding(_tenant: string, alertId: string): IncidentRecord | undefined {
    const id = this.byAlert.get(alertId);
    return id === undefined ? undefined : this.byId.get(id)?.rec;
  }

  near(_tenant: string, lat: number, lon: number): IncidentRecord[] {
    const out: IncidentRecord[] = [];
    for (const c of cellsAround(lat, lon, this.radiusM)) {
      const set = this.cells.get(c);
      if (set) for (const id of set) out.push(this.byId.get(id)!.rec);
    }
    return out;
  }

  /** Forgets incidents the bucket's TTL removed (or is about to): not live and unchanged since `before`. */
  evictBefore(before: number): void {
    for (const [id, { rec }] of this.byId) {
      if (!live(rec.incident) && rec.incident.updatedAt < before) {
        this.unindex(id, rec);
        this.byId.delete(id);
      }
    }
  }
}
