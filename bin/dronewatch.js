#!/usr/bin/env node
// Runs the compiled CLI in dist/ (built by `npm ci`'s prepare step: no TypeScript compiled at start, a few hundred ms
// instead of ~4.5 s) when it matches src/, else the TypeScript sources through tsx, so a developer who edits src/
// without rebuilding always runs what they wrote. How staleness is detected: bin/dist-state.mjs. Rebuild:
// `npm run build:cli`. DRONEWATCH_FROM_SOURCE=1 always runs the sources; DRONEWATCH_FROM_SOURCE=0 never does (an
// unusable dist/ is then an error: what the start benchmark uses, so that it never times tsx by accident).
import module from 'node:module';
import { distProblem } from './dist-state.mjs';

// Node 22.1 and later keep V8's compiled code of the modules on disk (NODE_COMPILE_CACHE, default under the temporary
// directory), so later starts skip compiling them: about a quarter less CPU at start on Node 24. Node 20 has no cache.
module.enableCompileCache?.();

const from = process.env.DRONEWATCH_FROM_SOURCE;
const problem = from === '1' ? 'DRONEWATCH_FROM_SOURCE=1' : distProblem();
let main;
if (problem === undefined) {
  if (process.env.DRONEWATCH_DEBUG === '1') process.setSourceMapsEnabled(true); // stack traces name src/ lines
  ({ main } = await import('../dist/bundle/main.js')); // the start-up bundle (bin/build-dist.mjs)
} else if (from === '0') {
  process.stderr.write(`error: ${problem} and DRONEWATCH_FROM_SOURCE=0 forbids running the sources: \`npm run build:cli\`\n`);
  process.exit(2);
} else {
  // Said on a terminal only: scripts and tests read stderr, and running the sources is correct, only slower.
  if (process.stderr.isTTY && from !== '1') {
    process.stderr.write(`dronewatch: ${problem}; running the sources through tsx (slow start). \`npm run build:cli\` rebuilds dist/.\n`);
  }
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../src/cli/main.ts'));
}
await main(process.argv);
