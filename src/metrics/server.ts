import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError } from '../errors/index.ts';
import { METRICS_CONTENT_TYPE, enableProcessMetrics, renderMetrics } from './registry.ts';

export interface MetricsListener {
  /** `http://host:port/metrics` */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * The metrics port (`metrics.port`): GET /metrics and nothing else, without authentication, for the workers that
 * serve no HTTP (`alerts`, `archive`) and for scrapers that reach every process on a private address. Listening on
 * 127.0.0.1 unless `metrics.host` says otherwise: whoever reaches the port reads every tenant's counters (no
 * personal data, but operational figures), so it belongs on a network only Prometheus reaches.
 */
export async function startMetricsListener(opts: { host: string; port: number }): Promise<MetricsListener> {
  enableProcessMetrics();
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0];
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 'DW_NOT_FOUND', message: 'only GET /metrics here' }));
      return;
    }
    renderMetrics().then((text) => {
      res.writeHead(200, { 'content-type': METRICS_CONTENT_TYPE }).end(req.method === 'HEAD' ? undefined : text);
    }, () => {
      res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 'DW_INTERNAL', message: 'metrics unavailable; see the log' }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(new ConfigError(`metrics: cannot listen on ${opts.host}:${opts.port} (${err.code ?? err.message}); choose another with --metrics-port`, [
        { field: 'metrics.port', reason: err.code ?? 'listen failed' },
      ]));
    });
    server.listen(opts.port, opts.host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${host}:${addr.port}/metrics`,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
