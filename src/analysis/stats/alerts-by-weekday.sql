-- name: alerts-by-weekday
-- answers: On which day of the week are people of concern seen? Alerts per weekday, by the time of the report that raised each.
-- params: from, to (first_seen_ts in [from, to); default the whole lake); tz (time zone of the days, default UTC)
-- Counted at the report time of the sighting that raised the alert (first_seen_ts), on the calendar of `tz`; ISO
-- numbering, 1 = Monday. Only weekdays with alerts are listed.
WITH a AS (SELECT timezone(:tz, timezone('UTC', first_seen_ts)) AS seen FROM alerts WHERE first_seen_ts >= :from AND first_seen_ts < :to)
SELECT isodow(seen) AS weekday, dayname(seen) AS day_name, count(*) AS alerts
FROM a
GROUP BY weekday, day_name
ORDER BY weekday
