-- name: day-periods
-- answers: How are reports, alert reports and alerts spread over night / morning / afternoon / evening (UTC)?
-- params: from, to (report ts / alert raised_at in [from, to); default the whole lake)
-- night 00-05, morning 06-11, afternoon 12-17, evening 18-23 (hours of the UTC day). An "alert report" is a report
-- with a citizen scored below 20; alerts are rows of the `alerts` view by raised_at. Every period is listed.
WITH periods(period, first_hour) AS (VALUES ('night', 0), ('morning', 6), ('afternoon', 12), ('evening', 18)),
r AS (
  SELECT hour(ts) // 6 * 6 AS first_hour, count(*) AS reports, count(*) FILTER (WHERE min_score < 20) AS alert_reports
  FROM reports WHERE ts >= :from AND ts < :to GROUP BY first_hour
),
a AS (
  SELECT hour(raised_at) // 6 * 6 AS first_hour, count(*) AS alerts
  FROM alerts WHERE raised_at >= :from AND raised_at < :to GROUP BY first_hour
)
SELECT p.period, coalesce(r.reports, 0) AS reports, coalesce(r.alert_reports, 0) AS alert_reports, coalesce(a.alerts, 0) AS alerts
FROM periods p LEFT JOIN r USING (first_hour) LEFT JOIN a USING (first_hour)
ORDER BY p.first_hour
