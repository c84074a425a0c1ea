-- name: score-by-word
-- answers: What is the average score of the citizens seen in reports where each word was heard?
-- params: from, to (report ts in [from, to)); limit (default 20)
-- Every (word heard, citizen seen) pair of a report counts once. Ordered by avg_score (ascending: the most worrying
-- words first), then word.
SELECT w.word, count(*) AS sightings, avg(s.score) AS avg_score
FROM words w JOIN sightings s ON s.report_id = w.report_id
WHERE w.ts >= :from AND w.ts < :to
GROUP BY w.word
ORDER BY avg_score, w.word
LIMIT :limit
