/**
 * What the lake sandbox refuses besides DuckDB's own file-access rules: anything that would show an analyst the
 * server's paths or settings. The views are defined over the lake files' absolute paths, DuckDB's settings hold them
 * (`allowed_paths`) and the server's home directory (`secret_directory`), and DuckDB exposes all of that through
 * introspection: `current_setting()`, `duckdb_settings()`, `duckdb_views()` and the catalog views over them
 * (`information_schema.views`, `sqlite_master`, `pg_views`, `pg_settings`), `pg_get_viewdef()`, `duckdb_extensions()`,
 * `duckdb_temporary_files()`, `duckdb_external_file_cache()`, logs... So a statement is checked on DuckDB's own parse
 * tree (`json_serialize_sql`, never on its text): the tables it reads must be the sandbox's views or its own CTEs, its
 * table functions come from a short list of those that read no catalog, and a few scalar functions are refused.
 * DuckDB's error messages are scrubbed of paths as well (scrubPaths).
 */

/** Table functions a query may call: generators and the Parquet reader (which allowed_paths confines to the lake). */
const TABLE_FUNCTIONS = new Set([
  'range', 'generate_series', 'unnest', 'read_parquet', 'parquet_scan', 'json_each', 'json_tree', 'repeat', 'repeat_row',
  'pragma_table_info', 'pragma_show', 'pragma_version', 'pragma_platform', 'pragma_collations', 'pragma_user_agent',
  'duckdb_columns', 'duckdb_functions', 'duckdb_keywords', 'duckdb_types', 'pg_timezone_names', 'icu_calendar_names',
]);

/** Why each refused scalar function is refused. */
const SCALAR_FUNCTIONS = new Map<string, string>([
  ['current_setting', 'it reads the server\'s configuration, which holds its file paths'],
  ['json_serialize_sql', 'it handles SQL given as text, which the sandbox cannot check'],
  ['json_deserialize_sql', 'it handles SQL given as text, which the sandbox cannot check'],
  ['json_execute_serialized_sql', 'it runs SQL given as text, which the sandbox cannot check'],
  ['json_serialize_plan', 'it handles SQL given as text, which the sandbox cannot check'],
  ['pg_get_viewdef', 'it shows the definitions of the views, which name the server\'s files'],
  ['pg_get_expr', 'it reads the catalog\'s definitions'],
  ['pg_get_constraintdef', 'it reads the catalog\'s definitions'],
  ['col_description', 'it reads the catalog\'s definitions'],
  ['obj_description', 'it reads the catalog\'s definitions'],
  ['shobj_description', 'it reads the catalog\'s definitions'],
]);

/** PRAGMAs (DuckDB rewrites these into SELECTs over the catalog) that show nothing of the server. */
const PRAGMAS = new Set(['show_tables', 'show_tables_expanded', 'table_info', 'show', 'version', 'platform', 'database_list', 'collations', 'functions', 'user_agent']);

/** SHOW TABLES and SHOW ALL TABLES, as DuckDB names them in a SHOW_REF. */
const SHOW_LISTS = new Set(['"tables"', '__show_tables_expanded']);

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function str(v: Json | undefined): string {
  return typeof v === 'string' ? v : '';
}

/**
 * Why the statement whose parse tree (json_serialize_sql's output, parsed) is `tree` may not run, or undefined if it
 * may. `views`: the tables it may read (lower case). The walk is a loop with a stack: parse trees of user SQL can be
 * deep (DuckDB allows 1,000 levels of expressions).
 */
