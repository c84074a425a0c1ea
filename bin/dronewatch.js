#!/usr/bin/env node
// Runs the compiled CLI in dist/ (built by `npm ci`'s prepare step: no TypeScript compiled at start, ~0.3 s instead of
// ~4.5 s) when it matches src/, else the TypeScript sources through tsx, so a developer who edits src/ without
// rebuilding always runs what they wrote. How staleness is detected: bin/dist-state.mjs. Rebuild: `npm run build:cli`.
// DRONEWATCH_FROM_SOURCE=1 always runs the sources.
import { distProblem } from './dist-state.mjs';

const problem = process.env.DRONEWATCH_FROM_SOURCE === '1' ? 'DRONEWATCH_FROM_SOURCE=1' : distProblem();
let main;
if (problem === undefined) {
  if (process.env.DRONEWATCH_DEBUG === '1') process.setSourceMapsEnabled(true); // stack traces name src/ lines
  ({ main } = await import('../dist/cli/main.js'));
} else {
  // Said on a terminal only: scripts and tests read stderr, and running the sources is correct, only slower.
  if (process.stderr.isTTY && process.env.DRONEWATCH_FROM_SOURCE !== '1') {
    process.stderr.write(`dronewatch: ${problem}; running the sources through tsx (slow start). \`npm run build:cli\` rebuilds dist/.\n`);
  }
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../src/cli/main.ts'));
}
await main(process.argv);
