-- name: alerts-by-weekday
-- answers: How many alerts are raised on each day of the week (UTC; ISO numbering, 1 = Monday)?
-- params: from, to (raised_at in [from, to); default the whole lake)
-- Only weekdays with alerts are listed.
SELECT isodow(raised_at) AS weekday, dayname(raised_at) AS day_name, count(*) AS alerts
FROM alerts
WHERE raised_at >= :from AND raised_at < :to
GROUP BY weekday, day_name
ORDER BY weekday
