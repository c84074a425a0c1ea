// Whether dist/ (the compiled CLI, built by `npm ci`'s prepare step or `npm run build:cli`) matches src/.
// Loaded at every CLI start, so it stays cheap: one stat per entry of src/ (~300, a few ms), no hashing.
//
// The stamp (dist/.stamp.json) records, when dist/ was built, the newest modification time over every file AND
// directory of src/ and how many entries there were. Editing a file raises its mtime; adding, deleting or renaming one
// raises its directory's mtime and changes the count; a git checkout rewrites the files it changes with the current
// time. Any of these makes dist/ stale, and bin/dronewatch.js then runs the sources through tsx (slow start, always
// current) until dist/ is rebuilt. A file put back with an older mtime (cp -p, tar) in an unchanged directory count is
// the case this does not see: `npm run build:cli` rebuilds.
import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const SRC = path.join(ROOT, 'src');
export const DIST = path.join(ROOT, 'dist');
export const STAMP = path.join(DIST, '.stamp.json');
/** Bumped when the build's output layout changes, so an older dist/ is not used by a newer bin/dronewatch.js. */
export const FORMAT = 2;

/** The newest mtime (ms) and the entry count of a source tree. */
export function sourceState(dir = SRC) {
  let newest = lstatSync(dir).mtimeMs;
  let entries = 0;
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const full = path.join(d, e.name);
      // lstat: a symbolic link's own time, and no error for one that points nowhere.
      const m = lstatSync(full).mtimeMs;
      entries++;
      if (m > newest) newest = m;
      if (e.isDirectory()) walk(full);
    }
  };
  walk(dir);
  return { newest, entries };
}

/** Why dist/ cannot be used (missing, stale, other format), or undefined when it is current. */
export function distProblem() {
  let stamp;
  try {
    stamp = JSON.parse(readFileSync(STAMP, 'utf8'));
  } catch {
    return 'dist/ is not built';
  }
  if (stamp.format !== FORMAT) return 'dist/ was built by another version of the build';
  if (!existsSync(SRC)) return undefined; // a package shipped without sources: dist/ is all there is.
  let now;
  try {
    now = sourceState();
  } catch (e) {
    return `src/ could not be read (${e.code ?? e.message})`;
  }
  if (now.newest !== stamp.sourceNewest || now.entries !== stamp.sourceEntries) return 'src/ changed since dist/ was built';
  return undefined;
}
