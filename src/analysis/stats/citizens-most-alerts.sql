-- name: citizens-most-alerts
-- answers: Which citizens have the most alerts?
-- params: from, to (first_seen_ts in [from, to)); limit (default 20)
-- Alerts are counted at the report time of the sighting that raised them (first_seen_ts). min_score is the lowest
-- score of the citizen over those alerts. Ordered by alerts (descending), then citizen.
SELECT citizen, count(*) AS alerts, min(score) AS min_score
FROM alerts
WHERE first_seen_ts >= :from AND first_seen_ts < :to
GROUP BY citizen
ORDER BY alerts DESC, citizen
LIMIT :limit
