-- name: top-words
-- answers: Which words are heard most, overall and in alert reports (stop words such as "oui", "non", "bonjour" left out)?
-- params: from, to (report ts in [from, to)); limit (default 20)
-- Spark SQL translation of src/analysis/stats/top-words.sql (same question, parameters and order; see its comments).
-- Translated: list_contains(:stop_words, x) -> array_contains(:stop_words, x) (the same lists, src/analysis/stopwords/).
SELECT word, count(*) AS heard, count(*) FILTER (WHERE min_score < 20) AS heard_in_alert_reports
FROM words
WHERE ts >= :from AND ts < :to AND NOT array_contains(:stop_words, lower(word))
GROUP BY word
ORDER BY heard DESC, word
LIMIT :limit
