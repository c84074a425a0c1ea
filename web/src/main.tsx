import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { CriticalCue, setSound, soundEnabled } from './components/CriticalCue.tsx';
import { session } from './lib/api.ts';
import { useModel } from './lib/observable.ts';
import type { DashboardConfig, Permission } from './lib/types.ts';
import { HealthPage } from './pages/HealthPage.tsx';
import { LivePage } from './pages/LivePage.tsx';
import { LoginPage } from './pages/LoginPage.tsx';
import { RulesPage } from './pages/RulesPage.tsx';
import { SqlPage } from './pages/SqlPage.tsx';
import { StatsPage } from './pages/StatsPage.tsx';
import { alertsModel } from './state/alerts.ts';
import { authModel } from './state/auth.ts';
import { FALLBACK_CONFIG, loadConfig } from './state/config.ts';
import { fleetModel } from './state/fleet.ts';
import { incidentsModel } from './state/incidents.ts';
import { reactionModel } from './state/reaction.ts';
import { trackModel } from './state/track.ts';
import './styles.css';

type Route = 'live' | 'rules' | 'stats' | 'sql' | 'health';
interface RouteInfo { route: Route; href: string; label: string; needs: Permission }
/** Each page and the permission its API calls need (src/security/roles.ts): a page the user cannot use is not listed. */
const ROUTES: RouteInfo[] = [
  { route: 'live', href: '#/', label: 'Live', needs: 'alerts:read' },
  { route: 'rules', href: '#/rules', label: 'Rules', needs: 'rules:read' },
  { route: 'stats', href: '#/stats', label: 'Statistics', needs: 'analysis:query' },
  { route: 'sql', href: '#/sql', label: 'SQL', needs: 'analysis:query' },
  { route: 'health', href: '#/health', label: 'Fleet health', needs: 'fleet:read' },
];

