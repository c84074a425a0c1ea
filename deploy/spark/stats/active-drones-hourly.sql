-- name: active-drones-hourly
-- answers: How many distinct drones reported in each hour (UTC)?
-- params: from, to (report ts in [from, to); default the whole lake)
-- Spark SQL translation of src/analysis/stats/active-drones-hourly.sql (same question, parameters and order; see its comments).
-- Translated: date_trunc('hour', ts) -> date_trunc('HOUR', ts).
SELECT date_trunc('HOUR', ts) AS hour_start, count(DISTINCT drone_id) AS active_drones, count(*) AS reports
FROM reports
WHERE ts >= :from AND ts < :to
GROUP BY date_trunc('HOUR', ts)
ORDER BY hour_start
