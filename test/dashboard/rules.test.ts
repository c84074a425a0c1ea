import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { Alert } from '../../src/alerts/types.ts';
import type { RuleSetVersion } from '../../src/rules/types.ts';
import { chromiumOrSkip, launchChromium } from '../../src/testkit/index.ts';
import { createUser, gatewayAuth, openDashboard, pageErrors, startDashboardPlatform, type Credentials, type DashboardPlatform } from './helpers.ts';

process.env.DRONEWATCH_LOG_LEVEL ??= 'warn';
const skip = chromiumOrSkip();

const ZONE_ID = 'place-des-essais';
const RULE_ID = `entry-${ZONE_ID}`;
const PERSON = 'Personne Surveillee';

interface MapFrame { left: number; top: number; width: number; height: number; s: number; w: number; n: number; e: number }

/**
 * Where the zone map is on the screen and what it shows: its content box (inside the border) and its bounds, as the
 * page keeps them on the element. The test turns pixels into coordinates with its own Web Mercator below, not with
 * Leaflet: a page that stored the wrong point (swapped lat/lon, an offset) would not agree with it.
 */
async function mapFrame(page: Page): Promise<MapFrame> {
  const f = await page.$eval('.zone-map', (el) => {
    const r = el.getBoundingClientRect();
    const [s, w, n, e] = (el as HTMLElement).dataset.bounds!.split(',').map(Number);
    return { left: r.left + el.clientLeft, top: r.top + el.clientTop, width: el.clientWidth, height: el.clientHeight, s: s!, w: w!, n: n!, e: e! };
  });
  return f;
}
const mercY = (lat: number): number => Math.log(Math.tan(Math.PI / 4 + (lat * Math.PI) / 360));
/** Screen pixel -> [lon, lat]. */
function toLonLat(f: MapFrame, x: number, y: number): [number, number] {
  const lon = f.w + ((x - f.left) / f.width) * (f.e - f.w);
  const my = mercY(f.n) - ((y - f.top) / f.height) * (mercY(f.n) - mercY(f.s));
  return [lon, (Math.atan(Math.sinh(my)) * 180) / Math.PI];
}
/** Degrees two screen pixels span here: the tolerance of a click. */
const tolerance = (f: MapFrame): { lon: number; lat: number } => ({ lon: (2 * (f.e - f.w)) / f.width, lat: (2 * (f.n - f.s)) / f.height });

function assertNear(got: number[], want: [number, number], tol: { lon: number; lat: number }, what: string): void {
  assert.ok(Math.abs(got[0]! - want[0]) <= tol.lon && Math.abs(got[1]! - want[1]) <= tol.lat,
    `${what}: stored [${got.join(', ')}], clicked at [${want.join(', ')}] (tolerance ${tol.lon.toFixed(6)}, ${tol.lat.toFixed(6)})`);
}

/**
 * Issue 19, items 1 and 5, in a real browser: the rules page. A supervisor draws a zone by clicking on the map, is
 * shown the server's refusals beside the fields, saves it (a new version holding the clicked polygon), moves a point
 * and deletes one (one version each), tries the rules on the last days, and disables the rule. Between, reports posted
 * with a gateway credential show the live platform using the zone: the person of concern seen inside raises the
 * zone-entry alert, seen outside does not. An officer (read-only, in French) sees the zone and no edit control.
 */
