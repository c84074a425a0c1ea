import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnTsx, type Child } from '../../src/testkit/index.ts';

export { waitUntil, killChild as stop, type Child } from '../../src/testkit/index.ts';

const here = path.dirname(fileURLToPath(import.meta.url));

/** Runs a fixture script of test/stream/fixtures in its own process. */
export function spawnFixture(script: string, args: string[]): Child {
  return spawnTsx(path.join(here, 'fixtures', script), args, { cwd: path.resolve(here, '../..'), stdin: 'pipe' });
}
