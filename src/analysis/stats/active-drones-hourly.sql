-- name: active-drones-hourly
-- answers: How many distinct drones reported in each hour (UTC)?
-- params: from, to (report ts in [from, to); default the whole lake)
-- Only hours with reports are listed.
SELECT date_trunc('hour', ts) AS hour_start, count(DISTINCT drone_id) AS active_drones, count(*) AS reports
FROM reports
WHERE ts >= :from AND ts < :to
GROUP BY hour_start
ORDER BY hour_start
