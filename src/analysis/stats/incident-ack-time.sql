-- name: incident-ack-time
-- answers: How long from an incident being opened to acknowledged by an officer? p50/p90 per day (time opened).
-- params: from, to (opened_at in [from, to); default the whole lake); tz (time zone of the days, default UTC)
-- Seconds from opened_at (when the platform opened it: wall clock) to acknowledged_at of each incident (latest state),
-- by the day of opened_at in `tz`: like reaction-time for alerts, this is about the officers' work, and the same
-- figures as GET /v1/incidents/reaction-time. Merged incidents are left out (their reaction counts in the incident
-- that absorbed them). Incidents resolved without an acknowledgement count in `resolved_unacknowledged`; neither
-- they nor the ones not yet acknowledged are in the percentiles, which interpolate (quantile_cont).
WITH t AS (
  SELECT CAST(timezone(:tz, timezone('UTC', opened_at)) AS DATE) AS day,
         (epoch_ms(acknowledged_at) - epoch_ms(opened_at)) / 1000 AS ack_s, resolved_at
  FROM incidents
  WHERE status <> 'merged' AND opened_at >= :from AND opened_at < :to
)
SELECT day, count(*) AS incidents, count(ack_s) AS acknowledged,
       count(*) FILTER (WHERE ack_s IS NULL AND resolved_at IS NOT NULL) AS resolved_unacknowledged,
       quantile_cont(ack_s, 0.5) AS ack_p50_s, quantile_cont(ack_s, 0.9) AS ack_p90_s
FROM t
GROUP BY day
ORDER BY day
