-- name: reports-daily
-- answers: How many reports per day (report time), from how many drones, and how many per drone on average?
-- params: from, to (report ts in [from, to); default the whole lake); tz (time zone of the days, default UTC)
-- Spark SQL translation of src/analysis/stats/reports-daily.sql (same question, parameters and order; see its comments).
-- Translated: timezone(:tz, timezone('UTC', ts)) -> from_utc_timestamp(ts, :tz).
SELECT CAST(from_utc_timestamp(ts, :tz) AS DATE) AS day, count(*) AS reports, count(DISTINCT drone_id) AS drones,
       count(*) / count(DISTINCT drone_id) AS avg_per_drone
FROM reports
WHERE ts >= :from AND ts < :to
GROUP BY CAST(from_utc_timestamp(ts, :tz) AS DATE)
ORDER BY day
