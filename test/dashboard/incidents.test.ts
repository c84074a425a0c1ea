import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { Alert } from '../../src/alerts/types.ts';
import type { Incident, IncidentMember } from '../../src/incidents/types.ts';
import { chromiumOrSkip, launchChromium } from '../../src/testkit/index.ts';
import { gatewayAuth, openDashboard, pageErrors, startDashboardPlatform, type DashboardPlatform } from './helpers.ts';

process.env.DRONEWATCH_LOG_LEVEL ??= 'warn';
const skip = chromiumOrSkip();

/** Metres to degrees of latitude / of longitude at Paris. */
const M_LAT = 1 / 111_320;
const M_LON = 1 / (111_320 * Math.cos((48.86 * Math.PI) / 180));

const REPUBLIQUE = { lat: 48.8674, lon: 2.3636 };
const BASTILLE = { lat: 48.8532, lon: 2.3691 };
const TROCADERO = { lat: 48.8616, lon: 2.2893 };
const GARE_DU_NORD = { lat: 48.8809, lon: 2.3553 };

interface Box { x: number; y: number; width: number; height: number }
const overlap = (a: Box, b: Box): boolean => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

/**
 * Issue 16, item 3, in a real browser: the live page around incidents. The platform runs as `dronewatch up` with a
 * small simulated fleet (its replayed alerts are the background the incidents must stand out from), and the test posts
 * the reports of three crowds it knows exactly: a gathering at République (6 citizens seen by 3 drones, one citizen by
 * two of them), one spreading at Bastille (a tight group seen 6 minutes ago, newcomers 200 m out now) and a lone alert
 * at Trocadéro. Each must be one incident on the map and in the feed within seconds, in the feed's order; a bulk
 * acknowledge from the page must acknowledge the incidents and their alerts (checked through the API); the critical
 * banner must take its own space, overlapping neither the feeds nor the map nor another page's content.
 */
