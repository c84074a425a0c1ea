import { getJson } from '../lib/api.ts';
import type { DashboardConfig } from '../lib/types.ts';

/** Paris, as the server's default, for the moment before the config arrives (or if it cannot be read). */
export const FALLBACK_CONFIG: DashboardConfig = {
  tileUrl: null, tileAttribution: '', tileMaxZoom: 19, bbox: [48.815, 2.225, 48.902, 2.47], alertThreshold: 20, criticalThreshold: 5,
};

let loaded: Promise<DashboardConfig> | undefined;

/** GET /v1/dashboard/config, once per page. */
export function loadConfig(): Promise<DashboardConfig> {
  loaded ??= getJson<DashboardConfig>('/v1/dashboard/config').catch(() => FALLBACK_CONFIG);
  return loaded;
}
