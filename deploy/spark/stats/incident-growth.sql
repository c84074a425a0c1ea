-- name: incident-growth
-- answers: How much did incidents grow before an officer reacted? Citizens and radius when opened and at the first acknowledgement or resolution (or now), the most grown first.
-- params: from, to (opened_at in [from, to); default the whole lake); limit (rows, default 20)
-- Spark SQL translation of src/analysis/stats/incident-growth.sql (same question, parameters and order; see its comments).
-- Translated: QUALIFY -> a row_number() column filtered outside; epoch_ms -> unix_millis; "at"/"type" -> `at`/`type`;
-- the ordering by radius gained is computed in a subquery.
WITH e AS (
  SELECT * FROM incident_events WHERE opened_at >= :from AND opened_at < :to
), first_state AS (
  SELECT incident_id, citizen_count, radius_m FROM (
    SELECT *, row_number() OVER (PARTITION BY incident_id ORDER BY `at`, alert_count, event_id) AS dw_rank FROM e) WHERE dw_rank = 1
), reacted AS (
  SELECT incident_id, reaction, `at`, citizen_count, radius_m, growing, spreading FROM (
    SELECT *, `type` AS reaction, row_number() OVER (PARTITION BY incident_id ORDER BY `at`, event_id) AS dw_rank
    FROM e WHERE `type` IN ('acknowledged', 'resolved')) WHERE dw_rank = 1
), g AS (
  SELECT i.incident_id, i.opened_at, i.severity, r.reaction, r.`at` AS reacted_at,
         (unix_millis(r.`at`) - unix_millis(i.opened_at)) / 60000 AS minutes_to_reaction,
         f.citizen_count AS citizens_opened,
         coalesce(r.citizen_count, i.citizen_count) AS citizens_at_reaction,
         coalesce(r.citizen_count, i.citizen_count) - f.citizen_count AS citizens_gained,
         f.radius_m AS radius_opened_m,
         coalesce(r.radius_m, i.radius_m) AS radius_at_reaction_m,
         coalesce(r.growing, i.growing) AS growing_at_reaction,
         coalesce(r.spreading, i.spreading) AS spreading_at_reaction
  FROM incidents i JOIN first_state f ON f.incident_id = i.incident_id LEFT JOIN reacted r ON r.incident_id = i.incident_id
  WHERE i.status <> 'merged' AND i.opened_at >= :from AND i.opened_at < :to
)
SELECT * FROM g
ORDER BY citizens_gained DESC, radius_at_reaction_m - radius_opened_m DESC, opened_at, incident_id
LIMIT :limit
