// Entry of a query-engine process (engine-process.ts): argv[2] is the URL of engine-child. From src/ it is a
// TypeScript module and goes through tsx, as in bin/dronewatch.js; from the compiled dist/ (where this file is copied
// beside engine-child.js) it is plain JavaScript and tsx is not loaded, so the engine starts in a fraction of the time.
const child = process.argv[2];
if (!child) throw new Error('usage: engine-entry.js <engine-child module URL>');
if (child.endsWith('.ts')) {
  const { register } = await import('tsx/esm/api');
  register();
}
await import(child);
