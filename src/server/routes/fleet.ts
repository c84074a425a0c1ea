import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { DronePosition, FleetStats } from '../../fleet/index.ts';
import type { FleetApi, PipelineStatus, ServerDeps } from '../types.ts';
import { openEventStream } from './sse.ts';
import { tenantOf } from '../auth/tenant.ts';
import { fleetSchema, fleetStreamSchema, trackSchema } from './schemas/platform.ts';


/** Positions on the wire: `[droneId, lat, lon, ts]`, a third of the size of objects for a 1,000-drone snapshot. */
type WirePosition = [string, number, number, number];

const wire = (p: DronePosition): WirePosition => [p.droneId, p.lat, p.lon, p.ts];

/** Fleet stats plus the lag of every consumer group the platform watches (alerts, archive) and of the tracker. */
export interface FleetHealth extends FleetStats {
  consumers: Record<string, number>;
  overloaded: boolean;
}

function health(fleet: FleetApi, status: (() => PipelineStatus) | undefined, stats: FleetStats): FleetHealth {
  const s = status?.();
  return { ...stats, consumers: { ...(s?.lag ?? {}), fleet: stats.lag }, overloaded: s?.overloaded ?? false };
}

/**
 * The live fleet for the dashboard:
 * - `GET /v1/fleet`: every tracked drone's last position and the fleet health;
 * - `GET /v1/fleet/drones/:id/track`: a drone's recent positions, oldest first (empty if not tracked);
 * - `GET /v1/fleet/stream`: Server-Sent Events: `snapshot` (all positions and health) on connect, then `positions`
 *   (the drones that moved, at most every 250 ms) and `health` (every second).
 */
export const fleetRoutes: FastifyPluginAsync<{ deps: ServerDeps }> = async (app, { deps }) => {
  const fleet = deps.fleet;
  if (!fleet) return;

  // Every view is the caller's tenant's fleet only.
  app.get('/v1/fleet', { schema: fleetSchema }, async (req) => {
    const tenant = tenantOf(req, deps);
    return { drones: fleet.positions(tenant), health: health(fleet, deps.status, fleet.stats(tenant)) };
  });

  app.get('/v1/fleet/drones/:id/track', { schema: trackSchema }, async (req) => {
    const { id } = req.params as { id: string };
    return { droneId: id, track: fleet.track(id, tenantOf(req, deps)) };
  });

  app.get('/v1/fleet/stream', { schema: fleetStreamSchema }, (req: FastifyRequest, reply: FastifyReply): void => {
    const tenant = tenantOf(req, deps);
    const stream = openEventStream(req, reply, 'dronewatch fleet');
    stream.send('snapshot', { drones: fleet.positions(tenant).map(wire), health: health(fleet, deps.status, fleet.stats(tenant)) });
    stream.onClose(fleet.onPositions((changed) => {
      const mine = changed.filter((p) => p.tenant === tenant);
      if (mine.length > 0) stream.send('positions', mine.map(wire));
    }));
    stream.onClose(fleet.onStats(() => stream.send('health', health(fleet, deps.status, fleet.stats(tenant)))));
  });
};
