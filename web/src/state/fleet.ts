import { openEventStream } from '../lib/api.ts';
import { Observable } from '../lib/observable.ts';
import type { FleetHealth, WirePosition } from '../lib/types.ts';

/** Seconds of reports/s history kept for the health chart. */
const HISTORY = 300;

export type PositionsListener = (changed: readonly WirePosition[], reset: boolean) => void;

/**
 * The live fleet (GET /v1/fleet/stream): last position of every drone, and the fleet health every second. Positions
 * go straight to the map through `onPositions` (no re-render of the page for 1,000 moving markers); the health
 * (reports/s, consumer lag, silent drones) re-renders the views that show it.
 */
export class FleetModel extends Observable {
  readonly positions = new Map<string, WirePosition>();
  health: FleetHealth | null = null;
  connected = false;
  /** Reports/s per second received, for the chart: parallel arrays of epoch seconds and values. */
  readonly history: { t: number[]; rps: number[]; lag: Record<string, number[]> } = { t: [], rps: [], lag: {} };
  private readonly positionListeners = new Set<PositionsListener>();
  private started = false;

  start(): void {
    if (this.started) return;
    this.started = true;
    openEventStream('/v1/fleet/stream', {
      onOpen: () => {
        this.connected = true;
        this.changed();
      },
      onDown: () => {
        this.connected = false;
        this.changed();
      },
      events: {
        snapshot: (data) => {
          const s = JSON.parse(data) as { drones: WirePosition[]; health: FleetHealth };
          this.positions.clear();
          for (const p of s.drones) this.positions.set(p[0], p);
          for (const l of this.positionListeners) l(s.drones, true);
          this.setHealth(s.health);
        },
        positions: (data) => {
          const changed = JSON.parse(data) as WirePosition[];
          for (const p of changed) this.positions.set(p[0], p);
          for (const l of this.positionListeners) l(changed, false);
        },
        health: (data) => this.setHealth(JSON.parse(data) as FleetHealth),
      },
    });
  }

  onPositions(listener: PositionsListener): () => void {
    this.positionListeners.add(listener);
    return () => this.positionListeners.delete(listener);
  }

  private setHealth(h: FleetHealth): void {
    this.health = h;
    const t = Math.round(h.at / 1000);
    const hist = this.history;
    if (hist.t[hist.t.length - 1] !== t) {
      hist.t.push(t);
      hist.rps.push(h.reportsPerSecond);
      for (const [group, lag] of Object.entries(h.consumers)) {
        const series = (hist.lag[group] ??= new Array<number>(hist.t.length - 1).fill(Number.NaN));
        series.push(lag);
      }
      for (const series of Object.values(hist.lag)) while (series.length < hist.t.length) series.push(Number.NaN);
      if (hist.t.length > HISTORY) {
        hist.t.shift();
        hist.rps.shift();
        for (const series of Object.values(hist.lag)) series.shift();
      }
    }
    this.changed();
  }
}

export const fleetModel = new FleetModel();
