-- name: silent-drones
-- answers: When did a drone go more than N minutes without a report (a possible failure)?
-- params: from, to (report ts in [from, to)); minutes (default 10)
-- Spark SQL translation of src/analysis/stats/silent-drones.sql (same question, parameters and order; see its comments).
-- Translated: epoch_ms -> unix_millis.
SELECT drone_id, silent_from, silent_until, (unix_millis(silent_until) - unix_millis(silent_from)) / 60000 AS gap_minutes
FROM (
  SELECT drone_id, ts AS silent_from, lead(ts) OVER (PARTITION BY drone_id ORDER BY ts) AS silent_until
  FROM reports
  WHERE ts >= :from AND ts < :to
)
WHERE silent_until IS NOT NULL AND unix_millis(silent_until) - unix_millis(silent_from) > :minutes * 60000
ORDER BY gap_minutes DESC, drone_id, silent_from
