-- name: alerts-by-hour
-- answers: At what hour of the day are people of concern seen? Alerts per hour, by the time of the report that raised each.
-- params: from, to (first_seen_ts in [from, to); default the whole lake); tz (time zone of the hours, default UTC)
-- Spark SQL translation of src/analysis/stats/alerts-by-hour.sql (same question, parameters and order; see its comments).
-- Translated: timezone(:tz, timezone('UTC', x)) -> from_utc_timestamp(x, :tz).
SELECT hour(from_utc_timestamp(first_seen_ts, :tz)) AS hour_of_day, count(*) AS alerts
FROM alerts
WHERE first_seen_ts >= :from AND first_seen_ts < :to
GROUP BY hour(from_utc_timestamp(first_seen_ts, :tz))
ORDER BY hour_of_day