export function refusalOf(tree: Json, views: ReadonlySet<string>): string | undefined {
  const ctes = new Set<string>();
  const tables: string[] = [];
  const stack: Json[] = [tree];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (node === null || typeof node !== 'object') continue;
    if (Array.isArray(node)) {
      for (const x of node) stack.push(x);
      continue;
    }
    const fn = str(node.function_name).toLowerCase();
    if (fn !== '') {
      const why = SCALAR_FUNCTIONS.get(fn) ?? (fn.startsWith('pg_get_') ? 'it reads the catalog\'s definitions' : undefined);
      if (why) return `${fn}() is not available in queries: ${why}`;
    }
    const type = str(node.type);
    if (type === 'TABLE_FUNCTION') {
      const f = node.function;
      const name = f !== null && typeof f === 'object' && !Array.isArray(f) ? str(f.function_name).toLowerCase() : '';
      if (!TABLE_FUNCTIONS.has(name)) {
        return `table function ${name || '(unnamed)'}() is not available in queries; the lake is read through the views ${[...views].join(', ')}`;
      }
    } else if (type === 'BASE_TABLE') {
      tables.push(str(node.table_name));
    } else if (type === 'SHOW_REF' && str(node.table_name) !== '' && !SHOW_LISTS.has(str(node.table_name))) {
      tables.push(str(node.table_name));
    }
    const map = node.cte_map;
    if (map !== null && typeof map === 'object' && !Array.isArray(map) && Array.isArray(map.map)) {
      for (const e of map.map) if (e !== null && typeof e === 'object' && !Array.isArray(e)) ctes.add(str(e.key).toLowerCase());
    }
    for (const k in node) stack.push(node[k]!);
  }
  for (const t of tables) {
    const name = t.toLowerCase();
    if (!views.has(name) && !ctes.has(name)) {
      return `${t} is not a table queries can read; the lake's views are ${[...views].join(', ')}`;
    }
  }
  return undefined;
}

/** The PRAGMA a statement's text starts with (after whitespace and comments), lower case; undefined if none. */
export function pragmaName(sql: string): string | undefined {
  let i = 0;
  for (;;) {
    while (i < sql.length && /\s/.test(sql[i]!)) i++;
    if (sql.startsWith('--', i)) {
      const nl = sql.indexOf('\n', i);
      i = nl < 0 ? sql.length : nl + 1;
    } else if (sql.startsWith('/*', i)) {
      const end = sql.indexOf('*/', i + 2);
      i = end < 0 ? sql.length : end + 2;
    } else break;
  }
  const m = /^pragma\s+(?:"([^"]+)"|([a-z_][a-z0-9_]*))/i.exec(sql.slice(i));
  return m ? (m[1] ?? m[2]!).toLowerCase() : undefined;
}

/** Why a PRAGMA may not run, or undefined. */
export function pragmaRefusal(name: string | undefined): string | undefined {
  if (name !== undefined && PRAGMAS.has(name)) return undefined;
  return name === undefined
    ? 'this statement cannot be checked by the sandbox; only SELECT queries (and PRAGMA show_tables, table_info...) run on the lake'
    : `PRAGMA ${name} is not available in queries; the allowed ones are ${[...PRAGMAS].join(', ')}`;
}

/**
 * Absolute paths in a message (DuckDB's errors name the files they failed on: a lake file deleted under a query, a
 * setting), replaced with `<path>`: `known` ones (the sandbox's files) whole, then anything that looks like one. Any absolute path goes, the one the user typed too: the message keeps what went
 * wrong, not where the server keeps its files.
 */
export function scrubPaths(message: string, known: readonly string[] = []): string {
  // The paths the caller knows first (a directory with a space in its name would defeat the pattern below), also where
  // the message has only their beginning (DuckDB cuts long lines it echoes with `...`).
  let m = message;
  for (let i = m.indexOf('/'); i >= 0; i = m.indexOf('/', i + 1)) {
    let longest = 0;
    for (const p of known) {
      let n = 0;
      while (n < p.length && i + n < m.length && m[i + n] === p[n]) n++;
      if (n > longest) longest = n;
    }
    // At least a first directory and the slash after it: `/` alone, or `/1` in `1/10`, is not a known path.
    if (longest > 1 && m.slice(i + 1, i + longest).includes('/')) m = `${m.slice(0, i)}<path>${m.slice(i + longest)}`;
  }
  // A boundary before it (so `1/0`, `GiB/18.8 GiB`, `Europe/Paris` stay), an optional scheme (`file:`, `s3:`) or `~`,
  // then at least two levels (`/etc/passwd`, `/tmp/`; not `'x'/2`, a division in an echoed query).
  return m.replace(/(?<![\w.\-/~\\])(?:[a-z][a-z0-9+.-]*:)?~?\/+(?:[^\s"'`<>()[\],;/]+\/+)+[^\s"'`<>()[\],;/]*/gi, '<path>');
}
