// Entry of the compaction child process (compact-process.ts): `node compact-process-entry.js <module URL>`. A
// TypeScript module (running from src/) goes through tsx, as in thread-entry.js; the compiled dist/ imports plain
// JavaScript.
const module = process.argv[2];
if (module.endsWith('.ts')) {
  const { register } = await import('tsx/esm/api');
  register();
}
const { compactChildMain } = await import(module);
await compactChildMain();