describe('rules page: zones edited on the map, in chromium', { skip }, () => {
  let dw: DashboardPlatform;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let errors: string[];
  let officer: Credentials;
  let gateway: { authorization: string };
  /** The polygon as clicked, [lon, lat], and the tolerance of those clicks. */
  let clicked: [number, number][] = [];
  let tol = { lon: 0, lat: 0 };

  const api = async <T,>(path: string): Promise<T> => {
    const res = await context.request.get(`${dw.url}${path}`);
    assert.equal(res.status(), 200, `GET ${path}: ${await res.text()}`);
    return (await res.json()) as T;
  };
  const rules = (): Promise<RuleSetVersion> => api<RuleSetVersion>('/v1/rules');
  const ring = async (): Promise<number[][]> => {
    const z = (await rules()).zones.find((x) => x.id === ZONE_ID);
    assert.ok(z && z.geometry.type === 'Polygon', `zone ${ZONE_ID} in the rules`);
    return z.geometry.coordinates[0]!;
  };
  const saveWithReason = async (reason: string, version: number): Promise<void> => {
    await page.fill('.zone-editor input[name="reason"]', reason);
    await page.click('.zone-editor button.save-zone');
    await page.waitForSelector(`.rules-page[data-version="${version}"]`, { timeout: 10_000 });
  };
  const waitFor = async <T,>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> => {
    const deadline = Date.now() + ms;
    for (;;) {
      const v = await probe();
      if (v !== undefined) return v;
      assert.ok(Date.now() < deadline, `${what} within ${ms / 1000} s`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  before(async () => {
    dw = await startDashboardPlatform({ simulator: false, archive: true });
    officer = await createUser(dw.platform, 'odile', 'officer');
    gateway = await gatewayAuth(dw.platform);
    browser = await launchChromium();
    ({ context, page } = await openDashboard(browser, `${dw.url}/#/rules`, undefined, { login: dw.supervisor, locale: 'en-GB' }));
    errors = pageErrors(page);
    await page.waitForSelector('.rules-page[data-version="1"] .zone-map[data-bounds]', { timeout: 15_000 });
  });

  after(async () => {
    await context?.close();
    await browser?.close();
    await dw?.cleanup();
  });

  it('draws a zone by clicking on the map, shows the server\'s refusals beside their fields, saves it as version 2', async () => {
    assert.deepEqual((await rules()).zones, [], 'no zone at first (the configuration\'s rules are version 1)');
    await page.click('button.new-zone');
    // Zoom in twice around the centre, so that two pixels are a few metres.
    await page.click('.leaflet-control-zoom-in');
    await page.click('.leaflet-control-zoom-in');
    await page.waitForFunction(() => Number((document.querySelector('.zone-map') as HTMLElement).dataset.zoom) >= 13, undefined, { timeout: 5000 });
    await page.waitForTimeout(400);
    const f = await mapFrame(page);
    tol = tolerance(f);
    const cx = f.left + f.width / 2;
    const cy = f.top + f.height / 2;
    // Without a pointer: the map's centre is added as a point (then taken back).
    await page.click('button.add-centre');
    const c = (await (await page.waitForSelector('.dw-vertex[data-vertex="0"]'))!.boundingBox())!;
    assert.ok(Math.abs(c.x + c.width / 2 - cx) <= 2 && Math.abs(c.y + c.height / 2 - cy) <= 2, `the point is at the map's centre (${c.x + c.width / 2}, ${c.y + c.height / 2} vs ${cx}, ${cy})`);
    await page.getByRole('button', { name: 'Remove the last point' }).click();
    assert.equal(await page.getAttribute('.point-count', 'data-points'), '0');
    const px: [number, number][] = [[cx - 90, cy - 70], [cx + 110, cy - 60], [cx + 80, cy + 90], [cx - 100, cy + 70]];
    for (const [x, y] of px) await page.mouse.click(x, y);
    assert.equal(await page.getAttribute('.point-count', 'data-points'), '4', 'four points drawn');
    clicked = px.map(([x, y]) => toLonLat(f, x, y));
    // A click on the first point closes the shape.
    await page.click('.dw-vertex[data-vertex="0"]');
    await page.waitForSelector('.zone-form');

    // A score threshold over 100: the request's schema refuses it, beside the threshold field; nothing is saved.
    await page.fill('.zone-form input[name="name"]', 'Place des essais');
    await page.fill('.zone-form input[name="threshold"]', '150');
    await page.fill('.zone-editor input[name="reason"]', 'summit next week');
    await page.click('.zone-editor button.save-zone');
    const thresholdError = await page.waitForSelector('.field-error[data-field="threshold"]', { timeout: 5000 });
    assert.match((await thresholdError.textContent()) ?? '', /100/, 'the reason names the limit');
    assert.equal(await page.getAttribute('.zone-form input[name="threshold"]', 'aria-invalid'), 'true');
    // A zone-entry rule naming nobody: the rules' own validation (DW_RULES_INVALID) refuses it, beside the names.
    await page.selectOption('.zone-form select[name="action"]', 'zone-entry');
    await page.click('.zone-editor button.save-zone');
    const citizensError = await page.waitForSelector('.field-error[data-field="citizens"]', { timeout: 5000 });
    assert.match((await citizensError.textContent()) ?? '', /non-empty strings/);
    assert.equal(await page.$('.field-error[data-field="threshold"]'), null, 'the earlier error is gone');
    assert.equal((await rules()).version, 1, 'nothing saved while refused');

    await page.fill('.zone-form textarea[name="citizens"]', PERSON);
    await page.selectOption('.zone-form select[name="severity"]', 'critical');
    await saveWithReason('summit next week', 2);
    assert.match((await page.textContent('.rules-status')) ?? '', /version 2/);

    const v2 = await rules();
    assert.deepEqual([v2.version, v2.author, v2.reason], [2, dw.supervisor.username, 'summit next week']);
    const rule = v2.rules.find((r) => r.id === RULE_ID);
    assert.deepEqual(rule, { id: RULE_ID, kind: 'zone-entry', enabled: true, citizens: [PERSON], zone: ZONE_ID, severity: 'critical' });
    const stored = await ring();
    assert.equal(stored.length, 5, 'four points and the closing one');
    assert.deepEqual(stored[4], stored[0], 'the ring is closed');
    clicked.forEach((c, i) => assertNear(stored[i]!, c, tol, `point ${i}`));
    await page.waitForSelector(`path.dw-zone-${ZONE_ID}`);
  });

  it('moves a point (version 3), then deletes one (version 4); the other points stay where they were', async () => {
    await page.click(`[data-zone-id="${ZONE_ID}"] button.edit-zone`);
    await page.waitForSelector('.dw-vertex[data-vertex="3"]');
    const before = await ring();
    const f = await mapFrame(page);
    const box = (await (await page.$('.dw-vertex[data-vertex="2"]'))!.boundingBox())!;
    const from = { x: box.x + box.width / 2, y: box.y + box.height / 2 };
    const to = { x: from.x + 60, y: from.y + 40 };
    await page.mouse.move(from.x, from.y);
    await page.mouse.down();
    await page.mouse.move(to.x, to.y, { steps: 12 });
    await page.mouse.up();
    await saveWithReason('the square is larger', 3);
    const moved = await ring();
    assertNear(moved[2]!, toLonLat(f, to.x, to.y), tol, 'the dragged point');
    assert.ok(Math.abs(moved[2]![0]! - before[2]![0]!) > tol.lon, 'the point did move');
    for (const i of [0, 1, 3]) assert.deepEqual(moved[i], before[i], `point ${i} unchanged`);

    await page.click(`[data-zone-id="${ZONE_ID}"] button.edit-zone`);
    await page.waitForSelector('.dw-vertex[data-vertex="3"]');
    await page.click('.dw-vertex[data-vertex="3"]');
    await page.click('button.delete-vertex');
    // The page re-renders after the click: wait for the fourth handle to go (a failure here is a timeout).
    await page.waitForSelector('.dw-vertex[data-vertex="3"]', { state: 'detached', timeout: 10_000 });
    assert.equal(await page.$('.dw-vertex[data-vertex="3"]'), null, 'three points left');
    await saveWithReason('the south-west corner is not ours', 4);
    assert.deepEqual(await ring(), [moved[0], moved[1], moved[2], moved[0]], 'the triangle of the three other points');
  });

  it('the live platform uses the zone: the person of concern seen inside raises its alert, seen outside does not', async () => {
    await waitFor('version 4 in the alert worker', 10_000, async () => (dw.platform.rules?.book?.versionOf('default') === 4 ? true : undefined));
    const tri = (await ring()).slice(0, 3);
    const inside = { lon: tri.reduce((s, p) => s + p[0]!, 0) / 3, lat: tri.reduce((s, p) => s + p[1]!, 0) / 3 };
    const outside = { lon: inside.lon, lat: inside.lat + 0.02 };
    const post = async (droneId: string, at: { lat: number; lon: number }, citizens: { name: string; score: number }[]): Promise<void> => {
      const res = await fetch(`${dw.url}/v1/reports`, {
        method: 'POST', headers: { 'content-type': 'application/json', ...gateway },
        body: JSON.stringify({ droneId, timestamp: new Date().toISOString(), position: at, citizens, words: [] }),
      });
      assert.equal(res.status, 202, await res.text());
    };
    // Score 90: no score rule fires, only the zone-entry rule can. Outside, a low score in the same report is the
    // witness that the report was processed (its alert comes), so the absence of the other alert means something.
    await post('d-rules-out', outside, [{ name: PERSON, score: 90 }, { name: 'Witness Low', score: 3 }]);
    await post('d-rules-in', inside, [{ name: PERSON, score: 90 }]);
    const list = async (): Promise<Alert[]> => (await api<{ alerts: Alert[] }>('/v1/alerts?limit=100')).alerts;
    const all = await waitFor('both reports processed', 10_000, async () => {
      const a = await list();
      return a.some((x) => x.citizen === 'Witness Low') && a.some((x) => x.citizen === PERSON) ? a : undefined;
    });
    const mine = all.filter((x) => x.citizen === PERSON);
    assert.deepEqual(mine.map((x) => [x.droneId, x.rule, x.ruleVersion, x.severity]), [['d-rules-in', RULE_ID, 4, 'critical']], 'one alert: inside, by the zone rule of version 4');
    assert.equal(all.find((x) => x.citizen === 'Witness Low')!.droneId, 'd-rules-out');
  });

  it('tries the rules on the last days (dry run through the page): the zone rule counted, nothing raised', async () => {
    // The two reports reach the lake within seconds (archive batches of 1 s, lake re-listed every second).
    // A change made with the session cookie carries its CSRF token, as the page's own requests do.
    const { csrf } = await api<{ csrf: string }>('/v1/auth/me');
    await waitFor('the reports in the lake', 20_000, async () => {
      const res = await context.request.post(`${dw.url}/v1/query`, { headers: { 'x-csrf-token': csrf }, data: { sql: 'SELECT count(*) AS n FROM reports', format: 'json' } });
      if (res.status() !== 200) return undefined;
      return Number(((await res.json()) as { rows: unknown[][] }).rows[0]![0]) >= 2 ? true : undefined;
    });
    const alertsBefore = (await api<{ alerts: Alert[] }>('/v1/alerts?limit=100')).alerts.length;
    await page.click(`[data-zone-id="${ZONE_ID}"] button.edit-zone`);
    await page.click('button.try-week');
    const result = await page.waitForSelector('.dry-run-result', { timeout: 30_000 });
    assert.match((await result.textContent()) ?? '', /Over 2 reports/);
    assert.equal(await page.textContent(`.dry-run-result tr[data-key="${RULE_ID}"] td:nth-of-type(2)`), '1', 'the proposed set raises the zone alert once');
    assert.equal(await page.textContent(`.dry-run-result tr[data-key="${RULE_ID}"] td:nth-of-type(1)`), '1', 'as the rules in force do');
    // Grouped as the alert workers group them: the zone alert and the outside report's low score are 2.2 km apart,
    // beyond the grouping radius, so two incidents either way.
    assert.equal(await result.getAttribute('data-proposed-incidents'), '2', 'two incidents with the change');
    assert.equal(await result.getAttribute('data-in-force-incidents'), '2', 'and with the rules in force');
    assert.match((await page.textContent('.dry-run-result .dry-incidents')) ?? '', /Grouped into incidents: 2 with this change \(0 gatherings\), 2 with the rules in force/);
    assert.equal((await api<{ alerts: Alert[] }>('/v1/alerts?limit=100')).alerts.length, alertsBefore, 'no live alert raised');
    await page.getByRole('button', { name: 'Cancel', exact: true }).click();
    assert.equal((await rules()).version, 4, 'trying saves nothing');
  });

  it('disables the rule with a reason (version 5): listed as disabled, the zone drawn as unused', async () => {
    await page.click(`tr[data-rule-id="${RULE_ID}"] button.disable-rule`);
    await page.click(`tr[data-rule-id="${RULE_ID}"] .disable-form button[type="submit"]`);
    await page.waitForSelector(`tr[data-rule-id="${RULE_ID}"] .field-error[data-field="reason"]`, { timeout: 5000 });
    assert.equal((await rules()).version, 4, 'no reason, no change');
    await page.fill(`tr[data-rule-id="${RULE_ID}"] input[name="disable-reason"]`, 'summit cancelled');
    await page.click(`tr[data-rule-id="${RULE_ID}"] .disable-form button[type="submit"]`);
    await page.waitForSelector(`.rules-page[data-version="5"] tr[data-rule-id="${RULE_ID}"][data-enabled="false"]`, { timeout: 10_000 });
    const v5 = await rules();
    assert.deepEqual([v5.reason, v5.rules.find((r) => r.id === RULE_ID)?.enabled], ['summit cancelled', false]);
    await page.waitForSelector(`path.dw-zone-${ZONE_ID}.idle`);
    const audited = dw.platform.audit!.list({ action: 'rules.change', actor: dw.supervisor.username, limit: 100 }).map((e) => (e.details as { reason?: string }).reason);
    for (const reason of ['summit next week', 'the square is larger', 'the south-west corner is not ours', 'summit cancelled']) {
      assert.ok(audited.includes(reason), `the change "${reason}" is in the audit log, by the supervisor`);
    }
  });

  it('an officer (read-only, in French) sees the zone and the rules, and no edit control', async () => {
    const tab = await openDashboard(browser, `${dw.url}/#/rules`, undefined, { login: officer, locale: 'fr-FR', timezoneId: 'Europe/Paris' });
    try {
      const officerErrors = pageErrors(tab.page);
      await tab.page.waitForSelector(`.rules-page[data-version="5"] path.dw-zone-${ZONE_ID}`, { timeout: 10_000 });
      assert.equal((await tab.page.textContent('#rules-title'))?.trim(), "Règles d'alerte", 'the page speaks French');
      assert.match((await tab.page.textContent('.read-only')) ?? '', /superviseurs/);
      assert.match((await tab.page.textContent(`tr[data-rule-id="${RULE_ID}"]`)) ?? '', /désactivée/);
      for (const control of ['.zone-editor', 'button.new-zone', 'button.edit-zone', 'button.disable-rule', '.dw-vertex', 'button.try-week']) {
        assert.equal(await tab.page.$(control), null, `no ${control} for an officer`);
      }
      // Clicking the map draws nothing.
      const f = await mapFrame(tab.page);
      await tab.page.mouse.click(f.left + f.width / 2, f.top + f.height / 2);
      assert.equal(await tab.page.$('.dw-vertex, path.dw-draft'), null);
      assert.deepEqual(officerErrors, [], 'no console error');
    } finally {
      await tab.context.close();
    }
    // The three refusals the test provoked (threshold, names, reason) are the only failed requests the browser logs.
    const refused = errors.filter((e) => /status of 400/.test(e));
    assert.equal(refused.length, 3, errors.join('\n'));
    assert.deepEqual(errors.filter((e) => !refused.includes(e)), [], 'no other console error on the supervisor\'s page');
  });
});
