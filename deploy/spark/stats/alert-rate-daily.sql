-- name: alert-rate-daily
-- answers: Per day (report time), what share of reports is an alert report?
-- params: from, to (report ts in [from, to); default the whole lake); tz (time zone of the days, default UTC)
-- Spark SQL translation of src/analysis/stats/alert-rate-daily.sql (same question, parameters and order; see its comments).
-- Translated: timezone(:tz, timezone('UTC', ts)) -> from_utc_timestamp(ts, :tz); FILTER is the same; / of counts is a DOUBLE in both.
SELECT CAST(from_utc_timestamp(ts, :tz) AS DATE) AS day, count(*) AS reports,
       count(*) FILTER (WHERE min_score < 20) AS alert_reports,
       count(*) FILTER (WHERE min_score < 20) / count(*) AS alert_rate
FROM reports
WHERE ts >= :from AND ts < :to
GROUP BY CAST(from_utc_timestamp(ts, :tz) AS DATE)
ORDER BY day
