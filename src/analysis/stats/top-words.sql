-- name: top-words
-- answers: Which words are heard most, overall and in alert reports?
-- params: from, to (report ts in [from, to)); limit (default 20)
-- Counts every time a word is heard (a word twice in a report counts twice). An "alert report" is a report with a
-- citizen scored below 20. Ordered by heard (descending), then word.
SELECT word, count(*) AS heard, count(*) FILTER (WHERE min_score < 20) AS heard_in_alert_reports
FROM words
WHERE ts >= :from AND ts < :to
GROUP BY word
ORDER BY heard DESC, word
LIMIT :limit
