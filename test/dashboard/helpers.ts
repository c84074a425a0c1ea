import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { validateConfig, type ConfigInput } from '../../src/config/index.ts';
import { Platform, type PlatformComponents } from '../../src/runtime/platform.ts';
import { tempDir } from '../../src/testkit/index.ts';

export interface Credentials {
  username: string;
  password: string;
}

export interface DashboardPlatform {
  platform: Platform;
  url: string;
  dataDir: string;
  /** A supervisor (every page, every action), created at start (empty with `security.enabled: false`). */
  supervisor: Credentials;
  cleanup: () => Promise<void>;
}

/**
 * Password hashing at a test's cost: the production parameters (docs/security.md) take ~0.3 s and 128 MiB per hash,
 * which these tests are not about. Exported for the tests that create their own users.
 */
export const TEST_SCRYPT = { log2N: 10, r: 8, p: 1 };
const TENANT = 'default';

/**
 * The whole platform in this process, as `dronewatch up` runs it (simulator, alert worker, archive, HTTP API with
 * the dashboard), with authentication on, in a temp dir on a free port. The lake is written every second and
 * re-listed by the API every second, so statistics see the data quickly.
 */
export async function startDashboardPlatform(opts: { drones?: number; speed?: number; simulator?: boolean; archive?: true | 'thread'; config?: ConfigInput } = {}): Promise<DashboardPlatform> {
  const tmp = tempDir('dw-dashboard-');
  const config = validateConfig({
    security: { enabled: true },
    ...opts.config,
    dataDir: tmp.dir,
    http: { port: 0, host: '127.0.0.1' },
    simulator: { drones: opts.drones ?? 1000, speed: opts.speed ?? 60 },
    archive: { maxBatchAgeMs: 1000 },
    analysis: { refreshSeconds: 1 },
  });
  const platform = await Platform.open(config, { scrypt: TEST_SCRYPT });
  const components: PlatformComponents = {
    // `up` runs the archive in a worker thread; tests may keep it on this thread (a thread compiles the sources again).
    alerts: true, archive: opts.archive ?? 'thread', http: 'api',
    ...(opts.simulator === false ? {} : { simulator: { mode: 'accelerated' } }),
  };
  try {
    await platform.start(components);
  } catch (e) {
    await platform.stop();
    tmp.cleanup();
    throw e;
  }
  let supervisor: Credentials;
  try {
    // Without authentication (a test may turn it off) there is nobody to log in: every page is open.
    supervisor = platform.security ? await createUser(platform, 'sup', 'supervisor') : { username: '', password: '' };
  } catch (e) {
    await platform.stop();
    tmp.cleanup();
    throw e;
  }
  return {
    platform,
    url: platform.address ?? '',
    dataDir: tmp.dir,
    supervisor,
    cleanup: async () => {
      await platform.stop();
      tmp.cleanup();
    },
  };
}

/** A user of the platform's tenant with one role and a password of its own. */
export async function createUser(platform: Platform, username: string, role: 'officer' | 'analyst' | 'supervisor' | 'admin'): Promise<Credentials> {
  const password = `pw of ${username} for the dashboard tests`;
  await platform.security!.createUser({ tenant: TENANT, username, roles: [role], password });
  return { username, password };
}

/** `authorization` header of a gateway credential: reports for any drone of the tenant, as a test posts them. */
export async function gatewayAuth(platform: Platform): Promise<{ authorization: string }> {
  return { authorization: `Bearer ${(await platform.security!.registerDrone(TENANT, '*')).token}` };
}

/** Logs in through the login form the page shows (Enter submits), and waits for the dashboard's top bar. */
export async function logIn(page: Page, user: Credentials): Promise<void> {
  await page.getByLabel('User name').fill(user.username);
  await page.getByLabel('Password').fill(user.password);
  await page.getByLabel('Password').press('Enter');
  await page.waitForSelector(`header .who[data-user="${user.username}"]`, { timeout: 10_000 });
}

/** A laptop-sized page (1440 x 900) that accepts downloads, in `locale`/`timezoneId` when given; logged in through the form when `login` is given. */
export async function openDashboard(browser: Browser, url: string, viewport = { width: 1440, height: 900 }, opts: { initScript?: () => void; reducedMotion?: 'reduce' | 'no-preference'; login?: Credentials; locale?: string; timezoneId?: string } = {}): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({
    viewport, acceptDownloads: true, reducedMotion: opts.reducedMotion ?? 'reduce',
    // The browser's language and time zone (a French officer's: fr-FR, Europe/Paris); Chromium's own otherwise.
    ...(opts.locale ? { locale: opts.locale } : {}), ...(opts.timezoneId ? { timezoneId: opts.timezoneId } : {}),
  });
  const page = await context.newPage();
  if (opts.initScript) await page.addInitScript(opts.initScript);
  await page.goto(url, { waitUntil: 'domcontentloaded' });
  if (opts.login) {
    await page.waitForSelector('form.login', { timeout: 10_000 });
    await logIn(page, opts.login);
  }
  return { context, page };
}

