-- name: citizens-score-drop
-- answers: Whose score dropped the most over the period?
-- params: from, to (report ts in [from, to)); limit (default 20)
-- Spark SQL translation of src/analysis/stats/citizens-score-drop.sql (same question, parameters and order; see its comments).
-- Translated: first(score ORDER BY ts, report_id) / last(...) -> min_by / max_by(score, struct(ts, report_id)); "drop" -> `drop`.
SELECT citizen, first_score, last_score, first_score - last_score AS `drop`
FROM (
  SELECT citizen, min_by(score, struct(ts, report_id)) AS first_score, max_by(score, struct(ts, report_id)) AS last_score
  FROM sightings
  WHERE ts >= :from AND ts < :to
  GROUP BY citizen
)
WHERE first_score > last_score
ORDER BY `drop` DESC, citizen
LIMIT :limit
