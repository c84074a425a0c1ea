-- name: alerts-by-hour
-- answers: At what hour of the day are people of concern seen? Alerts per hour, by the time of the report that raised each.
-- params: from, to (first_seen_ts in [from, to); default the whole lake); tz (time zone of the hours, default UTC)
-- An alert is a row of the `alerts` view (latest state per alert id), counted at the report time of the sighting that
-- raised it (first_seen_ts), not at raised_at: a replayed or late report raises its alert long after it was seen.
-- Hours are those of the clock in `tz` (an IANA name such as Europe/Paris). Only hours with alerts are listed.
SELECT hour(timezone(:tz, timezone('UTC', first_seen_ts))) AS hour_of_day, count(*) AS alerts
FROM alerts
WHERE first_seen_ts >= :from AND first_seen_ts < :to
GROUP BY hour_of_day
ORDER BY hour_of_day
