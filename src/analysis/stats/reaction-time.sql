-- name: reaction-time
-- answers: How long from an alert being raised to acknowledged, and to resolved? p50/p90 per day and per hour of day (time raised).
-- params: from, to (raised_at in [from, to); default the whole lake); tz (time zone of days and hours, default UTC)
-- Seconds from raised_at to acknowledged_at / resolved_at of each alert (latest state), grouped by the day and,
-- separately, by the hour of day of raised_at on the clock of `tz`: `grouping` is 'day' (bucket YYYY-MM-DD) or 'hour'
-- (bucket 00-23). This statistic is about the officers' work, so it uses the time the platform raised the alert, not
-- the report time. Percentiles interpolate (quantile_cont); alerts not yet acknowledged / resolved are left out of
-- that column.
WITH t AS (
  SELECT timezone(:tz, timezone('UTC', raised_at)) AS raised_local,
         (epoch_ms(acknowledged_at) - epoch_ms(raised_at)) / 1000 AS ack_s,
         (epoch_ms(resolved_at) - epoch_ms(raised_at)) / 1000 AS resolve_s
  FROM alerts
  WHERE raised_at >= :from AND raised_at < :to
), g AS (
  SELECT 'day' AS "grouping", strftime(raised_local, '%Y-%m-%d') AS bucket, ack_s, resolve_s FROM t
  UNION ALL
  SELECT 'hour', lpad(CAST(hour(raised_local) AS VARCHAR), 2, '0'), ack_s, resolve_s FROM t
)
SELECT "grouping", bucket, count(*) AS alerts, count(ack_s) AS acknowledged, count(resolve_s) AS resolved,
       quantile_cont(ack_s, 0.5) AS ack_p50_s, quantile_cont(ack_s, 0.9) AS ack_p90_s,
       quantile_cont(resolve_s, 0.5) AS resolve_p50_s, quantile_cont(resolve_s, 0.9) AS resolve_p90_s
FROM g
GROUP BY "grouping", bucket
ORDER BY "grouping", bucket
