-- name: silent-drones
-- answers: When did a drone go more than N minutes without a report (a possible failure)?
-- params: from, to (report ts in [from, to)); minutes (default 10)
-- One row per gap between two consecutive reports of a drone inside the period that is longer than N minutes.
-- Silence before a drone's first or after its last report of the period is not counted (nothing bounds it).
SELECT drone_id, silent_from, silent_until, (epoch_ms(silent_until) - epoch_ms(silent_from)) / 60000 AS gap_minutes
FROM (
  SELECT drone_id, ts AS silent_from, lead(ts) OVER (PARTITION BY drone_id ORDER BY ts) AS silent_until
  FROM reports
  WHERE ts >= :from AND ts < :to
)
WHERE silent_until IS NOT NULL AND epoch_ms(silent_until) - epoch_ms(silent_from) > :minutes * 60000
ORDER BY gap_minutes DESC, drone_id, silent_from
