-- name: citizens-score-drop
-- answers: Whose score dropped the most over the period?
-- params: from, to (report ts in [from, to)); limit (default 20)
-- drop = score at the citizen's first sighting of the period - score at the last one (ties on ts broken by
-- report_id). Only citizens whose score dropped (drop > 0). Ordered by drop (descending), then citizen.
SELECT citizen, first_score, last_score, first_score - last_score AS "drop"
FROM (
  SELECT citizen, first(score ORDER BY ts, report_id) AS first_score, last(score ORDER BY ts, report_id) AS last_score
  FROM sightings
  WHERE ts >= :from AND ts < :to
  GROUP BY citizen
)
WHERE first_score > last_score
ORDER BY "drop" DESC, citizen
LIMIT :limit
