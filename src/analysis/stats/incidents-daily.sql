-- name: incidents-daily
-- answers: How many incidents a day, by severity? Incidents by the day of their first sighting, with their citizens and how many were gatherings or growing.
-- params: from, to (first_at in [from, to); default the whole lake); tz (time zone of the days, default UTC)
-- An incident is alerts grouped by place and time (docs/incidents.md). Each is counted once, in its latest state (the
-- `incidents` view), on the day of its first sighting (report time, so a replay gives the same days) in `tz`.
-- Incidents merged into another are left out: their alerts count in the incident that absorbed them. `severity` is
-- the latest, which is the highest reached (it only rises). `gatherings`: 2 citizens or more; `growing`: growing or
-- spreading at the latest sighting. Ordered by day, then critical, warning, info.
SELECT CAST(timezone(:tz, timezone('UTC', first_at)) AS DATE) AS day, severity, count(*) AS incidents,
       count(*) FILTER (WHERE citizen_count >= 2) AS gatherings,
       count(*) FILTER (WHERE growing) AS growing,
       CAST(sum(citizen_count) AS BIGINT) AS citizens, max(citizen_count) AS max_citizens
FROM incidents
WHERE status <> 'merged' AND first_at >= :from AND first_at < :to
GROUP BY day, severity
ORDER BY day, CASE severity WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END, severity
