export { tempDir } from './tmp.ts';
