// Run by the root package's `prepare` script, i.e. by `npm ci` / `npm install`: builds the dashboard into web/dist,
// which the API server serves. An install without dev dependencies (`npm ci --omit=dev`) has no Vite: it says so and
// succeeds, and the server then answers `/` with how to build it. A real build error fails the install.
//
// First it compiles the CLI into dist/ (bin/build-dist.mjs), so that `dronewatch` starts without compiling TypeScript.
// That needs only esbuild, which tsx (a runtime dependency) installs, so it runs in an install without dev dependencies
// too; a syntax error in src/ fails the install, as a dashboard build error does.
import { fileURLToPath } from 'node:url';
import { buildDist } from '../bin/build-dist.mjs';

await buildDist();

let vite;
try {
  vite = await import('vite');
} catch {
  console.warn('dronewatch: Vite is not installed (install without dev dependencies?); the dashboard was not built. Run `npm run build:web` where it is.');
  process.exit(0);
}
await vite.build({ configFile: fileURLToPath(new URL('./vite.config.ts', import.meta.url)), logLevel: process.env.CI ? 'warn' : 'info' });
