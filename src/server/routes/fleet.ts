import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { DronePosition, FleetStats } from '../../fleet/index.ts';
import type { FleetApi, PipelineStatus, ServerDeps } from '../types.ts';
import { openEventStream } from './sse.ts';


/** Positions on the wire: `[droneId, lat, lon, ts]`, a third of the size of objects for a 1,000-drone snapshot. */
type WirePosition = [string, number, number, number];

const wire = (p: DronePosition): WirePosition => [p.droneId, p.lat, p.lon, p.ts];

/** Fleet stats plus the lag of every consumer group the platform watches (alerts, archive) and of the tracker. */
export interface FleetHealth extends FleetStats {
  consumers: Record<string, number>;
  overloaded: boolean;
}

function health(fleet: FleetApi, status: (() => PipelineStatus) | undefined, stats = fleet.stats()): FleetHealth {
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

  app.get('/v1/fleet', async () => ({ drones: fleet.positions(), health: health(fleet, deps.status) }));

  app.get('/v1/fleet/drones/:id/track', {
    schema: { params: { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 64 } } } },
  }, async (req) => {
    const { id } = req.params as { id: string };
    return { droneId: id, track: fleet.track(id) };
  });

  app.get('/v1/fleet/stream', (req: FastifyRequest, reply: FastifyReply): void => {
    const stream = openEventStream(req, reply, 'dronewatch fleet');
    stream.send('snapshot', { drones: fleet.positions().map(wire), health: health(fleet, deps.status) });
    stream.onClose(fleet.onPositions((changed) => stream.send('positions', changed.map(wire))));
    stream.onClose(fleet.onStats((stats) => stream.send('health', health(fleet, deps.status, stats))));
  });
};
