-- name: incident-growth
-- answers: How much did incidents grow before an officer reacted? Citizens and radius when opened and at the first acknowledgement or resolution (or now), the most grown first.
-- params: from, to (opened_at in [from, to); default the whole lake); limit (rows, default 20)
-- Per incident (merged ones left out): its state when opened is its first event in the lake; its state at the
-- officers' reaction is the incident as the first `acknowledged` or `resolved` event carries it (the event is the
-- change itself, so it holds what the officer saw), or its latest state when nobody reacted yet (`reaction` NULL:
-- it may still be growing). `minutes_to_reaction` is from opened_at to that event (NULL without one).
-- Ordered by citizens gained, then radius gained (descending), then opened_at and incident_id.
WITH e AS (
  SELECT * FROM incident_events WHERE opened_at >= :from AND opened_at < :to
), first_state AS (
  SELECT incident_id, citizen_count, radius_m FROM e
  QUALIFY row_number() OVER (PARTITION BY incident_id ORDER BY "at", alert_count, event_id) = 1
), reacted AS (
  SELECT incident_id, "type" AS reaction, "at", citizen_count, radius_m, growing, spreading FROM e
  WHERE "type" IN ('acknowledged', 'resolved')
  QUALIFY row_number() OVER (PARTITION BY incident_id ORDER BY "at", event_id) = 1
)
SELECT i.incident_id, i.opened_at, i.severity, r.reaction, r."at" AS reacted_at,
       (epoch_ms(r."at") - epoch_ms(i.opened_at)) / 60000 AS minutes_to_reaction,
       f.citizen_count AS citizens_opened,
       coalesce(r.citizen_count, i.citizen_count) AS citizens_at_reaction,
       coalesce(r.citizen_count, i.citizen_count) - f.citizen_count AS citizens_gained,
       f.radius_m AS radius_opened_m,
       coalesce(r.radius_m, i.radius_m) AS radius_at_reaction_m,
       coalesce(r.growing, i.growing) AS growing_at_reaction,
       coalesce(r.spreading, i.spreading) AS spreading_at_reaction
FROM incidents i JOIN first_state f USING (incident_id) LEFT JOIN reacted r USING (incident_id)
WHERE i.status <> 'merged' AND i.opened_at >= :from AND i.opened_at < :to
ORDER BY citizens_gained DESC, radius_at_reaction_m - radius_opened_m DESC, i.opened_at, i.incident_id
LIMIT :limit
