/**
 * The soak's drones (bench/soak.ts): HTTP clients posting NDJSON batches of simulated reports at a fixed offered rate,
 * in a process of their own so that they neither take the platform's event loop nor count in its memory, as real
 * drones would not. Started by the soak with its settings as JSON in argv[2]; answers one IPC message with its counts.
 */
import { Fleet } from '../src/simulator/index.ts';

export interface SoakClientSettings {
  base: string;
  /** Offered reports per second, in all. */
  rate: number;
  /** Reports per request. */
  batch: number;
  clients: number;
  /** Epoch ms: the first request and the end of the load. */
  startAt: number;
  endAt: number;
  /** The simulated fleet. */
  drones: number;
  seed: number;
  fleetStart: number;
}

export interface SoakClientResult {
  offered: number;
  acknowledged: number;
  /** Status (and code) -> requests. */
  answers: [string, number][];
}

async function run(o: SoakClientSettings): Promise<SoakClientResult> {
  const fleet = new Fleet({ drones: o.drones, seed: o.seed, start: o.fleetStart });
  const answers = new Map<string, number>();
  let acknowledged = 0;
  let offered = 0;
  const perRequestMs = (o.batch / o.rate) * 1000 * o.clients;
  await Promise.all(Array.from({ length: o.clients }, async (_, c) => {
    let next = o.startAt + (c * perRequestMs) / o.clients;
    const wait0 = next - Date.now();
    if (wait0 > 0) await new Promise((r) => setTimeout(r, wait0));
    while (Date.now() < o.endAt) {
      const body = fleet.take(o.batch).map((r) => JSON.stringify(r)).join('\n');
      offered += o.batch;
      try {
        const res = await fetch(`${o.base}/v1/reports`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body });
        const json = await res.json() as { accepted?: unknown[]; code?: string };
        const key = `${res.status}${json.code ? ` ${json.code}` : ''}`;
        answers.set(key, (answers.get(key) ?? 0) + 1);
        if (res.status === 202 || res.status === 207) acknowledged += json.accepted?.length ?? 0;
      } catch (e) {
        const key = `fetch: ${(e as Error).message}`;
        answers.set(key, (answers.get(key) ?? 0) + 1);
      }
      next += perRequestMs;
      const wait = next - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      else if (wait < -5000) next = Date.now(); // far behind: offer at the rate from now on, do not burst
    }
  }));
  return { offered, acknowledged, answers: [...answers] };
}

const settings = JSON.parse(process.argv[2] ?? 'null') as SoakClientSettings | null;
if (settings && process.send) {
  const result = await run(settings);
  process.send(result, () => process.disconnect());
}