/** Collects the page's console errors and uncaught exceptions (a test asserts there are none). */
export function pageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  return errors;
}

export const PAGES = [
  { name: 'live', hash: '#/', ready: 'li[data-alert-id]' },
  { name: 'stats', hash: '#/stats', ready: '.stat-result' },
  { name: 'sql', hash: '#/sql', ready: 'details.schema[data-view="reports"]' },
  { name: 'health', hash: '#/health', ready: '[data-kpi="rps"]' },
] as const;

/**
 * A screenshot of each page into `dir` (login.png, live.png, live-alert.png, stats.png, stats-hotspots.png, sql.png,
 * health.png), logging in as `user` (a supervisor sees every page) on a page not logged in yet.
 * The platform must have run long enough for alerts and lake files to exist.
 */
export async function takeScreenshots(page: Page, url: string, dir: string, user: Credentials): Promise<string[]> {
  mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  const shot = async (name: string): Promise<void> => {
    await dismissCue(page);
    const file = path.join(dir, `${name}.png`);
    await page.screenshot({ path: file, fullPage: false });
    files.push(file);
  };
  await page.goto(`${url}/#/`, { waitUntil: 'domcontentloaded' });
  await page.waitForSelector('form.login', { timeout: 10_000 });
  await page.getByLabel('User name').fill(user.username);
  await page.waitForTimeout(300);
  await shot('login');
  await logIn(page, user);
  await page.waitForSelector('li[data-alert-id]', { timeout: 30_000 });
  await page.waitForTimeout(1500);
  await shot('live');
  await page.click('li[data-alert-id] button');
  await page.waitForSelector('.detail[data-alert-id]');
  await page.waitForTimeout(800);
  await shot('live-alert');

  await page.goto(`${url}/#/stats`, { waitUntil: 'domcontentloaded' });
  await page.waitForSelector('.stat-result[data-stat="alerts-by-hour"]', { timeout: 30_000 });
  await page.selectOption('.stat-pick select', 'top-words');
  await page.waitForSelector('.stat-result[data-stat="top-words"] .chart canvas', { timeout: 30_000 });
  await page.waitForTimeout(300);
  await shot('stats');
  await page.selectOption('.stat-pick select', 'hotspots');
  await page.waitForSelector('.stat-result[data-stat="hotspots"] path.dw-heat-cell', { timeout: 30_000 });
  await page.waitForTimeout(300);
  await shot('stats-hotspots');

  await page.goto(`${url}/#/sql`, { waitUntil: 'domcontentloaded' });
  await page.waitForSelector('details.schema[data-view="reports"]', { timeout: 30_000 });
  await page.fill('#sql-editor', 'SELECT drone_id, count(*) AS reports, min(min_score) AS lowest_score\nFROM reports\nGROUP BY drone_id\nORDER BY lowest_score\nLIMIT 12');
  await page.getByRole('button', { name: 'Run', exact: true }).click();
  await page.waitForSelector('#sql-result-table tbody tr', { timeout: 30_000 });
  await page.getByLabel('Show a chart').check();
  await page.waitForSelector('.sql-result .chart canvas');
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.waitForTimeout(300);
  await dismissCue(page);
  const file = path.join(dir, 'sql.png');
  await page.screenshot({ path: file, fullPage: true });
  files.push(file);

  await page.goto(`${url}/#/health`, { waitUntil: 'domcontentloaded' });
  await page.waitForSelector('[data-kpi="rps"]');
  await page.waitForTimeout(6000);
  await shot('health');
  return files;
}

/** Closes the critical-alert banner so that it does not cover a screenshot. */
async function dismissCue(page: Page): Promise<void> {
  const b = page.getByRole('button', { name: 'Dismiss critical alert banner' });
  if (await b.count()) await b.click().catch(() => undefined);
  // Away from the feed: a pointer over it holds the rows still ("N new alerts: show").
  await page.mouse.move(300, 400);
  await page.evaluate(() => document.querySelector('header.top')?.classList.remove('alarm'));
  await page.waitForTimeout(400);
}
