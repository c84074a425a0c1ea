export { configSchema, type Config, type ConfigInput } from './schema.ts';
export { loadConfig, validateConfig, dataPaths, type LoadOptions } from './load.ts';
