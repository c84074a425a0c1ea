import { AlertDetail } from '../components/AlertDetail.tsx';
import { AlertFeed } from '../components/AlertFeed.tsx';
import { LiveMap } from '../components/LiveMap.tsx';
import { ReactionPanel } from '../components/ReactionPanel.tsx';
import type { DashboardConfig } from '../lib/types.ts';
import { authModel } from '../state/auth.ts';

/** The officers' main page: the live map, the alert feed, the selected alert, the reaction-time panel. */
export function LivePage({ config, officer }: { config: DashboardConfig; officer: string }) {
  return (
    <div class="live-page">
      <h1 class="sr-only">Live map and alerts</h1>
      <div class="live-map-cell"><LiveMap config={config} /></div>
      <div class="live-side">
        <AlertDetail officer={officer} />
        <AlertFeed />
      </div>
      {/* Reaction times are a supervisor's figures (reaction-time:read). */}
      {authModel.can('reaction-time:read') && <div class="live-bottom"><ReactionPanel /></div>}
    </div>
  );
}
