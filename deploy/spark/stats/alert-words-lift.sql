-- name: alert-words-lift
-- answers: Which words are most over-represented in alert reports?
-- params: from, to (report ts in [from, to)); limit (default 20)
-- Spark SQL translation of src/analysis/stats/alert-words-lift.sql (same question, parameters and order; see its comments).
-- Translated: the same SQL (any_value and FILTER exist in Spark).
WITH w AS (
  SELECT DISTINCT report_id, word, min_score < 20 AS is_alert FROM words WHERE ts >= :from AND ts < :to
), totals AS (
  SELECT count(*) AS n, count(*) FILTER (WHERE min_score < 20) AS n_alert FROM reports WHERE ts >= :from AND ts < :to
)
SELECT word, count(*) AS reports, count(*) FILTER (WHERE is_alert) AS alert_reports,
       (count(*) FILTER (WHERE is_alert) / any_value(totals.n_alert)) / (count(*) / any_value(totals.n)) AS lift
FROM w CROSS JOIN totals
GROUP BY word
HAVING count(*) FILTER (WHERE is_alert) > 0
ORDER BY lift DESC, alert_reports DESC, word
LIMIT :limit
