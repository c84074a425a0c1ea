import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { chromiumOrSkip, launchChromium } from '../../src/testkit/index.ts';
import { openDashboard, pageErrors, startDashboardPlatform, type DashboardPlatform } from './helpers.ts';

process.env.DRONEWATCH_LOG_LEVEL ??= 'warn';
const skip = chromiumOrSkip();

/**
 * The incident statistics and alerts-by-rule-version on the dashboard, from a running platform: simulated drones (with
 * a gathering) -> alerts -> incidents -> the incidents topic -> the archive -> the lake -> the statistics page in
 * chromium. One platform for both: starting one takes longer than the checks.
 */
describe('officers\' dashboard, incident and rule version statistics from a running platform, in chromium', { skip }, () => {
  let dw: DashboardPlatform;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let errors: string[];

  before(async () => {
    dw = await startDashboardPlatform({ drones: 200, speed: 60, archive: true });
    // The archive writes the lake every second; the simulated gathering needs a few minutes of report time.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const cursor = await dw.platform.analysis!.query('default', "SELECT count(*) FROM incidents WHERE status <> 'merged'");
      let n = 0;
      for await (const rows of cursor) n += Number(rows[0]?.[0] ?? 0);
      if (n > 0) break;
      assert.ok(Date.now() < deadline, 'the lake has incidents within 60 s');
      await new Promise((r) => setTimeout(r, 500));
    }
    browser = await launchChromium();
    ({ context, page } = await openDashboard(browser, `${dw.url}/#/stats`, undefined, { login: dw.supervisor }));
    errors = pageErrors(page);
  });

  after(async () => {
    await context?.close();
    await browser?.close();
    await dw?.cleanup();
  });

  it('lists the four incident statistics, draws incident-areas on the map and the others as charts, with the time they count by', async () => {
    await page.waitForSelector('.stat-pick select', { timeout: 20_000 });
    const options = await page.$$eval('.stat-pick select option', (os) => os.map((o) => (o as HTMLOptionElement).value));
    for (const s of ['incidents-daily', 'incident-areas', 'incident-ack-time', 'incident-growth']) assert.ok(options.includes(s), `${s} listed: ${options.join(', ')}`);

    await page.selectOption('.stat-pick select', 'incident-areas');
    // The statistics page reads a snapshot of the lake that the service refreshes every second: run again until the
    // snapshot has the incidents the platform's engine already saw (30 s at most), as analysis.test.ts does.
    const deadline = Date.now() + 30_000;
    while (!(await page.$('.stat-result[data-stat="incident-areas"] path.dw-heat-cell'))) {
      const shown = await page.textContent('.stat-result') ?? '';
      assert.ok(Date.now() < deadline, `incident-areas drawn on the map within 30 s (shown: ${shown.slice(0, 300)})`);
      await page.getByRole('button', { name: 'Run', exact: true }).click();
      await page.waitForTimeout(1000);
    }
    assert.match(await page.textContent('.stat-result .stat-time') ?? '', /first sighting/);

    await page.selectOption('.stat-pick select', 'incidents-daily');
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    await page.waitForSelector('.stat-result[data-stat="incidents-daily"] .chart canvas', { timeout: 20_000 });
    const head = await page.$$eval('.stat-result .table-block thead th', (ths) => ths.map((t) => t.textContent));
    assert.deepEqual(head.slice(0, 3), ['day', 'severity', 'incidents']);

    await page.selectOption('.stat-pick select', 'incident-ack-time');
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    await page.waitForSelector('.stat-result[data-stat="incident-ack-time"]', { timeout: 20_000 });
    assert.match(await page.textContent('.stat-result .stat-time') ?? '', /incident was opened/);
  });

  // alerts-by-rule-version: the alerts were raised by the configuration's rules (rule set version 1). The chart sums
  // the table's rows per version (web/src/pages/stat-charts.ts): one point per version, not per day and rule.
  it('charts alerts and silenced per rule version, with the table by day and rule and the time it counts by', async () => {
    await page.waitForSelector('.stat-pick select', { timeout: 20_000 });
    await page.selectOption('.stat-pick select', 'alerts-by-rule-version');
    // The page reads a snapshot the service refreshes every second: run again until it has the alerts (30 s at most).
    const deadline = Date.now() + 30_000;
    while (!(await page.$('.stat-result[data-stat="alerts-by-rule-version"] .chart'))) {
      assert.ok(Date.now() < deadline, `charted within 30 s (shown: ${(await page.textContent('.stat-result') ?? '').slice(0, 300)})`);
      await page.getByRole('button', { name: 'Run', exact: true }).click();
      await page.waitForTimeout(1000);
    }
    const head = await page.$$eval('.stat-result .table-block thead th', (ths) => ths.map((t) => t.textContent));
    assert.deepEqual(head.slice(0, 5), ['day', 'rule_version', 'rule', 'alerts', 'silenced']);
    const versions = await page.$$eval('.stat-result .table-block tbody tr', (trs) => trs.map((tr) => tr.children[1]?.textContent ?? ''));
    assert.ok(versions.length > 0 && versions.every((v) => v === '1'), `every alert raised by version 1 (the configuration's rules): ${versions.join(', ')}`);
    const label = await page.getAttribute('.stat-result .chart', 'aria-label') ?? '';
    assert.match(label, /bar chart of alerts, silenced by rule_version, 1 points/, 'one point per version');
    assert.match(await page.textContent('.stat-result .stat-time') ?? '', /rule version that raised it/);
  });

  it('shows no errors in the page', () => {
    assert.deepEqual(errors, []);
  });
});
