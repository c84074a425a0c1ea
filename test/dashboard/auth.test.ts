import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { chromiumOrSkip, launchChromium } from '../../src/testkit/index.ts';
import { createUser, gatewayAuth, logIn, openDashboard, startDashboardPlatform, type Credentials, type DashboardPlatform } from './helpers.ts';

process.env.DRONEWATCH_LOG_LEVEL ??= 'warn';
const skip = chromiumOrSkip();

interface Answer { status: number; code: string | undefined }

/** A request made by the page itself (its cookie, its origin), optionally with the session's CSRF token from /v1/auth/me. */
async function fetchFromPage(page: Page, method: string, path: string, body?: unknown, withCsrf = false): Promise<Answer> {
  return page.evaluate(async ({ method, path, body, withCsrf }) => {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (withCsrf) {
      const me = (await (await fetch('/v1/auth/me')).json()) as { csrf?: string };
      if (me.csrf) headers['x-csrf-token'] = me.csrf;
    }
    const res = await fetch(path, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    const json = (await res.json().catch(() => ({}))) as { code?: string };
    return { status: res.status, code: json.code };
  }, { method, path, body, withCsrf });
}

const navLabels = (page: Page): Promise<string[]> => page.$$eval('header nav a', (as) => as.map((a) => a.textContent ?? ''));

/**
 * The dashboard with authentication on (issue 7), in chromium: the login form (errors, rate limit), what each role
 * sees, a reload keeping the session and its CSRF token, CSRF refusals, a session ended on the server, logout; and
 * the same dashboard on a server without authentication. Alerts are posted by the test with a gateway credential
 * (no simulator). One page goes through the whole story, as one officer's browser would.
 */
describe('dashboard with authentication, in chromium', { skip }, () => {
  let dw: DashboardPlatform;
  let browser: Browser;
  let officer: Credentials;
  let analyst: Credentials;
  let admin: Credentials;
  let context: BrowserContext;
  let page: Page;
  const uncaught: string[] = [];
  let alertId = '';

  before(async () => {
    dw = await startDashboardPlatform({ simulator: false, archive: true });
    const bootstrap = dw.platform.takeBootstrapCredential();
    assert.ok(bootstrap, 'the platform created a first administrator');
    admin = { username: bootstrap.username, password: bootstrap.password };
    officer = await createUser(dw.platform, 'olive', 'officer');
    analyst = await createUser(dw.platform, 'ana', 'analyst');
    const res = await fetch(`${dw.url}/v1/reports`, {
      method: 'POST', headers: { 'content-type': 'application/json', ...(await gatewayAuth(dw.platform)) },
      body: JSON.stringify({ droneId: 'drone-auth-1', timestamp: new Date().toISOString(), position: { lat: 48.857, lon: 2.352 }, citizens: [{ name: 'Aline Auth', score: 3 }], words: ['bonjour'] }),
    });
    assert.equal(res.status, 202, 'the gateway credential publishes a report');
    const deadline = Date.now() + 10_000;
    while (!alertId) {
      alertId = dw.platform.alertStore!.list({ limit: 10 }).find((a) => a.citizen === 'Aline Auth')?.alertId ?? '';
      assert.ok(alertId || Date.now() < deadline, 'the report raised an alert within 10 s');
      if (!alertId) await new Promise((r) => setTimeout(r, 50));
    }
    browser = await launchChromium();
    ({ context, page } = await openDashboard(browser, `${dw.url}/#/`, { width: 768, height: 1024 }));
    page.on('pageerror', (e) => uncaught.push(e.message));
  });

  after(async () => {
    await context?.close();
    await browser?.close();
    await dw?.cleanup();
  });

  it('shows the login page, not the dashboard, when nobody is logged in', async () => {
    await page.waitForSelector('form.login', { timeout: 10_000 });
    assert.equal(await page.$('header nav'), null, 'no navigation before the login');
    assert.equal(await page.$('li[data-alert-id]'), null, 'no alert before the login');
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('name')), 'username', 'the focus is in the user name field');
    assert.equal((await fetchFromPage(page, 'GET', '/v1/auth/me')).status, 401, 'the API says nobody is logged in');
    const width = await page.evaluate(() => ({ doc: document.documentElement.scrollWidth, win: window.innerWidth }));
    assert.ok(width.doc <= width.win, `the form fits a tablet (${width.doc} > ${width.win})`);
  });

  it('says so on a wrong password, and tells how long to wait once rate limited', async () => {
    assert.equal(await submitLogin(page, { username: officer.username, password: 'not the password' }), 401, 'the server refuses the password');
    assert.equal((await page.textContent('.login-error'))?.trim(), 'Wrong user name or password.', 'the error is shown');
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('name')), 'password', 'the focus goes back to the password');
    // A few failures per account (5 in 15 minutes, docs/security.md), then 429: an unknown name, so no account is locked.
    let status = 0;
    for (let i = 0; i < 10 && status !== 429; i++) status = await submitLogin(page, { username: 'mallory', password: `guess ${i}` });
    assert.equal(status, 429, 'repeated failures are rate limited');
    const text = (await page.textContent('.login-error')) ?? '';
    assert.match(text, /Too many failed attempts\. Wait \d+ s before trying again\./, `the wait is shown: ${text}`);
    assert.ok(await page.getByRole('button', { name: 'Log in' }).isDisabled(), 'the button waits too');
  });

  it('logs an officer in on the live page: name, tenant and role in the header, only the officer\'s pages', async () => {
    await page.reload();
    await page.waitForSelector('form.login');
    await logIn(page, officer);
    await page.waitForSelector(`li[data-alert-id="${alertId}"]`, { timeout: 10_000 });
    assert.equal((await page.textContent('header .who-meta'))?.trim(), 'default · officer', 'tenant and role shown');
    assert.deepEqual(await navLabels(page), ['Live', 'Rules', 'Fleet health'], 'an officer has the live page, the rules (read-only) and fleet health');
    assert.equal(await page.$('.reaction'), null, 'no reaction-time panel (supervisors only)');
    await page.click(`li[data-alert-id="${alertId}"] button`);
    await page.waitForSelector(`.detail[data-alert-id="${alertId}"]`);
    assert.equal(await page.getByLabel('Assign to').count(), 0, 'no Assign (supervisors only)');
  });

  it('keeps the session over a reload, and acknowledging still works (CSRF token recovered)', async () => {
    await page.reload();
    await page.waitForSelector(`li[data-alert-id="${alertId}"]`, { timeout: 10_000 });
    assert.equal(await page.$('form.login'), null, 'no login form after the reload');
    await page.click(`li[data-alert-id="${alertId}"] button`);
    await page.getByLabel('Note').fill('on my way');
    await page.getByRole('button', { name: 'Acknowledge', exact: true }).click();
    await page.waitForSelector('.detail .detail-status:has-text("acknowledged")', { timeout: 5000 });
    const stored = dw.platform.alertStore!.get(alertId)!;
    assert.deepEqual([stored.status, stored.acknowledgedBy, stored.note], ['acknowledged', officer.username, 'on my way'], 'the store has it, by the logged-in officer');
  });

  it('refuses a change made with the session cookie but without the CSRF header', async () => {
    const refused = await fetchFromPage(page, 'POST', `/v1/alerts/${alertId}/resolve`, { by: officer.username });
    assert.deepEqual(refused, { status: 403, code: 'DW_AUTH_CSRF' }, 'no x-csrf-token: refused');
    assert.equal(dw.platform.alertStore!.get(alertId)!.status, 'acknowledged', 'the alert was not resolved');
  });

  it('does not offer an officer the SQL console, says why on its address, and the API answers 403', async () => {
    await page.goto(`${dw.url}/#/sql`);
    const msg = (await page.textContent('.forbidden-page', { timeout: 5000 })) ?? '';
    assert.match(msg, /not available to your role.*analysis:query.*officer/s, `a clear message: ${msg}`);
    assert.equal(await page.$('#sql-editor'), null, 'no editor');
    const query = await fetchFromPage(page, 'POST', '/v1/query', { sql: 'SELECT 1', format: 'json' }, true);
    assert.deepEqual(query, { status: 403, code: 'DW_AUTH_FORBIDDEN' }, 'POST /v1/query is forbidden to an officer');
  });

  it('shows the login page when the session ends on the server, and logging in again returns to the same page', async () => {
    await page.goto(`${dw.url}/#/`);
    await page.waitForSelector(`li[data-alert-id="${alertId}"]`, { timeout: 5000 });
    // Disabling a user ends their sessions at once (docs/security.md); the page learns it from its next request.
    await dw.platform.security!.setDisabled(officer.username, true);
    await page.getByLabel('Status').selectOption('all');
    await page.waitForSelector('form.login', { timeout: 10_000 });
    assert.match((await page.textContent('form.login')) ?? '', /Your session has ended/, 'the login page says why');
    await dw.platform.security!.setDisabled(officer.username, false);
    await logIn(page, officer);
    await page.waitForSelector(`li[data-alert-id="${alertId}"]`, { timeout: 10_000 });
    assert.equal(await page.evaluate(() => location.hash), '#/', 'back on the live page');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'content', 'the focus moves to the page');
  });

  it('logs out: the login page again, and the API answers 401', async () => {
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForSelector('form.login', { timeout: 10_000 });
    assert.match((await page.textContent('form.login')) ?? '', /You are logged out\./, 'the login page says so');
    assert.deepEqual(await fetchFromPage(page, 'GET', '/v1/alerts'), { status: 401, code: 'DW_AUTH_REQUIRED' }, 'the old cookie no longer works');
  });

  it('takes an analyst back to the page asked for; no alerts, the statistics as start page', async () => {
    // A bookmark to the SQL console, opened while logged out: the analyst lands there after the login.
    await page.goto(`${dw.url}/#/sql`);
    await page.waitForSelector('form.login', { timeout: 10_000 });
    await logIn(page, analyst);
    await page.waitForSelector('#sql-editor', { timeout: 10_000 });
    assert.deepEqual(await navLabels(page), ['Statistics', 'SQL', 'Fleet health'], 'an analyst has statistics, SQL and fleet health');
    assert.equal(await page.$('button.sound'), null, 'no alert sound toggle');
    assert.deepEqual(await fetchFromPage(page, 'GET', '/v1/alerts'), { status: 403, code: 'DW_AUTH_FORBIDDEN' }, 'the alert list is forbidden to an analyst');
    // The start page (/, /#/: the live page of officers) of an analyst is the statistics.
    await page.goto(`${dw.url}/`);
    await page.waitForSelector('.stats-page', { timeout: 10_000 });
    assert.equal(await page.evaluate(() => location.hash), '#/stats', 'an analyst starts on the statistics');
    assert.equal(await page.$('li[data-alert-id], .live-page'), null, 'no live page, no alert');
    await page.goto(`${dw.url}/#/health`);
    await page.goto(`${dw.url}/#/`);
    await page.waitForFunction(() => location.hash === '#/stats', undefined, { timeout: 5000 });
  });

  it('shows an administrator the fleet health only, with a notice that admins see no personal data', async () => {
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForSelector('form.login', { timeout: 10_000 });
    await page.goto(`${dw.url}/`);
    await page.waitForSelector('form.login', { timeout: 10_000 });
    await logIn(page, admin);
    await page.waitForSelector('.health-page', { timeout: 10_000 });
    assert.equal(await page.evaluate(() => location.hash), '#/health', 'the start page of an admin is fleet health');
    assert.deepEqual(await navLabels(page), ['Fleet health'], 'an admin has fleet health only');
    assert.match((await page.textContent('.admin-notice')) ?? '', /see no personal data/, 'the notice is shown');
    await page.waitForSelector('[data-kpi="drones"]', { timeout: 10_000 });
    assert.deepEqual(uncaught, [], 'no uncaught exception in the page');
  });

  it('without authentication (`security.enabled: false`): no login, every page, the name typed in the top bar', async () => {
    const open = await startDashboardPlatform({ simulator: false, archive: true, config: { security: { enabled: false } } });
    const tab = await openDashboard(browser, open.url);
    try {
      await tab.page.waitForSelector('header .conn.up', { timeout: 10_000 });
      assert.equal(await tab.page.$('form.login'), null, 'no login form');
      assert.deepEqual(await navLabels(tab.page), ['Live', 'Rules', 'Statistics', 'SQL', 'Fleet health'], 'every page');
      assert.equal(await tab.page.getByLabel('Officer').count(), 1, 'the officer types a name');
      assert.equal(await tab.page.getByRole('button', { name: 'Log out' }).count(), 0, 'nothing to log out of');
    } finally {
      await tab.context.close();
      await open.cleanup();
    }
  });
});

/** Submits the login form with Enter; the status the server answered, once the form shows the outcome. */
async function submitLogin(page: Page, user: Credentials): Promise<number> {
  await page.getByLabel('User name').fill(user.username);
  await page.getByLabel('Password').fill(user.password);
  const [res] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/v1/auth/login'), { timeout: 5000 }),
    page.getByLabel('Password').press('Enter'),
  ]);
  await page.waitForFunction(() => !document.querySelector('form.login button[type="submit"]')?.textContent?.includes('Logging in') && document.querySelector('.login-error')?.textContent !== '', undefined, { timeout: 5000 });
  return res.status();
}
