-- name: top-words
-- answers: Which words are heard most, overall and in alert reports (stop words such as "oui", "non", "bonjour" left out)?
-- params: from, to (report ts in [from, to)); limit (default 20)
-- Counts every time a word is heard (a word twice in a report counts twice). An "alert report" is a report with a
-- citizen scored below 20. Words of the stop-word lists (src/analysis/stopwords/<language>.txt, compared in lower case)
-- are left out: they are heard everywhere and say nothing. Ordered by heard (descending), then word.
SELECT word, count(*) AS heard, count(*) FILTER (WHERE min_score < 20) AS heard_in_alert_reports
FROM words
WHERE ts >= :from AND ts < :to AND NOT list_contains(:stop_words, lower(word))
GROUP BY word
ORDER BY heard DESC, word
LIMIT :limit
