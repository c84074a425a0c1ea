/**
 * Incidents in distributed mode: two `alerts` workers and a `serve` API as separate `dronewatch` processes on a real
 * nats-server, sharing the incident bucket. Two gatherings far apart, seen by drones whose reports the two workers
 * share, are two incidents listed by the API process; acknowledging one through the API acknowledges its alerts, and
 * the change reaches the live feed. Skipped without nats-server >= 2.10 (fails with CI=true).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Alert } from '../../src/alerts/index.ts';
import type { Incident } from '../../src/incidents/types.ts';
import { natsServerOrSkip } from '../../src/testkit/index.ts';
import { startService, ProcessHarness, waitUntil, type Service } from '../distributed/helpers.ts';
import { PLACE_A, PLACE_B, offset } from './helpers.ts';

const skip = natsServerOrSkip();

describe('distributed mode: incidents shared by workers and the API', { skip, timeout: 90_000 }, () => {
  const h = new ProcessHarness('dw-incidents-nats-');
  before(() => h.open());
  after(() => h.close());
  const start = (...a: Parameters<typeof startService>): Promise<Service> => h.start(...a);

  it('two gatherings are two incidents in the API process; an ack there cascades and reaches the live feed', async () => {
    const env = { DRONEWATCH_SECURITY__ENABLED: 'false' };
    const serve = await start('serve', [...h.dir('serve'), 'serve', '--port', '0'], /listening on http:\/\//, env);
    await Promise.all(['alerts-a', 'alerts-b'].map((name) => start(name, [...h.dir(name), 'alerts'], /alert consumer running/, env)));
    const base = /listening on (http:\/\/\S+)/.exec(serve.banner)?.[1];
    assert.ok(base);
    const ctrl = new AbortController();
    const feed = await fetch(`${base}/v1/alerts/stream`, { signal: ctrl.signal });
    let text = '';
    const reading = (async () => {
      const dec = new TextDecoder();
      try {
        for await (const chunk of feed.body!) text += dec.decode(chunk as Uint8Array, { stream: true });
      } catch { /* aborted */ }
    })();

    // 8 drones (spread over the partitions, so both workers take part) over each place, each seeing 2 of 6 people.
    const t0 = Date.now() - 60_000;
    const reports: { droneId: string; timestamp: string; position: { lat: number; lon: number }; citizens: { name: string; score: number }[]; words: string[] }[] = [];
    for (const [p, place] of [['a', PLACE_A], ['b', PLACE_B]] as const) {
      for (let d = 0; d < 8; d++) {
        reports.push({
          droneId: `${p}-drone-${d}`, timestamp: new Date(t0 + d * 1000).toISOString(), position: offset(place.lat, place.lon, d * 15, -d * 10),
          citizens: [{ name: `${p}-citizen-${d % 6}`, score: 4 }, { name: `${p}-citizen-${(d + 1) % 6}`, score: 6 }], words: [],
        });
      }
    }
    const send = async (batch: readonly (typeof reports)[number][]): Promise<void> => {
      const sent = await fetch(`${base}/v1/reports`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(batch) });
      assert.equal(sent.status, 202);
    };
    const list = async (): Promise<Incident[]> => ((await (await fetch(`${base}/v1/incidents?status=open,acknowledged`)).json()) as { incidents: Incident[] }).incidents;
    let last: Incident[] = [];
    const until = (what: string, ok: (l: Incident[]) => boolean): Promise<void> => waitUntil(what, async () => ok(last = await list()), 30_000)
      .catch((err: unknown) => assert.fail(`${(err as Error).message}; listed: ${JSON.stringify(last.map((i) => ({ citizens: i.citizenCount, alerts: i.alertCount, lat: i.centroid.lat, lon: i.centroid.lon })))}`));
    // Each place's first report opens its incident; the others join it. (All at once, two workers may each open one
    // at the same place, merged only by a later alert between them: docs/incidents.md, "Deterministic".)
    const firsts = reports.filter((r) => r.droneId.endsWith('-drone-0'));
    await send(firsts);
    await until('an incident at each place', (l) => l.length === 2);
    await send(reports.filter((r) => !firsts.includes(r)));
    await until('two incidents of 6 citizens and 16 alerts', (l) => l.length === 2 && l.every((i) => i.citizenCount === 6 && i.alertCount === 16));
    const [one] = await list();
    assert.equal(one!.droneCount, 8);
    assert.equal(one!.severity, 'critical');

    const ack = await fetch(`${base}/v1/incidents/${one!.incidentId}/ack`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ by: 'officer-7' }) });
    assert.equal(ack.status, 200, await ack.clone().text());
    assert.equal(((await ack.json()) as { alertsChanged: number }).alertsChanged, 16);
    const detail = (await (await fetch(`${base}/v1/incidents/${one!.incidentId}`)).json()) as { alerts: Alert[] };
    assert.deepEqual(detail.alerts.map((a) => a.status), Array(16).fill('acknowledged'));
    await waitUntil('incident events on the live feed', async () => text.includes('event: incident.opened') && text.includes('event: incident.acknowledged'), 10_000);
    ctrl.abort();
    await reading;

    const codes = await h.stopAll();
    for (const [name, code] of codes) assert.equal(code, 0, `${name} exits with 0 after SIGINT`);
  });
});
