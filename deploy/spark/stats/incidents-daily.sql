-- name: incidents-daily
-- answers: How many incidents a day, by severity? Incidents by the day of their first sighting, with their citizens and how many were gatherings or growing.
-- params: from, to (first_at in [from, to); default the whole lake); tz (time zone of the days, default UTC)
-- Spark SQL translation of src/analysis/stats/incidents-daily.sql (same question, parameters and order; see its comments).
-- Translated: timezone(:tz, timezone('UTC', first_at)) -> from_utc_timestamp(first_at, :tz); GROUP BY by position.
SELECT CAST(from_utc_timestamp(first_at, :tz) AS DATE) AS day, severity, count(*) AS incidents,
       count(*) FILTER (WHERE citizen_count >= 2) AS gatherings,
       count(*) FILTER (WHERE growing) AS growing,
       CAST(sum(citizen_count) AS BIGINT) AS citizens, max(citizen_count) AS max_citizens
FROM incidents
WHERE status <> 'merged' AND first_at >= :from AND first_at < :to
GROUP BY 1, 2
ORDER BY day, CASE severity WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END, severity
