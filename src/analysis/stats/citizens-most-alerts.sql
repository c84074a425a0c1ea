-- name: citizens-most-alerts
-- answers: Which citizens have the most alerts?
-- params: from, to (raised_at in [from, to)); limit (default 20)
-- min_score is the lowest score of the citizen over those alerts. Ordered by alerts (descending), then citizen.
SELECT citizen, count(*) AS alerts, min(score) AS min_score
FROM alerts
WHERE raised_at >= :from AND raised_at < :to
GROUP BY citizen
ORDER BY alerts DESC, citizen
LIMIT :limit
