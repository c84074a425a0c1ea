-- name: day-periods
-- answers: How are reports, alert reports and alerts spread over night / morning / afternoon / evening (report time)?
-- params: from, to (report ts / alert first_seen_ts in [from, to); default the whole lake); tz (time zone, default UTC)
-- Spark SQL translation of src/analysis/stats/day-periods.sql (same question, parameters and order; see its comments).
-- Translated: periods(period, first_hour) AS (VALUES ...) -> VALUES ... AS periods(period, first_hour); h // 6 -> h div 6; timezone(:tz, timezone('UTC', x)) -> from_utc_timestamp(x, :tz).
WITH periods AS (SELECT * FROM VALUES ('night', 0), ('morning', 6), ('afternoon', 12), ('evening', 18) AS periods(period, first_hour)),
r AS (
  SELECT hour(from_utc_timestamp(ts, :tz)) div 6 * 6 AS first_hour, count(*) AS reports, count(*) FILTER (WHERE min_score < 20) AS alert_reports
  FROM reports WHERE ts >= :from AND ts < :to GROUP BY hour(from_utc_timestamp(ts, :tz)) div 6 * 6
),
a AS (
  SELECT hour(from_utc_timestamp(first_seen_ts, :tz)) div 6 * 6 AS first_hour, count(*) AS alerts
  FROM alerts WHERE first_seen_ts >= :from AND first_seen_ts < :to GROUP BY hour(from_utc_timestamp(first_seen_ts, :tz)) div 6 * 6
)
SELECT p.period, coalesce(r.reports, 0) AS reports, coalesce(r.alert_reports, 0) AS alert_reports, coalesce(a.alerts, 0) AS alerts
FROM periods p LEFT JOIN r ON r.first_hour = p.first_hour LEFT JOIN a ON a.first_hour = p.first_hour
ORDER BY p.first_hour