describe('live page around incidents, in chromium', { skip }, () => {
  let dw: DashboardPlatform;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let errors: string[];
  let gateway: { authorization: string };
  let startedAt = 0;
  const ids = { republique: '', bastille: '', trocadero: '' };

  const post = async (droneId: string, at: { lat: number; lon: number }, ts: number, citizens: { name: string; score: number; north?: number; east?: number }[]): Promise<void> => {
    // One report per citizen position: a drone reports one position, so citizens apart are seen in reports apart, a
    // second apart (a drone's report is identified by its time: the same drone and time is the same report).
    for (const [k, c] of citizens.entries()) {
      const res = await fetch(`${dw.url}/v1/reports`, {
        method: 'POST', headers: { 'content-type': 'application/json', ...gateway },
        body: JSON.stringify({
          droneId, timestamp: new Date(ts - k * 1000).toISOString(),
          position: { lat: at.lat + (c.north ?? 0) * M_LAT, lon: at.lon + (c.east ?? 0) * M_LON },
          citizens: [{ name: c.name, score: c.score }], words: ['manifestation'],
        }),
      });
      assert.equal(res.status, 202, `report of ${droneId} accepted: ${await res.text()}`);
    }
  };
  /** Through the HTTP API with the page's own session (the supervisor's cookie). */
  const api = async <T,>(path: string): Promise<T> => {
    const res = await context.request.get(`${dw.url}${path}`);
    assert.equal(res.status(), 200, `GET ${path}: ${await res.text()}`);
    return (await res.json()) as T;
  };
  const liveNear = async (at: { lat: number; lon: number }, metres: number): Promise<Incident[]> => {
    const bbox = [at.lat - metres * M_LAT, at.lon - metres * M_LON, at.lat + metres * M_LAT, at.lon + metres * M_LON].map((v) => v.toFixed(6)).join(',');
    const since = new Date(startedAt - 10 * 60_000).toISOString();
    const { incidents } = await api<{ incidents: Incident[] }>(`/v1/incidents?status=open,acknowledged&since=${since}&bbox=${bbox}`);
    seen = JSON.stringify(incidents.map((i) => ({ id: i.incidentId, citizens: i.citizenCount, alerts: i.alertCount, drones: i.droneCount, radiusM: i.radiusM, growth: i.growth })));
    return incidents;
  };
  /** Polls `probe` until it answers; `seen` says what it last saw when it never does. */
  let seen = '';
  const waitFor = async <T,>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> => {
    const deadline = Date.now() + ms;
    seen = '';
    for (;;) {
      const v = await probe();
      if (v !== undefined) return v;
      assert.ok(Date.now() < deadline, `${what} within ${ms / 1000} s; last seen: ${seen}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  before(async () => {
    // 150 simulated drones at 60x: background alerts and their incidents (replayed report times, hours before the
    // test's crowds, so they never join them), light enough for a 2-core machine shared with chromium.
    dw = await startDashboardPlatform({ drones: 150, speed: 60, archive: true });
    gateway = await gatewayAuth(dw.platform);
    browser = await launchChromium();
    ({ context, page } = await openDashboard(browser, dw.url, undefined, { login: dw.supervisor }));
    errors = pageErrors(page);
    await page.waitForSelector('.incident-feed', { timeout: 15_000 });
  });

  after(async () => {
    await context?.close();
    await browser?.close();
    await dw?.cleanup();
  });

  it('a gathering appears as one incident on the map and in the feed within seconds, in the feed\'s order', async () => {
    startedAt = Date.now();
    const now = startedAt;
    // Lone alert first: a warning incident of one citizen, steady.
    await post('dw-t-troca', TROCADERO, now, [{ name: 'Lone Walker', score: 15 }]);
    // Spreading: three people close together seen 6 minutes ago (before the 5-minute growth window) and again now,
    // two newcomers 200 m north and south now: the area grows by ~190 m, over half the 300 m grouping radius.
    const core = [{ name: 'Bastille A', score: 12 }, { name: 'Bastille B', score: 11, east: 8 }, { name: 'Bastille C', score: 13, north: 8 }];
    await post('dw-t-bast1', BASTILLE, now - 6 * 60_000, core);
    await post('dw-t-bast1', BASTILLE, now - 1000, core);
    // Drones are partitions of their own: the newcomers are posted once the core's latest sighting is grouped (had a
    // newcomer come first, the incident's activity would still end 6 minutes ago and the newcomer open its own).
    await waitFor('the Bastille core re-sighted', 15_000, async () => {
      const near = await liveNear(BASTILLE, 800);
      return near.length === 1 && near[0]!.lastAt >= now - 1000 && near[0]!.citizenCount === 3 ? true : undefined;
    });
    await post('dw-t-bast2', BASTILLE, now, [{ name: 'Bastille D', score: 14, north: 200 }]);
    await post('dw-t-bast3', BASTILLE, now, [{ name: 'Bastille E', score: 14, north: -200 }]);
    // The gathering: 6 citizens within ~80 m, seen by 3 drones; République 2 is seen by two drones (counts once).
    const crowd = (n: number, north: number, east: number) => ({ name: `Republique ${n}`, score: 8 + n, north, east });
    await post('dw-t-rep1', REPUBLIQUE, now, [crowd(1, 0, 0), crowd(2, 20, 10)]);
    await post('dw-t-rep2', REPUBLIQUE, now, [crowd(2, 22, 12), crowd(3, -30, 40), crowd(4, 50, -20)]);
    await post('dw-t-rep3', REPUBLIQUE, now, [crowd(5, -60, -40), crowd(6, 10, 70)]);
    const posted = Date.now();

    // Through the API: each crowd is exactly one live incident.
    const rep = await waitFor('the République incident with its 6 citizens', 15_000, async () => {
      const near = await liveNear(REPUBLIQUE, 600);
      return near.length === 1 && near[0]!.citizenCount === 6 ? near[0] : undefined;
    });
    assert.equal(rep.droneCount, 3, 'seen by 3 drones');
    assert.equal(rep.alertCount, 7, 'one alert per drone and citizen');
    assert.equal(rep.severity, 'critical', 'from 5 citizens a gathering is critical');
    assert.equal(rep.growth.spreading, false, 'all its citizens arrived within the growth window: growing, not spreading');
    assert.equal(rep.growing, true, '6 new citizens in 5 minutes is growing');
    const bast = await waitFor('the Bastille incident with its 5 citizens', 15_000, async () => {
      const near = await liveNear(BASTILLE, 800);
      return near.length === 1 && near[0]!.citizenCount === 5 ? near[0] : undefined;
    });
    assert.equal(bast.growth.spreading, true, `Bastille spreads (radius growth ${bast.growth.radiusGrowthM} m)`);
    const troca = await waitFor('the Trocadéro incident', 15_000, async () => {
      const near = await liveNear(TROCADERO, 600);
      return near.length === 1 ? near[0] : undefined;
    });
    assert.equal(troca.citizenCount, 1, 'a lone alert is an incident of its own');
    ids.republique = rep.incidentId;
    ids.bastille = bast.incidentId;
    ids.trocadero = troca.incidentId;

    // On the page: one row each; one area each for the gatherings, none for the lone alert (its alert marker is it).
    for (const id of Object.values(ids)) {
      await page.waitForSelector(`li[data-incident-id="${id}"]`, { timeout: 10_000 });
      assert.equal(await page.locator(`li[data-incident-id="${id}"]`).count(), 1, `one feed row for ${id}`);
    }
    for (const id of [ids.republique, ids.bastille]) {
      await page.waitForSelector(`path.dw-incident-${id}`, { timeout: 10_000 });
      assert.equal(await page.locator(`path.dw-incident-${id}`).count(), 1, `one area for ${id}`);
    }
    assert.equal(await page.locator(`path.dw-incident-${ids.trocadero}`).count(), 0, 'no area for a lone alert');
    const seenMs = Date.now() - posted;
    const row = page.locator(`li[data-incident-id="${ids.republique}"]`);
    await page.waitForFunction((id) => document.querySelector(`li[data-incident-id="${id}"] .n-citizens`)?.textContent === '6', ids.republique, { timeout: 10_000 });
    assert.equal(await row.locator('.n-drones').textContent(), '3');
    assert.equal(await row.locator('.n-alerts').textContent(), '7');
    assert.match((await row.textContent()) ?? '', /growing/, 'the row says it is growing');
    assert.equal((await page.locator(`.dw-incident-label-${ids.republique} .dw-inc-count`).textContent())?.trim(), '6', 'the map badge counts its citizens');
    console.log(`# 3 crowds posted -> their incidents in the feed and on the map after ${seenMs} ms`);
    assert.ok(seenMs < 10_000, `shown within seconds (${seenMs} ms)`);

    // Order: spreading first, then severity (the critical gathering), the lone warning below both.
    const order = await page.locator('li[data-incident-id]').evaluateAll((els) => els.map((e) => e.getAttribute('data-incident-id')));
    assert.equal(order[0], ids.bastille, 'the spreading incident is on top');
    assert.ok(order.indexOf(ids.republique) < order.indexOf(ids.trocadero), 'the critical gathering above the lone warning alert');
    // Spreading is the one cue that demands attention: only spreading rows carry it, in words.
    const spreadingRows = await page.locator('li[data-incident-id][data-spreading]').evaluateAll((els) => els.map((e) => e.getAttribute('data-incident-id')));
    const spreadingApi = (await api<{ incidents: Incident[] }>('/v1/incidents?status=open,acknowledged&limit=500')).incidents.filter((i) => i.growth.spreading).map((i) => i.incidentId);
    assert.ok(spreadingRows.includes(ids.bastille), 'the Bastille row carries the spreading cue');
    for (const id of spreadingRows) assert.ok(spreadingApi.includes(id ?? ''), `row ${id} marked spreading is spreading`);
    assert.match((await page.locator(`li[data-incident-id="${ids.bastille}"] .spreading-badge`).textContent()) ?? '', /Spreading/);
    assert.match((await page.locator('.incident-summary').textContent()) ?? '', /spreading/, 'the feed header says how many spread');
  });

  it('clusters the alerts at city zoom (after their first seconds) and shows each at street zoom', async () => {
    const { alerts } = await api<{ alerts: Alert[] }>(`/v1/incidents/${ids.republique}`);
    assert.equal(alerts.length, 7);
    // At the zoom that fits Paris, République's 7 alerts are a few pixels apart: once no longer new (15 s), they fold
    // into a cluster and their own markers leave the map.
    await page.waitForFunction((list) => list.every((id) => !document.querySelector(`path.dw-alert-${id}`)), alerts.map((a) => a.alertId), { timeout: 30_000 });
    assert.ok(await page.locator('.dw-alert-cluster').count() >= 1, 'a cluster marker stands for them');
    // The row's button fits the map to the incident (street zoom): every alert on its own, no cluster at all.
    await page.locator(`li[data-incident-id="${ids.republique}"] button.incident-show`).click();
    await page.waitForFunction((list) => list.every((id) => document.querySelector(`path.dw-alert-${id}`)), alerts.map((a) => a.alertId), { timeout: 10_000 });
    assert.equal(await page.locator('.dw-alert-cluster').count(), 0, 'no cluster at street zoom');
    await page.locator(`li[data-incident-id="${ids.republique}"] button.incident-show`).click();
  });

  it('acknowledging incidents from the page (bulk) acknowledges them and their alerts', async () => {
    await page.locator(`li[data-incident-id="${ids.republique}"] input.incident-check`).check();
    await page.locator(`li[data-incident-id="${ids.trocadero}"] input.incident-check`).check();
    await page.getByRole('button', { name: 'Acknowledge selected (2)' }).click();
    await page.waitForFunction(() => /2 incidents acknowledged/.test(document.querySelector('.bulk-outcome')?.textContent ?? ''), undefined, { timeout: 10_000 });
    await page.waitForSelector(`li[data-incident-id="${ids.republique}"][data-status="acknowledged"]`, { timeout: 5000 });

    for (const id of [ids.republique, ids.trocadero]) {
      const got = await api<{ incident: Incident; members: IncidentMember[]; alerts: Alert[] }>(`/v1/incidents/${id}`);
      assert.equal(got.incident.status, 'acknowledged', `incident ${id} acknowledged`);
      assert.equal(got.incident.acknowledgedBy, dw.supervisor.username, 'in the officer\'s name');
      assert.equal(got.alerts.length, got.members.length, 'every member alert read back');
      for (const a of got.alerts) {
        assert.equal(a.status, 'acknowledged', `alert ${a.alertId} (${a.citizen}) acknowledged with its incident`);
        assert.equal(a.acknowledgedBy, dw.supervisor.username);
      }
    }
    // Not ticked, not touched: the spreading incident and its alerts stay open.
    const bast = await api<{ incident: Incident; alerts: Alert[] }>(`/v1/incidents/${ids.bastille}`);
    assert.equal(bast.incident.status, 'open');
    assert.ok(bast.alerts.length >= 5 && bast.alerts.every((a) => a.status === 'open'), 'Bastille\'s alerts stay open');
  });

  it('the critical banner takes its own space: it overlaps neither the feeds nor the map, here or on another page', async () => {
    await post('dw-t-nord', GARE_DU_NORD, Date.now(), [{ name: 'Critical Case', score: 2 }]);
    const cue = page.locator('.cue');
    await cue.waitFor({ timeout: 10_000 });
    const cueBox = (await cue.boundingBox())!;
    for (const sel of ['.incident-feed', '.feed', '.live-map-cell', '.detail', 'main']) {
      const box = await page.locator(sel).first().boundingBox();
      assert.ok(box, `${sel} is on the page`);
      assert.ok(!overlap(cueBox, box), `the banner ${JSON.stringify(cueBox)} does not cover ${sel} ${JSON.stringify(box)}`);
    }
    // The live page fills the window less the banner: the alert feed still ends inside the window.
    const feed = (await page.locator('.feed').boundingBox())!;
    const innerHeight = await page.evaluate(() => window.innerHeight);
    assert.ok(feed.y + feed.height <= innerHeight + 1, `the alert feed ends at ${feed.y + feed.height}, inside the window (${innerHeight})`);

    // Another page while the banner shows (it lasts 20 s): the banner sits above its content.
    await page.click('header nav a[href="#/sql"]');
    await page.waitForSelector('#sql-editor', { timeout: 10_000 });
    assert.equal(await cue.count(), 1, 'the banner is still up on the SQL page');
    const onSql = (await cue.boundingBox())!;
    const main = (await page.locator('main').boundingBox())!;
    assert.ok(!overlap(onSql, main), `on the SQL page too the banner ${JSON.stringify(onSql)} does not cover the content ${JSON.stringify(main)}`);
    await page.click('header nav a[href="#/"]');
    assert.deepEqual(errors.filter((e) => !/Failed to load resource.*(40[13]|429)/.test(e)), [], 'no console errors');
  });
});
