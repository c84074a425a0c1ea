-- name: alerts-by-rule-version
-- answers: What did each rule set version raise? Alerts per day, rule set version and rule, of which silenced, with their citizens and the first and last raised.
-- params: from, to (raised_at in [from, to); default the whole lake); tz (time zone of the days, default UTC)
-- Spark SQL translation of src/analysis/stats/alerts-by-rule-version.sql (same question, parameters and order; see its comments).
-- Translated: QUALIFY -> a ranked subquery; timezone(:tz, timezone('UTC', x)) -> from_utc_timestamp(x, :tz); "type", "at" -> `type`, `at`; GROUP BY by position.
WITH raised AS (
  SELECT raised_at, rule_version, rule, citizen, silenced FROM (
    SELECT raised_at, rule_version, rule, citizen, silenced,
           row_number() OVER (PARTITION BY alert_id ORDER BY `at`, event_id) AS dw_first
    FROM alert_events
    WHERE `type` = 'raised' AND raised_at >= :from AND raised_at < :to
  ) WHERE dw_first = 1
)
SELECT CAST(from_utc_timestamp(raised_at, :tz) AS DATE) AS day, rule_version, rule, count(*) AS alerts,
       CASE WHEN count(silenced) > 0 THEN count(*) FILTER (WHERE silenced) END AS silenced,
       count(DISTINCT citizen) AS citizens, min(raised_at) AS first_raised_at, max(raised_at) AS last_raised_at
FROM raised
GROUP BY 1, 2, 3
ORDER BY day, rule_version NULLS FIRST, rule
