/** Policy validation and route matching: pure functions, every refusal naming its field. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isDwError } from '../../src/errors/index.ts';
import { compileZone } from '../../src/rules/geo.ts';
import { matchRoutes, nextDue, reachedTargets } from '../../src/notify/route.ts';
import { checkPolicy } from '../../src/notify/validate.ts';
import type { NotifyRoute, Page } from '../../src/notify/types.ts';
import { CITE, INSIDE, OUTSIDE } from '../rules/fixtures/zones.ts';

const fields = (f: () => unknown): string[] => {
  try {
    f();
  } catch (e) {
    assert.ok(isDwError(e) && e.code === 'DW_NOTIFY_INVALID', String(e));
    return (e.details ?? []).map((d) => d.field);
  }
  return assert.fail('accepted');
};

describe('notification policy validation', () => {
  it('names every field at fault at once', () => {
    assert.deepEqual(fields(() => checkPolicy({
      targets: [{ id: 'a', url: 'ftp://x' }, { id: 'b', url: 'http://127.0.0.1/b' }, { id: 'b', url: 'http://127.0.0.1/c' }, { id: 'c', url: 'http://127.0.0.1/c', timeoutMs: 5 }],
      routes: [
        { id: 'r1', targets: ['zz'], repeatMinutes: 0.5 },
        { id: 'r2', match: { severities: ['bad'] }, targets: ['b'], escalate: [{ afterMinutes: 10, targets: ['b'] }, { afterMinutes: 5, targets: ['b'] }] },
        { id: 'r3', subject: 'incident', match: { rules: ['x'] }, targets: ['b'], extra: 1 },
      ],
    })).sort(), ['routes[0].repeatMinutes', 'routes[0].targets[0]', 'routes[1].escalate[1].afterMinutes', 'routes[1].match.severities', 'routes[2].extra', 'routes[2].match.rules', 'targets[0].url', 'targets[2].id', 'targets[3].timeoutMs']);
  });

  it('keeps a target\'s secret when it is sent back without it (same id and URL), not when its URL changed', () => {
    const prev = { targets: [{ id: 'a', url: 'http://127.0.0.1/a', secret: 's' }] };
    assert.equal(checkPolicy({ targets: [{ id: 'a', url: 'http://127.0.0.1/a', hasSecret: true }], routes: [] }, prev).targets[0]!.secret, 's');
    assert.equal(checkPolicy({ targets: [{ id: 'a', url: 'http://127.0.0.1/other' }], routes: [] }, prev).targets[0]!.secret, undefined);
  });

  it('refuses a target outside notifications.allowedUrlPrefixes', () => {
    const allowed = ['https://hooks.example.org/'];
    assert.deepEqual(fields(() => checkPolicy({ targets: [{ id: 'a', url: 'http://169.254.169.254/latest' }], routes: [] }, undefined, allowed)), ['targets[0].url']);
    assert.equal(checkPolicy({ targets: [{ id: 'a', url: 'https://hooks.example.org/desk' }], routes: [] }, undefined, allowed).targets.length, 1);
  });

  it('compares a target with a prefix as URLs, not text: a prefix without its slash admits no other host', () => {
    const allowed = ['https://hooks.example.org'];
    for (const url of ['https://hooks.example.org.evil.example/x', 'https://hooks.example.org:8443/x', 'http://hooks.example.org/x']) {
      assert.deepEqual(fields(() => checkPolicy({ targets: [{ id: 'a', url }], routes: [] }, undefined, allowed)), ['targets[0].url'], url);
    }
    assert.equal(checkPolicy({ targets: [{ id: 'a', url: 'https://hooks.example.org/desk' }], routes: [] }, undefined, allowed).targets.length, 1);
    assert.deepEqual(fields(() => checkPolicy({ targets: [{ id: 'a', url: 'https://hooks.example.org/deskx' }], routes: [] }, undefined, ['https://hooks.example.org/desk/'])), ['targets[0].url']);
  });

  it('refuses user:password in a target URL (fetch would refuse it, and answers and logs would show it)', () => {
    for (const url of ['https://u:p@hooks.example.org/x', 'https://hooks.example.org@169.254.169.254/', 'https://u:100%@hooks.example.org/']) {
      let reasons: string[] = [];
      try {
        checkPolicy({ targets: [{ id: 'a', url }], routes: [] });
      } catch (e) {
        reasons = isDwError(e) ? (e.details ?? []).map((d) => `${d.field}: ${d.reason}`) : [String(e)];
      }
      assert.equal(reasons.length, 1, url);
      assert.match(reasons[0]!, /^targets\[0\]\.url: (must not hold user:password|must be an http)/, url);
    }
  });
});

describe('route matching', () => {
  const zones = new Map([['cite', compileZone('cite', CITE)]]);
  const routes: NotifyRoute[] = [
    { id: 'crit', match: { severities: ['critical'] }, targets: ['a'], continue: true },
    { id: 'cite', match: { zones: ['cite'] }, targets: ['b'] },
    { id: 'rule', match: { rules: ['words:0'] }, targets: ['c'] },
    { id: 'all', match: {}, targets: ['d'] },
  ];
  const ids = (a: Parameters<typeof matchRoutes>[1]): string[] => matchRoutes(routes, a, zones).map((r) => r.id);
  it('first match wins; continue goes on', () => {
    assert.deepEqual(ids({ severity: 'critical', rule: 'x', position: INSIDE }), ['crit', 'cite']);
    assert.deepEqual(ids({ severity: 'critical', rule: 'x', position: OUTSIDE }), ['crit', 'all']);
    assert.deepEqual(ids({ severity: 'warning', rule: 'words:0', position: OUTSIDE }), ['rule']);
    assert.deepEqual(ids({ severity: 'warning', position: OUTSIDE }), ['all'], 'no rule (an incident): rule routes never match');
    assert.deepEqual(matchRoutes([{ id: 'gone', match: { zones: ['removed'] }, targets: ['a'] }], { severity: 'info', position: INSIDE }, zones), [], 'a zone the rules no longer have matches nothing');
  });

  it('a page is due at its next level or repeat, whichever comes first; reached targets grow with the levels', () => {
    const p: Page = { tenant: 't', subject: 'alert', subjectId: 'x', routeId: 'r', route: { targets: ['a'], repeatMinutes: 3, escalate: [{ afterMinutes: 5, targets: ['b'] }, { afterMinutes: 10, targets: ['c'] }] }, raisedAt: 0, level: 0, repeats: 0, lastSentAt: 0, nextAt: null, done: false };
    assert.equal(nextDue(p, 1000), 3000);
    assert.equal(nextDue({ ...p, lastSentAt: 3000 }, 1000), 5000);
    assert.equal(nextDue({ ...p, level: 2, lastSentAt: 10_000 }, 1000), 13_000);
    assert.equal(nextDue({ ...p, done: true }, 1000), null);
    assert.equal(nextDue({ ...p, route: { targets: ['a'] } }, 1000), null, 'nothing scheduled');
    assert.deepEqual(reachedTargets({ ...p, level: 1 }), ['a', 'b']);
  });
});
