// Compiles src/ to dist/ (one .js per .ts, same layout) so the CLI starts without compiling TypeScript: run by
// `npm ci`'s prepare step (web/prepare.mjs) and by `npm run build:cli`.
//
// esbuild (installed with tsx, a runtime dependency, so also present in `npm ci --omit=dev`) transpiles each file on
// its own: every import stays an import (relative ones rewritten from .ts to .js), nothing is bundled, so module
// boundaries, dynamic import() and import.meta.url behave as in src/. dist/ mirrors src/ at the same depth, which
// keeps paths relative to the repository (../../schema, ../../../web/dist) right; the other files of src/ (SQL of the
// statistics, stop words, plain .js worker bodies) are copied beside the output. No type checking here: `npm test`
// and `npm run typecheck` do that.
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { DIST, FORMAT, ROOT, SRC, STAMP, sourceState } from './dist-state.mjs';

/** Relative imports keep their module but point at the compiled file; packages and node: builtins stay imports. */
const keepImports = {
  name: 'keep-imports',
  setup(build) {
    build.onResolve({ filter: /.*/ }, (args) => {
      if (args.kind === 'entry-point') return undefined;
      if (args.path.startsWith('.')) return { path: args.path.replace(/\.ts$/, '.js'), external: true };
      return { path: args.path, external: true };
    });
  },
};

/**
 * For the start-up bundle (dist/bundle/): packages stay imports, and a module that finds files next to itself
 * (`new URL('./x', import.meta.url)`: SQL files, worker bodies, the schema, the dashboard) is given the URL of its own
 * per-file output instead of the chunk's, so those paths resolve as they do in src/.
 */
const bundleSources = {
  name: 'bundle-sources',
  setup(build) {
    build.onResolve({ filter: /.*/ }, (args) => (args.kind === 'entry-point' || args.path.startsWith('.') ? undefined : { path: args.path, external: true }));
    build.onLoad({ filter: /\.ts$/ }, (args) => {
      let contents = readFileSync(args.path, 'utf8');
      if (contents.includes('import.meta.url')) {
        const own = path.relative(SRC, args.path).replace(/\.ts$/, '.js').split(path.sep).join('/');
        contents = contents.replaceAll('import.meta.url', `new URL('../${own}', import.meta.url).href`);
      }
      return { contents, loader: 'ts' };
    });
  },
};

function files(dir, out = { ts: [], other: [] }) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) files(full, out);
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.ts.push(full);
    else out.other.push(full);
  }
  return out;
}

const WEEK_MS = 7 * 24 * 3600 * 1000;

function keepPreviousChunks(from, to) {
  let names;
  try {
    names = readdirSync(from);
  } catch {
    return; // no previous bundle
  }
  for (const name of names) {
    const file = path.join(from, name);
    // The entry (main.js) is the new build's; only content-named chunks are kept, with their own age.
    if (name.startsWith('main.') || existsSync(path.join(to, name)) || Date.now() - statSync(file).mtimeMs > WEEK_MS) continue;
    renameSync(file, path.join(to, name));
  }
}

/** Builds dist/ from src/; returns how many modules it compiled. Writes into a temporary directory, then swaps it in. */
export async function buildDist({ log = (m) => process.stdout.write(`${m}\n`) } = {}) {
  const esbuild = await import('esbuild');
  const t0 = performance.now();
  // Taken before compiling: a source edited during the build makes the stamp stale, not a silently old dist/.
  const state = sourceState();
  const tmp = `${DIST}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  const { ts, other } = files(SRC);
  await esbuild.build({
    entryPoints: ts,
    outdir: tmp,
    outbase: SRC,
    bundle: true, // with every import external: per-file output, but the plugin can rewrite the import paths
    plugins: [keepImports],
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: 'linked', // bin/dronewatch.js turns source maps on with DRONEWATCH_DEBUG=1 (stack traces name src/ lines)
    sourcesContent: false,
    logLevel: 'warning',
    absWorkingDir: ROOT,
  });
  // What bin/dronewatch.js loads: the CLI as one entry file plus chunks, one per set of modules that the commands import
  // lazily (esbuild's code splitting: each module still exists once). The start then reads a handful of files instead of
  // ~90 (a quarter less CPU for --help and users list). The per-file output above stays: worker threads, the bundle's
  // file-relative paths, and anyone importing a module of dist/ directly use it.
  await esbuild.build({
    entryPoints: [path.join(SRC, 'cli', 'main.ts')],
    outdir: path.join(tmp, 'bundle'),
    bundle: true,
    splitting: true,
    plugins: [bundleSources],
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: 'linked',
    sourcesContent: false,
    logLevel: 'warning',
    absWorkingDir: ROOT,
  });
  for (const f of other) {
    const to = path.join(tmp, path.relative(SRC, f));
    mkdirSync(path.dirname(to), { recursive: true });
    cpSync(f, to);
  }
  writeFileSync(path.join(tmp, 'package.json'), '{ "type": "module" }\n');
  writeFileSync(path.join(tmp, path.basename(STAMP)), `${JSON.stringify({ format: FORMAT, sourceNewest: state.newest, sourceEntries: state.entries, builtAt: new Date().toISOString() })}\n`);
  // A process started from the previous build (`dronewatch up`) may still import one of its chunks lazily (the S3 client
  // at its first upload, say): the previous chunks stay beside the new ones (their names are content hashes, so they
  // never replace a new one) and go after a week.
  keepPreviousChunks(path.join(DIST, 'bundle'), path.join(tmp, 'bundle'));
  // Swap: a CLI starting meanwhile sees the old complete dist/ or none (then it runs the sources), never half of one.
  const old = `${DIST}.old-${process.pid}`;
  try {
    renameSync(DIST, old);
  } catch {
    // no previous dist/
  }
  renameSync(tmp, DIST);
  rmSync(old, { recursive: true, force: true });
  log(`dronewatch: compiled ${ts.length} modules of src/ into dist/ in ${Math.round(performance.now() - t0)} ms (the CLI runs them; it falls back to src/ through tsx when src/ is newer)`);
  return ts.length;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await buildDist();
