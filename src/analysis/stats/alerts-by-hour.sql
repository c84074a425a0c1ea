-- name: alerts-by-hour
-- answers: How many alerts are raised at each hour of the day (UTC)?
-- params: from, to (raised_at in [from, to); default the whole lake)
-- An alert is a row of the `alerts` view (latest state per alert id); only hours with alerts are listed.
SELECT hour(raised_at) AS hour_of_day, count(*) AS alerts
FROM alerts
WHERE raised_at >= :from AND raised_at < :to
GROUP BY hour_of_day
ORDER BY hour_of_day
