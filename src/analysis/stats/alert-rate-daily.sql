-- name: alert-rate-daily
-- answers: Per day (report time), what share of reports is an alert report?
-- params: from, to (report ts in [from, to); default the whole lake); tz (time zone of the days, default UTC)
-- An "alert report" is a report with at least one citizen scored below 20 (the default alert threshold of the
-- score-below-threshold rule). It is defined on the report itself, so it does not depend on alert de-duplication.
-- Days are calendar days in `tz`.
SELECT CAST(timezone(:tz, timezone('UTC', ts)) AS DATE) AS day, count(*) AS reports,
       count(*) FILTER (WHERE min_score < 20) AS alert_reports,
       count(*) FILTER (WHERE min_score < 20) / count(*) AS alert_rate
FROM reports
WHERE ts >= :from AND ts < :to
GROUP BY day
ORDER BY day
