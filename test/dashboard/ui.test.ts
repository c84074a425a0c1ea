import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { chromiumOrSkip, launchChromium, tempDir } from '../../src/testkit/index.ts';
import { gatewayAuth, openDashboard, startDashboardPlatform, type DashboardPlatform } from './helpers.ts';

process.env.DRONEWATCH_LOG_LEVEL ??= 'warn';
const skip = chromiumOrSkip();

/**
 * The live page on a tablet, driven by keyboard, with alerts posted by the test (no simulator: every alert is known):
 * the critical cue, filters, assign and resolve, and a local tile set.
 */
describe('officers\' dashboard on a tablet, by keyboard, in chromium', { skip }, () => {
  let dw: DashboardPlatform;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];
  const tileRequests: string[] = [];
  const tiles = tempDir('dw-tiles-');
  let gateway: { authorization: string };

  const post = async (droneId: string, lat: number, lon: number, name: string, score: number): Promise<void> => {
    const res = await fetch(`${dw.url}/v1/reports`, {
      method: 'POST', headers: { 'content-type': 'application/json', ...gateway },
      body: JSON.stringify({ droneId, timestamp: new Date().toISOString(), position: { lat, lon }, citizens: [{ name, score }], words: ['manifestation', 'bonjour'] }),
    });
    assert.equal(res.status, 202, `report of ${droneId} accepted`);
  };
  const alertOf = async (name: string): Promise<string> => {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const a = dw.platform.alertStore!.list({ limit: 100 }).find((x) => x.citizen === name);
      if (a) return a.alertId;
      assert.ok(Date.now() < deadline, `alert for ${name} raised within 10 s`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  before(async () => {
    mkdirSync(path.join(tiles.dir, '12'), { recursive: true });
    dw = await startDashboardPlatform({ simulator: false, archive: true, config: { dashboard: { tileDir: tiles.dir } } });
    browser = await launchChromium();
    gateway = await gatewayAuth(dw.platform);
    ({ context, page } = await openDashboard(browser, dw.url, { width: 768, height: 1024 }, { login: dw.supervisor }));
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('request', (r) => {
      if (r.url().includes('/tiles/')) tileRequests.push(r.url());
    });
    await page.waitForSelector('header .conn.up', { timeout: 20_000 });
  });

  after(async () => {
    await context?.close();
    await browser?.close();
    await dw?.cleanup();
    tiles.cleanup();
  });

  it('fits a tablet: map, feed and reaction panel stacked, nothing wider than the screen', async () => {
    const width = await page.evaluate(() => ({ doc: document.documentElement.scrollWidth, win: window.innerWidth }));
    assert.ok(width.doc <= width.win, `no horizontal scrolling (${width.doc} > ${width.win})`);
    const map = await page.locator('.live-map').boundingBox();
    const feed = await page.locator('.feed').boundingBox();
    assert.ok(map && feed && feed.y >= map.y + map.height - 1, 'the feed is below the map on a narrow screen');
    assert.ok(map.width > 700, `the map uses the width (${map.width} px)`);
  });

  it('cues a new critical alert: a banner read out by screen readers, the top bar in red', async () => {
    await post('drone-tab-1', 48.857, 2.352, 'Claude Critique', 2.5);
    const banner = page.locator('.cue-region[role="alert"] .cue');
    await banner.waitFor({ timeout: 10_000 });
    assert.match((await banner.textContent()) ?? '', /Critical alert.*Claude Critique, score 2\.5, seen by drone-tab-1/, 'the banner names who and which drone');
    assert.ok(await page.$('header.top.alarm'), 'the top bar turns red');
    await page.getByRole('button', { name: 'Dismiss critical alert banner' }).click();
    assert.equal(await banner.count(), 0, 'dismissed');
  });

  it('is usable by keyboard: skip link, a feed row opens with Enter, then assign and resolve', async () => {
    const id = await alertOf('Claude Critique');
    await page.reload();
    await page.waitForSelector(`li[data-alert-id="${id}"]`, { timeout: 10_000 });
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Skip to content', 'the first Tab reaches the skip link');
    const row = page.locator(`li[data-alert-id="${id}"] button`);
    await row.focus();
    await page.keyboard.press('Enter');
    await page.waitForSelector(`.detail[data-alert-id="${id}"]`, { timeout: 5000 });
    assert.equal(await row.getAttribute('aria-pressed'), 'true', 'the row says it is selected');
    assert.match((await row.getAttribute('aria-label')) ?? '', /Critical alert, Claude Critique, score 2\.5, drone-tab-1/, 'the row has a spoken label');

    // Every change records who made it: the logged-in user.
    await page.getByLabel('Assign to').fill('Brigade 12');
    await page.getByRole('button', { name: 'Assign', exact: true }).press('Enter');
    await page.waitForSelector('.detail .detail-status:has-text("assigned to Brigade 12")', { timeout: 5000 });
    assert.equal(dw.platform.alertStore!.get(id)!.assignee, 'Brigade 12', 'the store has the assignee');

    await page.getByLabel('Note').fill('false alarm, checked on site');
    await page.getByRole('button', { name: 'Resolve', exact: true }).press('Enter');
    await page.waitForSelector('.detail .detail-status:has-text("resolved")', { timeout: 5000 });
    const stored = dw.platform.alertStore!.get(id)!;
    assert.deepEqual([stored.status, stored.resolvedBy, stored.note], ['resolved', dw.supervisor.username, 'false alarm, checked on site'], 'the store has the resolution');
    // The default filter (open or acknowledged) drops it from the feed; the Resolved filter lists it.
    await page.waitForSelector(`li[data-alert-id="${id}"]`, { state: 'detached', timeout: 5000 });
    await page.getByLabel('Status').selectOption('resolved');
    await page.waitForSelector(`li[data-alert-id="${id}"][data-status="resolved"]`, { timeout: 5000 });
    await page.getByLabel('Status').selectOption('active');
  });

  it('filters by drone and by the visible map area', async () => {
    await post('drone-tab-2', 48.86, 2.34, 'Paula Paris', 15);
    await post('drone-tab-3', 47.20, -1.55, 'Nina Nantes', 15);
    await page.waitForSelector('li[data-alert-id] >> text=Nina Nantes', { timeout: 10_000 });
    await page.waitForSelector('li[data-alert-id] >> text=Paula Paris', { timeout: 10_000 });
    await page.getByLabel('Area').selectOption('view');
    await page.waitForSelector('li[data-alert-id] >> text=Nina Nantes', { state: 'detached', timeout: 5000 });
    assert.ok(await page.$('li[data-alert-id] >> text=Paula Paris'), 'an alert inside the map view stays');
    await page.getByLabel('Area').selectOption('all');
    await page.getByLabel('Drone', { exact: true }).fill('drone-tab-3');
    await page.getByLabel('Drone', { exact: true }).press('Enter');
    await page.waitForSelector('li[data-alert-id] >> text=Paula Paris', { state: 'detached', timeout: 5000 });
    const drones = await page.$$eval('li[data-alert-id] .drone', (els) => els.map((e) => e.textContent));
    assert.deepEqual(drones, ['drone-tab-3'], 'only that drone\'s alerts');
  });

  it('draws tiles from the configured local tile set under the vector outline', () => {
    assert.ok(tileRequests.length > 0, 'the map asked the server for tiles');
    assert.ok(tileRequests.every((u) => u.startsWith(`${dw.url}/tiles/`) && /\/tiles\/\d+\/\d+\/\d+\.png$/.test(u)), `tiles come from /tiles/{z}/{x}/{y}.png: ${tileRequests[0]}`);
    assert.deepEqual(pageErrors, [], 'no uncaught exception in the page');
  });
});
