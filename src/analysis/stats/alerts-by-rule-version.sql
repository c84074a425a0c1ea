-- name: alerts-by-rule-version
-- answers: What did each rule set version raise? Alerts per day, rule set version and rule, of which silenced, with their citizens and the first and last raised.
-- params: from, to (raised_at in [from, to); default the whole lake); tz (time zone of the days, default UTC)
-- Each alert counts once, under the rule and rule set version that raised it: its `raised` event (one per alert; of
-- copies of it the first stored, as compaction keeps), not its latest state, where a stricter rule of a later version
-- that escalated it replaces them (docs/alerts.md, "Rules"). Days are those of raised_at (the platform's clock, when
-- the version was in force) in `tz`, not the report time: a report replayed today is judged by today's rules.
-- `rule_version` NULL: raised before rules were data, or stored by an archiver older than the column (the lake's files
-- written before issue 19 lack it: docs/lake-format.md, schema evolution); such rows come first in their day.
-- `silenced`: alerts that fell under a silence (stored, never announced: docs/alerts.md, "Silences"); NULL when no
-- alert of the row could say (all stored before the column existed: silences did not exist yet either).
-- `citizens`: distinct citizens of the row's alerts. Ordered by day, version (NULL first), rule.
WITH raised AS (
  SELECT raised_at, rule_version, rule, citizen, silenced
  FROM alert_events
  WHERE "type" = 'raised' AND raised_at >= :from AND raised_at < :to
  QUALIFY row_number() OVER (PARTITION BY alert_id ORDER BY "at", event_id) = 1
)
SELECT CAST(timezone(:tz, timezone('UTC', raised_at)) AS DATE) AS day, rule_version, rule, count(*) AS alerts,
       CASE WHEN count(silenced) > 0 THEN count(*) FILTER (WHERE silenced) END AS silenced,
       count(DISTINCT citizen) AS citizens, min(raised_at) AS first_raised_at, max(raised_at) AS last_raised_at
FROM raised
GROUP BY day, rule_version, rule
ORDER BY day, rule_version NULLS FIRST, rule
