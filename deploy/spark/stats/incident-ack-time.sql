-- name: incident-ack-time
-- answers: How long from an incident being opened to acknowledged by an officer? p50/p90 per day (time opened).
-- params: from, to (opened_at in [from, to); default the whole lake); tz (time zone of the days, default UTC)
-- Spark SQL translation of src/analysis/stats/incident-ack-time.sql (same question, parameters and order; see its comments).
-- Translated: timezone() -> from_utc_timestamp; epoch_ms -> unix_millis; quantile_cont(x, q) -> percentile(x, q) (both interpolate linearly and skip NULLs).
WITH t AS (
  SELECT CAST(from_utc_timestamp(opened_at, :tz) AS DATE) AS day,
         (unix_millis(acknowledged_at) - unix_millis(opened_at)) / 1000 AS ack_s, resolved_at
  FROM incidents
  WHERE status <> 'merged' AND opened_at >= :from AND opened_at < :to
)
SELECT day, count(*) AS incidents, count(ack_s) AS acknowledged,
       count(*) FILTER (WHERE ack_s IS NULL AND resolved_at IS NOT NULL) AS resolved_unacknowledged,
       percentile(ack_s, 0.5) AS ack_p50_s, percentile(ack_s, 0.9) AS ack_p90_s
FROM t
GROUP BY day
ORDER BY day
