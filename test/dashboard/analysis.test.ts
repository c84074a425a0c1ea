import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { chromiumOrSkip, launchChromium, tempDir } from '../../src/testkit/index.ts';
import { openDashboard, pageErrors, startDashboardPlatform, type DashboardPlatform } from './helpers.ts';

process.env.DRONEWATCH_LOG_LEVEL ??= 'warn';
const skip = chromiumOrSkip();

/** The analysis pages in a real browser: SQL console (run, cancel, save, chart, export) and the statistics. */
describe('officers\' dashboard, SQL console and statistics, in chromium', { skip }, () => {
  let dw: DashboardPlatform;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let errors: string[];
  const shots = tempDir('dw-dashboard-shots-');

  /**
   * Waits until the API's analysis engine sees rows for `sql` (a count): the archive writes the lake every second and
   * the engine re-lists it every second, so a page that queries at once can find it empty (CI flake: `has_reports`
   * false, and an alerts-by-hour chart of no rows, when the browser was quicker than the first flush).
   */
  async function untilLakeHas(what: string, sql: string): Promise<void> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const cursor = await dw.platform.analysis!.query('default', sql);
      let n = 0;
      for await (const rows of cursor) n += Number(rows[0]?.[0] ?? 0);
      if (n > 0) return;
      assert.ok(Date.now() < deadline, `the lake has ${what} within 30 s`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  before(async () => {
    dw = await startDashboardPlatform({ drones: 200, speed: 60, archive: true });
    await untilLakeHas('reports', 'SELECT count(*) FROM reports');
    await untilLakeHas('alerts', 'SELECT count(*) FROM alerts');
    browser = await launchChromium();
    ({ context, page } = await openDashboard(browser, `${dw.url}/#/sql`, undefined, { login: dw.supervisor }));
    errors = pageErrors(page);
  });

  after(async () => {
    await context?.close();
    await browser?.close();
    await dw?.cleanup();
    shots.cleanup();
  });

  it('runs a SQL query, cancels a long one and saves one', async () => {
    await page.waitForSelector('details.schema[data-view="reports"] tbody tr', { timeout: 15_000 });
    const schema = (await page.textContent('details.schema[data-view="reports"]')) ?? '';
    assert.ok(schema.includes('drone_id') && schema.includes('TIMESTAMP'), `the reports view's columns are shown: ${schema.slice(0, 200)}`);

    await page.fill('#sql-editor', 'SELECT 41 + 1 AS answer, (SELECT count(*) FROM reports) > 0 AS has_reports');
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    await page.waitForSelector('#sql-result-table tbody tr', { timeout: 20_000 });
    const cells = await page.$$eval('#sql-result-table tbody td', (tds) => tds.map((td) => td.textContent));
    assert.deepEqual(cells, ['42', 'true'], 'the result table shows the answer');

    await page.fill('#sql-editor', 'SELECT count(*) FROM range(100000000000) t(i) WHERE i % 7 = 3');
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    await page.waitForSelector('.sql-status:has-text("Running")', { timeout: 5000 });
    await page.waitForTimeout(300);
    await page.getByRole('button', { name: 'Cancel', exact: true }).click();
    await page.waitForSelector('.sql-status:has-text("Query cancelled.")', { timeout: 5000 });

    await page.fill('#sql-editor', 'SELECT drone_id, count(*) AS reports FROM reports GROUP BY drone_id ORDER BY reports DESC LIMIT 5');
    await page.getByLabel('Name', { exact: true }).fill('e2e-top-drones');
    await page.getByRole('button', { name: 'Save query' }).click();
    await page.waitForSelector('.saved-list button:has-text("e2e-top-drones")', { timeout: 10_000 });
    assert.equal(dw.platform.analysis!.saved!.get('default', 'e2e-top-drones').sql, 'SELECT drone_id, count(*) AS reports FROM reports GROUP BY drone_id ORDER BY reports DESC LIMIT 5', 'saved on the server');
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    await page.waitForFunction(() => document.querySelectorAll('#sql-result-table tbody tr').length === 5, undefined, { timeout: 20_000 });
    await page.getByLabel('Show a chart').check();
    await page.waitForSelector('.sql-result .chart canvas', { timeout: 5000 });
    await page.screenshot({ path: path.join(shots.dir, 'sql.png'), fullPage: true });
  });

  it('shows a statistic as a chart and exports it as CSV', async () => {
    await page.goto(`${dw.url}/#/stats`);
    // The archive writes the lake every second; the first run may find no alert yet.
    const deadline = Date.now() + 30_000;
    while (!(await page.$('.stat-result[data-stat="alerts-by-hour"] .chart canvas'))) {
      assert.ok(Date.now() < deadline, 'alerts-by-hour was charted within 30 s');
      await page.waitForTimeout(1000);
      if (!(await page.$('.stat-result[data-stat="alerts-by-hour"] .chart canvas'))) await page.getByRole('button', { name: 'Run', exact: true }).click();
      await page.waitForSelector('.stat-result[data-stat="alerts-by-hour"]', { timeout: 20_000 });
    }
    const rows = await page.$$eval('.stat-result .table-block tbody tr', (trs) => trs.length);
    assert.ok(rows >= 1, 'the statistic\'s table has rows');

    const [download] = await Promise.all([
      page.waitForEvent('download', { timeout: 20_000 }),
      page.getByRole('button', { name: 'Export CSV' }).click(),
    ]);
    assert.equal(download.suggestedFilename(), 'alerts-by-hour.csv', 'the export is named after the statistic');
    const csv = readFileSync((await download.path())!, 'utf8');
    const lines = csv.trim().split(/\r?\n/);
    assert.equal(lines[0], 'hour_of_day,alerts', 'CSV header');
    assert.ok(lines.length >= 2 && lines.slice(1).every((l) => /^\d+,\d+$/.test(l)), `CSV rows: ${csv.slice(0, 200)}`);

    await page.selectOption('.stat-pick select', 'hotspots');
    await page.waitForSelector('.stat-result[data-stat="hotspots"] path.dw-heat-cell', { timeout: 20_000 });
    await page.screenshot({ path: path.join(shots.dir, 'stats-hotspots.png') });
  });


  it('exports a query result as CSV and as Parquet', async () => {
    await page.goto(`${dw.url}/#/sql`);
    await page.fill('#sql-editor', "SELECT 'a,b' AS text, 7 AS n UNION ALL SELECT 'c', 8 ORDER BY n");
    await page.getByLabel('Name', { exact: true }).fill('two-rows');
    const [csv] = await Promise.all([page.waitForEvent('download', { timeout: 20_000 }), page.getByRole('button', { name: 'Export CSV' }).click()]);
    assert.equal(csv.suggestedFilename(), 'two-rows.csv', 'the file is named after the query');
    assert.equal(readFileSync((await csv.path())!, 'utf8'), 'text,n\r\n"a,b",7\r\nc,8\r\n', 'RFC 4180 CSV of the whole result');
    const [parquet] = await Promise.all([page.waitForEvent('download', { timeout: 20_000 }), page.getByRole('button', { name: 'Export Parquet' }).click()]);
    const bytes = readFileSync((await parquet.path())!);
    assert.equal(bytes.subarray(0, 4).toString(), 'PAR1', 'a Parquet file (magic number at the start)');
    assert.equal(bytes.subarray(-4).toString(), 'PAR1', 'a complete Parquet file (magic number at the end)');
  });

  it('takes statistic options and a time range', async () => {
    await page.goto(`${dw.url}/#/stats`);
    await page.waitForSelector('.stat-result', { timeout: 20_000 });
    await page.selectOption('.stat-pick select', 'top-words');
    await page.waitForSelector('.stat-result[data-stat="top-words"]', { timeout: 20_000 });
    await page.getByLabel('Rows', { exact: true }).fill('3');
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    await page.waitForFunction(() => document.querySelectorAll('.stat-result[data-stat="top-words"] .table-block tbody tr').length === 3, undefined, { timeout: 20_000 });
    // A period before any report: no rows, and the page says so instead of drawing an empty chart.
    await page.selectOption('.range select', 'custom');
    await page.getByLabel('From', { exact: true }).fill('2001-01-01T00:00');
    await page.getByLabel('To', { exact: true }).fill('2001-01-02T00:00');
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    await page.waitForSelector('.stat-result[data-stat="top-words"] .hint:has-text("0 rows")', { timeout: 20_000 });
    assert.ok(await page.$('text=Nothing to chart in this period.'), 'an empty period is said, not drawn');
  });

  it('shows no errors in the page', () => {
    assert.deepEqual(errors, [], 'no console errors or uncaught exceptions');
  });
});
