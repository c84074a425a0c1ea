export { configSchema, type Config, type ConfigInput } from './schema.ts';
export { loadConfig, validateConfig, dataPaths, lakeRetentionDays, type LoadOptions, type DataPaths } from './load.ts';
