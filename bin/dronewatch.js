#!/usr/bin/env node
// The CLI runs the TypeScript sources through tsx: no build step between `npm ci` and `npm start`.
import { register } from 'tsx/esm/api';
register();
const { main } = await import('../src/cli/main.ts');
await main(process.argv);
