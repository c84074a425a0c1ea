/**
 * What grouping costs per alert (docs/incidents.md, "Cost on the alert path"). Not a test: run it with
 * `node --import tsx test/incidents/grouping-cost.ts [scattered|riot]`.
 * - scattered (default): 3,000 alerts scattered over Paris within 5 minutes (the dense case: they chain into ~400 live
 *   incidents), then 3,000 more grouped one per transaction; p50, p99 and max per alert.
 * - riot: 3,000 citizens flagged within 150 s at one place (one incident that every alert joins), one per transaction;
 *   the mean per alert for each 500, which grows with the incident while its whole record is read and written.
 * - riot-nats [N]: the riot (N citizens, default 6,000) on the distributed incident state (JetStream KV on a nats-server
 *   of its own, shipped limits: 1 MB messages); the mean per alert for each 500 and the largest value in the bucket.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { SqliteIncidentStore } from '../../src/backend/incidents.ts';
import { connectKvAlertState } from '../../src/backend/index.ts';
import { incidentBucketName, KvIncidentState } from '../../src/backend/incidents.ts';
import { startNatsServer } from '../../src/testkit/index.ts';
import { silentLogger } from '../../src/util/log.ts';
import { alertEvent, GROUPING, offset, PLACE_A } from './helpers.ts';
const dir = mkdtempSync('/tmp/bench-inc-');
const T0 = 1_750_000_000_000;
const s = new SqliteIncidentStore({ dir, grouping: GROUPING, now: () => T0 });
const mode = process.argv[2] ?? 'scattered';
if (mode === 'riot-nats') {
  const n = Number(process.argv[3] ?? 6000);
  const server = await startNatsServer();
  const alerts = await connectKvAlertState({ servers: [server.url], tenant: 'default' });
  const kv = await KvIncidentState.open({ store: alerts.kvStore, tenant: 'default', grouping: GROUPING, now: () => T0 });
  let t = performance.now();
  try {
    for (let i = 1; i <= n; i++) {
      const at = offset(PLACE_A.lat, PLACE_A.lon, (i % 20) * 5, (i % 13) * 5);
      await kv.applyAlertEvents([alertEvent('default', { citizen: `c${i}`, drone: `d${i % 40}`, ts: T0 + i * 40, at })]);
      if (i % 500 === 0) {
        console.log(`alerts ${i - 499}-${i}: ${((performance.now() - t) / 500).toFixed(2)} ms an alert`);
        t = performance.now();
      }
    }
  } catch (err) {
    console.log(`failed: ${(err as Error).message}`);
  }
  const bucket = await alerts.kvStore.bucket(incidentBucketName('default'));
  let largest = 0;
  let keys = 0;
  const f = await bucket.follow((_k, v) => { if (v) { keys++; largest = Math.max(largest, v.length); } }, { timeoutMs: 10_000, logger: silentLogger, what: 'cost' });
  f.stop();
  console.log({ incidents: kv.list().map((i) => i.citizenCount), keys, largestValueBytes: largest });
  kv.close();
  await alerts.close();
  await server.stop();
} else if (mode === 'riot') {
  let t = performance.now();
  for (let i = 1; i <= 3000; i++) {
    const at = offset(PLACE_A.lat, PLACE_A.lon, (i % 20) * 5, (i % 13) * 5);
    s.applyAlertEvents([alertEvent('default', { citizen: `c${i}`, drone: `d${i % 40}`, ts: T0 + i * 50, at })]);
    if (i % 500 === 0) {
      console.log(`alerts ${i - 499}-${i}: ${((performance.now() - t) / 500).toFixed(2)} ms an alert`);
      t = performance.now();
    }
  }
} else {
  let x = 1;
  const rnd = () => ((x = (Math.imul(x, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const at = () => ({ lat: 48.815 + rnd() * 0.087, lon: 2.225 + rnd() * 0.245 });
  // 3,000 open incidents (lone alerts) over Paris, as after the 9 minutes.
  const seed = Array.from({ length: 3000 }, (_, i) => alertEvent('default', { citizen: `c${i}`, drone: `d${i % 500}`, ts: T0 + i * 100, at: at() }));
  for (let i = 0; i < seed.length; i += 100) s.applyAlertEvents(seed.slice(i, i + 100));
  const lat: number[] = [];
  for (let i = 0; i < 3000; i++) {
    const e = alertEvent('default', { citizen: `n${i}`, drone: `d${i % 500}`, ts: T0 + 300_000 + i * 50, at: at() });
    const t = process.hrtime.bigint();
    s.applyAlertEvents([e]);
    lat.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  lat.sort((a, b) => a - b);
  console.log({ open: s.list({ limit: 1000, status: ['open'] }).length, p50: lat[1500]!.toFixed(3), p99: lat[2970]!.toFixed(3), max: lat.at(-1)!.toFixed(3) });
}
s.close();
rmSync(dir, { recursive: true, force: true });
