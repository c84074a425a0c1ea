-- name: score-by-word
-- answers: What is the average score of the citizens seen in reports where each word was heard?
-- params: from, to (report ts in [from, to)); limit (default 20)
-- Spark SQL translation of src/analysis/stats/score-by-word.sql (same question, parameters and order; see its comments).
-- Translated: the same SQL.
SELECT w.word, count(*) AS sightings, avg(s.score) AS avg_score
FROM words w JOIN sightings s ON s.report_id = w.report_id
WHERE w.ts >= :from AND w.ts < :to
GROUP BY w.word
ORDER BY avg_score, w.word
LIMIT :limit
