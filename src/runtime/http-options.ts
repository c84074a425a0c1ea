/** What a platform's HTTP server is built and bound with, read from its configuration (src/runtime/platform.ts). */
import type { FastifyInstance } from 'fastify';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/index.ts';
import { ConfigError } from '../errors/index.ts';
import { DEFAULT_DASHBOARD_DIR, type DashboardOptions } from '../server/index.ts';

/** The TLS certificate and key of `http.tlsCert` / `http.tlsKey`, read at start (both or neither). */
export function tlsFiles(http: Pick<Config['http'], 'tlsCert' | 'tlsKey'>): { cert: Buffer; key: Buffer } | undefined {
  const { tlsCert, tlsKey } = http;
  if (tlsCert === undefined && tlsKey === undefined) return undefined;
  if (tlsCert === undefined || tlsKey === undefined) {
    throw new ConfigError('http.tlsCert and http.tlsKey go together: set both (PEM files) or neither', [
      { field: tlsCert === undefined ? 'http.tlsCert' : 'http.tlsKey', reason: 'required with the other' },
    ]);
  }
  const read = (file: string, field: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (e) {
      throw new ConfigError(`${field}: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? 'error'})`, [{ field, reason: 'unreadable file' }]);
    }
  };
  return { cert: read(tlsCert, 'http.tlsCert'), key: read(tlsKey, 'http.tlsKey') };
}

/** The dashboard's files, tiles and the settings its client reads (`dashboard`, and the alert thresholds it colours by). */
export function dashboardOptions(config: Pick<Config, 'dashboard' | 'alerts'>): DashboardOptions {
  const d = config.dashboard;
  const tileDir = d.tileDir ? path.resolve(d.tileDir) : undefined;
  return {
    dir: d.dir ? path.resolve(d.dir) : DEFAULT_DASHBOARD_DIR,
    ...(tileDir ? { tileDir } : {}),
    client: {
      tileUrl: d.tileUrl ?? (tileDir ? '/tiles/{z}/{x}/{y}.png' : null),
      tileAttribution: d.tileAttribution,
      tileMaxZoom: d.tileMaxZoom,
      bbox: d.bbox,
      alertThreshold: config.alerts.threshold,
      criticalThreshold: config.alerts.criticalThreshold,
    },
  };
}

/** Listens on `http.host:http.port`; an address that cannot be bound is a configuration error naming the option. */
export async function listenOn(server: FastifyInstance, http: Pick<Config['http'], 'host' | 'port'>): Promise<string> {
  try {
    return await server.listen({ port: http.port, host: http.host });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
      throw new ConfigError(`http: cannot listen on ${http.host}:${http.port} (${code}); choose another with --port / DRONEWATCH_PORT or --host`, [
        { field: 'http.port', reason: code },
      ]);
    }
    throw err;
  }
}
