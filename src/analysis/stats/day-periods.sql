-- name: day-periods
-- answers: How are reports, alert reports and alerts spread over night / morning / afternoon / evening (report time)?
-- params: from, to (report ts / alert first_seen_ts in [from, to); default the whole lake); tz (time zone, default UTC)
-- night 00-05, morning 06-11, afternoon 12-17, evening 18-23 (hours of the clock in `tz`). An "alert report" is a report
-- with a citizen scored below 20; alerts are rows of the `alerts` view, at the report time of the sighting that raised
-- them (first_seen_ts). Every period is listed.
WITH periods(period, first_hour) AS (VALUES ('night', 0), ('morning', 6), ('afternoon', 12), ('evening', 18)),
r AS (
  SELECT hour(timezone(:tz, timezone('UTC', ts))) // 6 * 6 AS first_hour, count(*) AS reports, count(*) FILTER (WHERE min_score < 20) AS alert_reports
  FROM reports WHERE ts >= :from AND ts < :to GROUP BY first_hour
),
a AS (
  SELECT hour(timezone(:tz, timezone('UTC', first_seen_ts))) // 6 * 6 AS first_hour, count(*) AS alerts
  FROM alerts WHERE first_seen_ts >= :from AND first_seen_ts < :to GROUP BY first_hour
)
SELECT p.period, coalesce(r.reports, 0) AS reports, coalesce(r.alert_reports, 0) AS alert_reports, coalesce(a.alerts, 0) AS alerts
FROM periods p LEFT JOIN r USING (first_hour) LEFT JOIN a USING (first_hour)
ORDER BY p.first_hour
