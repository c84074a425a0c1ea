import { AlertDetail } from '../components/AlertDetail.tsx';
import { AlertFeed } from '../components/AlertFeed.tsx';
import { IncidentFeed } from '../components/IncidentFeed.tsx';
import { LiveMap } from '../components/LiveMap.tsx';
import { ReactionPanel } from '../components/ReactionPanel.tsx';
import type { DashboardConfig } from '../lib/types.ts';
import { authModel } from '../state/auth.ts';

/**
 * The officers' main page: the incident feed first (what a control room acts on), the live map with incidents and
 * alerts, the selected alert, the alert feed, the reaction-time panel.
 */
export function LivePage({ config, officer }: { config: DashboardConfig; officer: string }) {
  return (
    <div class="live-page">
      <h1 class="sr-only">Live map, incidents and alerts</h1>
      <div class="live-map-cell"><LiveMap config={config} /></div>
      <div class="live-side">
        <IncidentFeed officer={officer} />
        <AlertDetail officer={officer} />
        <AlertFeed />
      </div>
      {/* Reaction times are a supervisor's figures (reaction-time:read). */}
      {authModel.can('reaction-time:read') && <div class="live-bottom"><ReactionPanel /></div>}
    </div>
  );
}
