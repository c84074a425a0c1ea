-- name: top-drones
-- answers: Which drones send the most reports, and how many alerts does each raise?
-- params: from, to (report ts / alert first_seen_ts in [from, to)); limit (default 20)
-- Spark SQL translation of src/analysis/stats/top-drones.sql (same question, parameters and order; see its comments).
-- Translated: the same SQL.
WITH r AS (SELECT drone_id, count(*) AS reports FROM reports WHERE ts >= :from AND ts < :to GROUP BY drone_id),
     a AS (SELECT drone_id, count(*) AS alerts FROM alerts WHERE first_seen_ts >= :from AND first_seen_ts < :to GROUP BY drone_id)
SELECT coalesce(r.drone_id, a.drone_id) AS drone_id, coalesce(r.reports, 0) AS reports, coalesce(a.alerts, 0) AS alerts
FROM r FULL OUTER JOIN a ON r.drone_id = a.drone_id
ORDER BY reports DESC, alerts DESC, drone_id
LIMIT :limit
