import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { CriticalCue, setSound, soundEnabled } from './components/CriticalCue.tsx';
import { session } from './lib/api.ts';
import { useModel } from './lib/observable.ts';
import type { DashboardConfig } from './lib/types.ts';
import { HealthPage } from './pages/HealthPage.tsx';
import { LivePage } from './pages/LivePage.tsx';
import { SqlPage } from './pages/SqlPage.tsx';
import { StatsPage } from './pages/StatsPage.tsx';
import { alertsModel } from './state/alerts.ts';
import { FALLBACK_CONFIG, loadConfig } from './state/config.ts';
import { fleetModel } from './state/fleet.ts';
import { reactionModel } from './state/reaction.ts';
import { trackModel } from './state/track.ts';
import './styles.css';

type Route = 'live' | 'stats' | 'sql' | 'health';
const ROUTES: [Route, string, string][] = [
  ['live', '#/', 'Live'],
  ['stats', '#/stats', 'Statistics'],
  ['sql', '#/sql', 'SQL'],
  ['health', '#/health', 'Fleet health'],
];

/** Pages are addressed by the URL fragment, so the server serves one page and any link can be bookmarked. */
function routeOf(hash: string): Route {
  const path = hash.replace(/^#\/?/, '').split('?')[0];
  return (['stats', 'sql', 'health'] as const).find((r) => r === path) ?? 'live';
}

function App() {
  const [route, setRoute] = useState<Route>(routeOf(location.hash));
  const [config, setConfig] = useState<DashboardConfig | null>(null);
  const [officer, setOfficer] = useState(session.officer());
  const [sound, setSoundState] = useState(soundEnabled());

  useEffect(() => {
    void loadConfig().then(setConfig, () => setConfig(FALLBACK_CONFIG));
    alertsModel.start();
    fleetModel.start();
    reactionModel.start();
    trackModel.start();
    const onHash = (): void => setRoute(routeOf(location.hash));
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);

  useEffect(() => {
    const label = ROUTES.find((r) => r[0] === route)![2];
    document.title = `${label} · dronewatch`;
    // A page change moves the focus to the page, as a full navigation would (screen readers announce the new page).
    if (document.activeElement?.closest('nav')) document.getElementById('content')?.focus();
  }, [route]);

  return (
    <>
      <a class="skip" href="#content" onClick={(e) => { e.preventDefault(); document.getElementById('content')?.focus(); }}>Skip to content</a>
      <header class="top">
        <span class="brand" aria-label="dronewatch">drone<b>watch</b></span>
        <nav aria-label="Pages">
          <ul>
            {ROUTES.map(([r, href, label]) => (
              <li key={r}><a href={href} aria-current={route === r ? 'page' : undefined}>{label}</a></li>
            ))}
          </ul>
        </nav>
        <div class="top-tools">
          <label class="officer">
            Officer
            <input type="text" value={officer} placeholder="your name" maxLength={200} autoComplete="name"
              onInput={(e) => setOfficer((e.target as HTMLInputElement).value)}
              onChange={(e) => session.setOfficer((e.target as HTMLInputElement).value)} />
          </label>
          <button type="button" class="sound" aria-pressed={sound} onClick={() => { setSound(!sound); setSoundState(!sound); }}
            title="Two tones when a critical alert comes in">
            Sound {sound ? 'on' : 'off'}
          </button>
          <ConnectionBadge />
        </div>
      </header>
      <CriticalCue />
      <main id="content" tabIndex={-1} class={`route-${route}`}>
        {!config ? <p class="loading">Loading…</p>
          : route === 'stats' ? <StatsPage config={config} />
          : route === 'sql' ? <SqlPage />
          : route === 'health' ? <HealthPage />
          : <LivePage config={config} officer={officer.trim()} />}
      </main>
    </>
  );
}

/** Its own component so that live events re-render the badge, not the whole page. */
function ConnectionBadge() {
  useModel(alertsModel);
  useModel(fleetModel);
  const live = alertsModel.connected && fleetModel.connected;
  return (
    <span class={`conn ${live ? 'up' : 'down'}`} role="status" aria-label={live ? 'Live: connected' : 'Reconnecting to the server'}>
      {live ? '● live' : '○ reconnecting'}
    </span>
  );
}

render(<App />, document.getElementById('app')!);
