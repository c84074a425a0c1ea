-- name: alerts-by-weekday
-- answers: On which day of the week are people of concern seen? Alerts per weekday, by the time of the report that raised each.
-- params: from, to (first_seen_ts in [from, to); default the whole lake); tz (time zone of the days, default UTC)
-- Spark SQL translation of src/analysis/stats/alerts-by-weekday.sql (same question, parameters and order; see its comments).
-- Translated: isodow(x) -> extract(DAYOFWEEK_ISO FROM x); dayname(x) -> date_format(x, 'EEEE') (English names in both).
WITH a AS (SELECT from_utc_timestamp(first_seen_ts, :tz) AS seen FROM alerts WHERE first_seen_ts >= :from AND first_seen_ts < :to)
SELECT extract(DAYOFWEEK_ISO FROM seen) AS weekday, date_format(seen, 'EEEE') AS day_name, count(*) AS alerts
FROM a
GROUP BY extract(DAYOFWEEK_ISO FROM seen), date_format(seen, 'EEEE')
ORDER BY weekday
