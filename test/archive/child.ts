import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnTsx, type Child } from '../../src/testkit/index.ts';

export { killChild as kill, type Child } from '../../src/testkit/index.ts';

const here = path.dirname(fileURLToPath(import.meta.url));

/** Runs a script of test/archive/fixtures in its own process. */
export function spawnFixture(script: string, args: string[]): Child {
  return spawnTsx(path.join(here, 'fixtures', script), args, { cwd: path.resolve(here, '../..') });
}
