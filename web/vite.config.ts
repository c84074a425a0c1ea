import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

/**
 * The officers' dashboard. `npm run build:web` (run by `npm ci` through the root `prepare` script) writes web/dist,
 * which the API server serves at `/`. `npm run dev:web` serves the sources with hot reload on :5173 and forwards the
 * API to a running `dronewatch up` on :8080 (DRONEWATCH_API to change it).
 */
export default defineConfig({
  root,
  base: '/',
  publicDir: 'public',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // Leaflet + uPlot + Preact + the app: one chunk of ~90 kB gzipped; no need to split.
    chunkSizeWarningLimit: 600,
    sourcemap: false,
  },
  server: {
    proxy: {
      '/v1': { target: process.env.DRONEWATCH_API ?? 'http://127.0.0.1:8080', changeOrigin: false },
      '/health': { target: process.env.DRONEWATCH_API ?? 'http://127.0.0.1:8080' },
      '/tiles': { target: process.env.DRONEWATCH_API ?? 'http://127.0.0.1:8080' },
    },
  },
});
