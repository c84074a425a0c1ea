/**
 * Spark's answer against DuckDB's, field by field: shared by the Spark tests (test/analysis/spark-compare.ts, which
 * assert) and the Spark benchmark (bench/spark.ts, which reports). Integers, strings, dates and instants must be equal;
 * floating-point values within REL_TOLERANCE relative (Spark's avg/percentile/round are not DuckDB's bit for bit).
 */
export const REL_TOLERANCE = 1e-9;

/** Spark's answer as read from its CSV (readSparkCsv), DuckDB's as a QueryResult (JSON-friendly values). */
export interface Answer<T> {
  columns: readonly string[];
  rows: readonly (readonly T[])[];
}

/**
 * The relative difference of two floating-point fields (0 when equal), or undefined when the field is not a number
 * compared with a tolerance: an integer on both sides must be equal, not close.
 */
function relativeDifference(spark: string, duck: number | bigint): number | undefined {
  const a = Number(spark);
  const b = Number(duck);
  if (Number.isInteger(a) && Number.isInteger(b)) return undefined;
  return Math.abs(a - b) / Math.max(1, Math.abs(b));
}

/** Whether a Spark CSV field (null: an empty unquoted field) is DuckDB's JSON-friendly value (number, string, ISO instant, YYYY-MM-DD date, null). */
export function sameField(spark: string | null, duck: unknown, relTolerance = REL_TOLERANCE): boolean {
  if (duck === null || duck === undefined) return spark === null;
  if (spark === null) return false;
  if (typeof duck === 'number' || typeof duck === 'bigint') {
    const rel = relativeDifference(spark, duck);
    return rel === undefined ? Number(spark) === Number(duck) : rel <= relTolerance;
  }
  if (typeof duck === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(duck)) return Date.parse(spark) === Date.parse(duck);
  return spark === String(duck);
}

export interface AnswerComparison {
  /** Rows of DuckDB's answer. */
  rows: number;
  /** Fields that differ (beyond the tolerance), plus one per row one side lacks; 0 when the answers agree. */
  differences: number;
  /** The first difference, for a message. */
  first: string | undefined;
  /** The largest relative difference of the floating-point fields that agreed (0 without any). */
  maxRelative: number;
}

/** Spark's answer against DuckDB's, row for row in order, column names included. */
export function compareAnswers(spark: Answer<string | null>, duck: Answer<unknown>, relTolerance = REL_TOLERANCE): AnswerComparison {
  const out: AnswerComparison = { rows: duck.rows.length, differences: 0, first: undefined, maxRelative: 0 };
  const differ = (what: string): void => {
    out.differences++;
    out.first ??= what;
  };
  if (spark.rows.length > 0 && spark.columns.join(',') !== duck.columns.join(',')) differ(`columns: Spark ${spark.columns.join(',')}, DuckDB ${duck.columns.join(',')}`);
  if (spark.rows.length !== duck.rows.length) differ(`row count: Spark ${spark.rows.length}, DuckDB ${duck.rows.length}`);
  duck.rows.forEach((row, i) => {
    const other = spark.rows[i];
    if (other === undefined) return;
    row.forEach((v, j) => {
      const s = other[j] ?? null;
      if (!sameField(s, v, relTolerance)) differ(`row ${i} ${duck.columns[j]}: Spark ${JSON.stringify(s)}, DuckDB ${JSON.stringify(v)}`);
      else if (s !== null && (typeof v === 'number' || typeof v === 'bigint')) out.maxRelative = Math.max(out.maxRelative, relativeDifference(s, v) ?? 0);
    });
  });
  return out;
}
