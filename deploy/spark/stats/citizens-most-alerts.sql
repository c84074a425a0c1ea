-- name: citizens-most-alerts
-- answers: Which citizens have the most alerts?
-- params: from, to (first_seen_ts in [from, to)); limit (default 20)
-- Spark SQL translation of src/analysis/stats/citizens-most-alerts.sql (same question, parameters and order; see its comments).
-- Translated: the same SQL.
SELECT citizen, count(*) AS alerts, min(score) AS min_score
FROM alerts
WHERE first_seen_ts >= :from AND first_seen_ts < :to
GROUP BY citizen
ORDER BY alerts DESC, citizen
LIMIT :limit
