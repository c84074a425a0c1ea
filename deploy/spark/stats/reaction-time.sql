-- name: reaction-time
-- answers: How long from an alert being raised to acknowledged, and to resolved? p50/p90 per day and per hour of day (time raised).
-- params: from, to (raised_at in [from, to); default the whole lake); tz (time zone of days and hours, default UTC)
-- Spark SQL translation of src/analysis/stats/reaction-time.sql (same question, parameters and order; see its comments).
-- Translated: timezone() -> from_utc_timestamp; epoch_ms -> unix_millis; strftime(x, '%Y-%m-%d') -> date_format(x, 'yyyy-MM-dd'); quantile_cont(x, q) -> percentile(x, q) (both interpolate linearly between the closest ranks and skip NULLs); "grouping" -> `grouping`.
WITH t AS (
  SELECT from_utc_timestamp(raised_at, :tz) AS raised_local,
         (unix_millis(acknowledged_at) - unix_millis(raised_at)) / 1000 AS ack_s,
         (unix_millis(resolved_at) - unix_millis(raised_at)) / 1000 AS resolve_s
  FROM alerts
  WHERE raised_at >= :from AND raised_at < :to
), g AS (
  SELECT 'day' AS `grouping`, date_format(raised_local, 'yyyy-MM-dd') AS bucket, ack_s, resolve_s FROM t
  UNION ALL
  SELECT 'hour', lpad(CAST(hour(raised_local) AS STRING), 2, '0'), ack_s, resolve_s FROM t
)
SELECT `grouping`, bucket, count(*) AS alerts, count(ack_s) AS acknowledged, count(resolve_s) AS resolved,
       percentile(ack_s, 0.5) AS ack_p50_s, percentile(ack_s, 0.9) AS ack_p90_s,
       percentile(resolve_s, 0.5) AS resolve_p50_s, percentile(resolve_s, 0.9) AS resolve_p90_s
FROM g
GROUP BY `grouping`, bucket
ORDER BY `grouping`, bucket
