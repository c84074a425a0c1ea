import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { DashboardOptions, ServerDeps } from '../types.ts';
import { assetSchema, dashboardConfigSchema, notBuiltSchema, tileSchema } from './schemas/platform.ts';

/** Where `npm run build:web` (run by `npm ci` through `prepare`) writes the front end. */
export const DEFAULT_DASHBOARD_DIR = fileURLToPath(new URL('../../../web/dist/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.geojson': 'application/geo+json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};
const COMPRESSIBLE = new Set(['.html', '.js', '.mjs', '.css', '.json', '.geojson', '.svg', '.txt', '.map']);

interface Asset {
  body: Buffer;
  gzip: Buffer | undefined;
  type: string;
  etag: string;
  cacheControl: string;
}

/** Every file under `dir`, read once at start-up: the whole front end is a few hundred kilobytes. */
function loadAssets(dir: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  const walk = (sub: string): void => {
    for (const name of readdirSync(path.join(dir, sub))) {
      const rel = sub ? `${sub}/${name}` : name;
      const full = path.join(dir, rel);
      if (statSync(full).isDirectory()) {
        walk(rel);
        continue;
      }
      const ext = path.extname(name).toLowerCase();
      const body = readFileSync(full);
      const gz = COMPRESSIBLE.has(ext) && body.length > 1024 ? gzipSync(body, { level: 9 }) : undefined;
      assets.set(`/${rel}`, {
        body,
        gzip: gz && gz.length < body.length ? gz : undefined,
        type: TYPES[ext] ?? 'application/octet-stream',
        etag: `"${createHash('sha1').update(body).digest('base64url').slice(0, 16)}"`,
        // Vite puts a content hash in every file name under assets/: they never change. index.html must be revalidated.
        cacheControl: rel.startsWith('assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
      });
    }
  };
  walk('');
  return assets;
}

/** The page's Content-Security-Policy: everything from this server, plus images from the configured tile server. */
function contentSecurityPolicy(tileUrl: string | null): string {
  let tiles = '';
  if (tileUrl && /^https?:\/\//i.test(tileUrl)) {
    try {
      tiles = ` ${new URL(tileUrl.replace('{s}', 'tile-subdomain')).origin.replace('tile-subdomain', '*')}`;
    } catch {
      tiles = '';
    }
  }
  return [
    "default-src 'self'",
    `img-src 'self' data: blob:${tiles}`,
    "style-src 'self' 'unsafe-inline'",
    "script-src 'self'",
    "connect-src 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'self'",
  ].join('; ');
}

const NOT_BUILT = (dir: string): string => `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>dronewatch</title></head>
<body style="font-family:sans-serif;max-width:40rem;margin:3rem auto;line-height:1.5">
<h1>The dashboard is not built</h1>
<p>No <code>index.html</code> in <code>${dir.replace(/[<>&]/g, '')}</code>. <code>npm ci</code> builds it (the <code>prepare</code>
script); after an install without dev dependencies, run <code>npm run build:web</code> where they are installed.</p>
<p>The HTTP API works without it: <a href="/health">/health</a>, <code>/v1/alerts</code>, <code>/v1/query</code>.</p></body></html>`;

/**
 * The officers' dashboard: the files Vite built (web/dist), served from memory with ETags, gzip and long-lived
 * caching of the content-hashed assets; `GET /v1/dashboard/config` (tile server, initial view, thresholds); and, when
 * `tileDir` is set, a local raster tile set under /tiles/{z}/{x}/{y}.png for networks without internet.
 * Pages are addressed by the URL fragment (`/#/stats`), so the server only knows `/` and the assets.
 */
export const dashboardRoutes: FastifyPluginAsync<{ deps: ServerDeps }> = async (app, { deps }) => {
  const opts: DashboardOptions | undefined = deps.dashboard;
  if (!opts) return;

  app.get('/v1/dashboard/config', { schema: dashboardConfigSchema }, async (_req, reply) => reply.header('cache-control', 'no-cache').send(opts.client));

  const csp = contentSecurityPolicy(opts.client.tileUrl);
  const built = existsSync(path.join(opts.dir, 'index.html'));
  if (!built) {
    app.log.warn({ dir: opts.dir }, 'dashboard not built: GET / explains how to build it');
    app.get('/', { schema: notBuiltSchema }, async (_req, reply) => reply.status(503).type('text/html; charset=utf-8').send(NOT_BUILT(opts.dir)));
  } else {
    const assets = loadAssets(opts.dir);
    const send = (asset: Asset, req: FastifyRequest, reply: FastifyReply): FastifyReply => {
      reply.header('etag', asset.etag).header('cache-control', asset.cacheControl).header('x-content-type-options', 'nosniff').type(asset.type);
      if (asset.type.startsWith('text/html')) reply.header('content-security-policy', csp).header('referrer-policy', 'no-referrer');
      if (req.headers['if-none-match'] === asset.etag) return reply.status(304).send();
      const gzip = asset.gzip && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
      reply.header('vary', 'accept-encoding');
      if (gzip) reply.header('content-encoding', 'gzip');
      return reply.send(gzip ? asset.gzip : asset.body);
    };
    for (const [url, asset] of assets) {
      app.get(url, { schema: assetSchema(url, asset.type) }, async (req, reply) => send(asset, req, reply));
      if (url === '/index.html') app.get('/', { schema: assetSchema('/', asset.type) }, async (req, reply) => send(asset, req, reply));
    }
  }

  const tileDir = opts.tileDir;
  if (tileDir) {
    app.get('/tiles/:z/:x/:file', { schema: tileSchema }, async (req, reply) => {
      const { z, x, file } = req.params as { z: string; x: string; file: string };
      const m = /^(\d{1,8})\.(png|jpg|jpeg|webp)$/.exec(file);
      // Digits only: a request cannot name a file outside the tile directory.
      if (!/^\d{1,2}$/.test(z) || !/^\d{1,8}$/.test(x) || !m) return reply.status(404).send({ code: 'DW_NOT_FOUND', message: 'no such tile' });
      try {
        const body = await readFile(path.join(tileDir, z, x, file));
        return reply.header('cache-control', 'public, max-age=86400').type(TYPES[`.${m[2]}`]!).send(body);
      } catch {
        return reply.status(404).send({ code: 'DW_NOT_FOUND', message: 'no such tile' });
      }
    });
  }
};
