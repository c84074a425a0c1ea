-- name: alert-words-lift
-- answers: Which words are most over-represented in alert reports?
-- params: from, to (report ts in [from, to)); limit (default 20)
-- lift = (share of alert reports containing the word) / (share of all reports containing the word); 1 means no
-- association. An "alert report" is a report with a citizen scored below 20. Only words heard in at least one alert
-- report are listed. Ordered by lift (descending), then alert_reports (descending), then word.
WITH w AS (
  SELECT DISTINCT report_id, word, min_score < 20 AS is_alert FROM words WHERE ts >= :from AND ts < :to
), totals AS (
  SELECT count(*) AS n, count(*) FILTER (WHERE min_score < 20) AS n_alert FROM reports WHERE ts >= :from AND ts < :to
)
SELECT word, count(*) AS reports, count(*) FILTER (WHERE is_alert) AS alert_reports,
       (count(*) FILTER (WHERE is_alert) / any_value(totals.n_alert)) / (count(*) / any_value(totals.n)) AS lift
FROM w, totals
GROUP BY word
HAVING count(*) FILTER (WHERE is_alert) > 0
ORDER BY lift DESC, alert_reports DESC, word
LIMIT :limit
