export { tempDir } from './tmp.ts';
export { spawnTsx, waitUntil, killChild, type Child } from './child.ts';