/** Pages are addressed by the URL fragment, so the server serves one page and any link can be bookmarked. */
function routeOf(hash: string): Route {
  const path = hash.replace(/^#\/?/, '').split('?')[0];
  return (['rules', 'stats', 'sql', 'health'] as const).find((r) => r === path) ?? 'live';
}

/** The login page until there is a session, then the dashboard. */
function App() {
  useModel(authModel);
  useEffect(() => void authModel.check(), []);
  if (authModel.state === 'checking') return <p class="loading" role="status">Loading…</p>;
  if (authModel.state === 'login') return <LoginPage />;
  return <Dashboard />;
}

function Dashboard() {
  const allowed = ROUTES.filter((r) => authModel.can(r.needs));
  /** The start page (no fragment) is the first page the user may see: an analyst starts on the statistics. */
  const resolve = (): Route => {
    const r = routeOf(location.hash);
    if (r === 'live' && !/^#\/?[a-z]/.test(location.hash) && !authModel.can('alerts:read') && allowed[0]) {
      history.replaceState(null, '', allowed[0].href);
      return allowed[0].route;
    }
    return r;
  };
  const [route, setRoute] = useState<Route>(resolve);
  const [config, setConfig] = useState<DashboardConfig | null>(null);
  const [officer, setOfficer] = useState(session.officer());
  const [sound, setSoundState] = useState(soundEnabled());
  const me = authModel.me;
  const canAlerts = authModel.can('alerts:read');

  useEffect(() => {
    void loadConfig().then(setConfig, () => setConfig(FALLBACK_CONFIG));
    // Only the live data the user may read: a stream they may not open would be refused and retried for ever.
    if (authModel.can('fleet:read')) fleetModel.start();
    if (canAlerts) {
      incidentsModel.start();
      alertsModel.start();
      trackModel.start();
    }
    if (authModel.can('reaction-time:read')) reactionModel.start();
    const onHash = (): void => setRoute(resolve());
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);

  const info = ROUTES.find((r) => r.route === route)!;
  const permitted = authModel.can(info.needs);
  useEffect(() => {
    document.title = `${info.label} · dronewatch`;
    // A page change moves the focus to the page, as a full navigation would (screen readers announce the new page).
    if (document.activeElement?.closest('nav') || authModel.takeJustLoggedIn()) document.getElementById('content')?.focus();
  }, [route]);

  return (
    <>
      <a class="skip" href="#content" onClick={(e) => { e.preventDefault(); document.getElementById('content')?.focus(); }}>Skip to content</a>
      <header class="top">
        <span class="brand" aria-label="dronewatch">drone<b>watch</b></span>
        <nav aria-label="Pages">
          <ul>
            {allowed.map(({ route: r, href, label }) => (
              <li key={r}><a href={href} aria-current={route === r ? 'page' : undefined}>{label}</a></li>
            ))}
          </ul>
        </nav>
        <div class="top-tools">
          {me ? (
            <span class="who" data-user={me.name}>
              <span class="who-name">{me.name}</span>
              <span class="who-meta">{me.tenant} · {me.roles.join(', ') || 'no role'}</span>
            </span>
          ) : (
            <label class="officer" title="The server runs without authentication: changes record this name">
              Officer
              <input type="text" value={officer} placeholder="your name" maxLength={200} autoComplete="name"
                onInput={(e) => setOfficer((e.target as HTMLInputElement).value)}
                onChange={(e) => session.setOfficer((e.target as HTMLInputElement).value)} />
            </label>
          )}
          {canAlerts && (
            <button type="button" class="sound" aria-pressed={sound} onClick={() => { setSound(!sound); setSoundState(!sound); }}
              title="Two tones when a critical alert comes in">
              Sound {sound ? 'on' : 'off'}
            </button>
          )}
          <ConnectionBadge alerts={canAlerts} />
          {me && <button type="button" class="logout" onClick={() => void authModel.logout()}>Log out</button>}
        </div>
      </header>
      {canAlerts && <CriticalCue />}
      <main id="content" tabIndex={-1} class={`route-${permitted ? route : 'forbidden'}`}>
        {me?.roles.includes('admin') && !canAlerts && !authModel.can('analysis:query') && (
          <p class="notice admin-notice">
            Administrators see no personal data: no alerts, statistics or SQL console, only the fleet's health. Users,
            drone credentials and retention are managed with the <code>dronewatch</code> command and the API.
          </p>
        )}
        {!permitted ? <Forbidden info={info} allowed={allowed} />
          : !config ? <p class="loading">Loading…</p>
          : route === 'rules' ? <RulesPage config={config} />
          : route === 'stats' ? <StatsPage config={config} />
          : route === 'sql' ? <SqlPage />
          : route === 'health' ? <HealthPage />
          : <LivePage config={config} officer={me ? me.name : officer.trim()} />}
      </main>
    </>
  );
}

/** A page the user's roles do not open (a bookmark, a link from a colleague): say so rather than show errors. */
function Forbidden({ info, allowed }: { info: RouteInfo; allowed: RouteInfo[] }) {
  const roles = authModel.me?.roles.join(', ') || 'none';
  return (
    <div class="page forbidden-page" data-forbidden={info.route}>
      <h1>{info.label}: not available to your role</h1>
      <p>
        This page needs the permission <code>{info.needs}</code>, which your roles ({roles}) do not grant. Ask your
        supervisor or administrator if your work needs it.
      </p>
      {allowed.length > 0 && (
        <p>Your pages: {allowed.map((r, i) => <>{i > 0 && ', '}<a href={r.href}>{r.label}</a></>)}.</p>
      )}
    </div>
  );
}

/** Its own component so that live events re-render the badge, not the whole page. */
function ConnectionBadge({ alerts }: { alerts: boolean }) {
  useModel(alertsModel);
  useModel(fleetModel);
  const live = (!alerts || alertsModel.connected) && fleetModel.connected;
  return (
    <span class={`conn ${live ? 'up' : 'down'}`} role="status" aria-label={live ? 'Live: connected' : 'Reconnecting to the server'}>
      {live ? '● live' : '○ reconnecting'}
    </span>
  );
}

render(<App />, document.getElementById('app')!);
