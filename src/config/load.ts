import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ConfigError, type FieldError } from '../errors/index.ts';
import { formatLakeLocation, parseLakeLocation } from '../objectstore/location.ts';
import { configSchema, type Config } from './schema.ts';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Tree = { [k: string]: Json };

/** Environment variables with a short name; any key can also be set as DRONEWATCH_<SECTION>__<KEY> (see docs/configuration.md). */
const ENV_SHORTCUTS: Record<string, string> = {
  DRONEWATCH_DATA: 'dataDir',
  DRONEWATCH_PORT: 'http.port',
  DRONEWATCH_HOST: 'http.host',
  DRONEWATCH_STREAM: 'stream.url',
  DRONEWATCH_LAKE: 'lake.path',
  DRONEWATCH_TENANT: 'tenant',
  DRONEWATCH_ALERT_THRESHOLD: 'alerts.threshold',
  DRONEWATCH_DRONES: 'simulator.drones',
};

export interface LoadOptions {
  /** Path of a JSON config file; default ./dronewatch.config.json when it exists. */
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Values from CLI flags as dotted keys (`http.port`), already typed or as strings. */
  flags?: Record<string, unknown>;
  cwd?: string;
}

/** Loads the config: defaults < file < environment < CLI flags, then validates it as a whole. */
export function loadConfig(opts: LoadOptions = {}): Config {
  const cwd = opts.cwd ?? process.cwd();
  const tree: Tree = {};
  const file = opts.file ?? (existsSync(path.join(cwd, 'dronewatch.config.json')) ? path.join(cwd, 'dronewatch.config.json') : undefined);
  if (file) merge(tree, readConfigFile(path.resolve(cwd, file)));
  const env = opts.env ?? process.env;
  for (const [name, raw] of Object.entries(env)) {
    if (raw === undefined || !name.startsWith('DRONEWATCH_')) continue;
    // `<VARIABLE>_FILE=/run/secrets/x`: the value is the file's content (container secrets; keeps secrets out of
    // the environment listing and of the config file).
    if (name.endsWith('_FILE')) {
      const base = name.slice(0, -'_FILE'.length);
      const key = ENV_SHORTCUTS[base] ?? envKey(base);
      if (key) setPath(tree, key, readSecretFile(name, raw));
      continue;
    }
    const key = ENV_SHORTCUTS[name] ?? envKey(name);
    // Secrets stay strings even when they look like numbers.
    if (key) setPath(tree, key, SECRET_KEY.test(key) ? raw : coerce(raw));
  }
  for (const [key, value] of Object.entries(opts.flags ?? {})) {
    if (value !== undefined) setPath(tree, key, typeof value === 'string' ? coerce(value) : (value as Json));
  }
  return validateConfig(tree);
}

export function validateConfig(input: unknown): Config {
  const parsed = configSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const details: FieldError[] = parsed.error.issues.map((i) => ({ field: i.path.map(String).join('.'), reason: issueReason(i) }));
  throw new ConfigError(`invalid configuration: ${details.map((d) => `${d.field || '(root)'}: ${d.reason}`).join('; ')}`, details);
}

function issueReason(i: z.core.$ZodIssue): string {
  if (i.code === 'unrecognized_keys') return `unknown key(s) ${i.keys.join(', ')}`;
  return i.message;
}

const SECRET_KEY = /(password|token|secret)$/i;

/** A secret from a file, without its trailing newline. The error names the variable and the file, never the content. */
function readSecretFile(variable: string, file: string): string {
  try {
    return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  } catch (e) {
    throw new ConfigError(`${variable}: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? 'error'})`, [{ field: variable, reason: 'unreadable secret file' }]);
  }
}

function readConfigFile(file: string): Tree {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read config file ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  try {
    const v = JSON.parse(text) as Json;
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('the top level must be an object');
    return v;
  } catch (e) {
    throw new ConfigError(`config file ${file} is not valid JSON: ${(e as Error).message}`);
  }
}

/** DRONEWATCH_ALERTS__DEDUP_WINDOW_MS -> alerts.dedupWindowMs */
function envKey(name: string): string | undefined {
  const rest = name.slice('DRONEWATCH_'.length);
  if (!rest.includes('__')) return undefined;
  return rest.split('__').map((part) => part.toLowerCase().replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase())).join('.');
}

/** Env values are strings: numbers, booleans and JSON arrays/objects are recognised, the rest stays text. */
function coerce(raw: string): Json {
  const t = raw.trim();
  if (t === 'true' || t === 'false') return t === 'true';
  if (t !== '' && /^-?\d+(\.\d+)?$/.test(t)) return Number(t);
  if (t.startsWith('[') || t.startsWith('{')) {
    try {
      return JSON.parse(t) as Json;
    } catch {
      return raw;
    }
  }
  return raw;
}

function setPath(tree: Tree, dotted: string, value: Json): void {
  const keys = dotted.split('.');
  let node: Tree = tree;
  for (const k of keys.slice(0, -1)) {
    const next = node[k];
    if (next === undefined || next === null || typeof next !== 'object' || Array.isArray(next)) node[k] = {};
    node = node[k] as Tree;
  }
  node[keys[keys.length - 1]!] = value;
}

function merge(into: Tree, from: Tree): void {
  for (const [k, v] of Object.entries(from)) {
    const cur = into[k];
    if (v && typeof v === 'object' && !Array.isArray(v) && cur && typeof cur === 'object' && !Array.isArray(cur)) merge(cur, v);
    else into[k] = v;
  }
}

export interface DataPaths {
  dataDir: string;
  streamDb: string;
  alertsDb: string;
  /** The lake's location: an absolute directory, or `s3://bucket/prefix` as given. */
  lake: string;
  /** Local cache of a lake on an object store. */
  lakeCache: string;
  /** Scratch space of the lake writer and compaction (batches are built there before upload). */
  lakeScratch: string;
}

/** Resolved paths derived from the config. An `s3://` lake location is kept as it is (parsed, not path-resolved). */
export function dataPaths(config: Config): DataPaths {
  const dataDir = path.resolve(config.dataDir);
  // Throws DW_LAKE_LOCATION_INVALID for anything but a path or s3://bucket/prefix.
  const lake = formatLakeLocation(parseLakeLocation(config.lake.path ?? path.join(dataDir, 'lake')));
  return {
    dataDir,
    streamDb: path.join(dataDir, 'stream.db'),
    alertsDb: path.join(dataDir, 'alerts.db'),
    lake,
    lakeCache: path.resolve(config.lake.cacheDir ?? path.join(dataDir, 'lake-cache')),
    lakeScratch: path.join(dataDir, 'tmp'),
  };
}

/** Retention per lake table in days, as the archive worker and `dronewatch lake retention` take it. */
export function lakeRetentionDays(config: Config): { reports?: number; alerts?: number } {
  return {
    ...(config.lake.reportsRetentionDays !== undefined ? { reports: config.lake.reportsRetentionDays } : {}),
    ...(config.lake.alertsRetentionDays !== undefined ? { alerts: config.lake.alertsRetentionDays } : {}),
  };
}
