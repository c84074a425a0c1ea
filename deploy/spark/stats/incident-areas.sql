-- name: incident-areas
-- answers: Where do incidents happen? Incidents counted on a lat/lon grid by the cell of their centre, with the critical ones, gatherings and citizens.
-- params: from, to (first_at in [from, to); default the whole lake); cell (cell size in degrees, default 0.005)
-- Spark SQL translation of src/analysis/stats/incident-areas.sql (same question, parameters and order; see its comments).
-- Translated: the same SQL, as hotspots (corners agree to 1e-9); GROUP BY by position.
SELECT round(floor(round(lat / :cell, 9)) * :cell, 9) AS cell_lat, round(floor(round(lon / :cell, 9)) * :cell, 9) AS cell_lon,
       count(*) AS incidents, count(*) FILTER (WHERE severity = 'critical') AS critical,
       count(*) FILTER (WHERE citizen_count >= 2) AS gatherings,
       CAST(sum(citizen_count) AS BIGINT) AS citizens, max(citizen_count) AS max_citizens
FROM incidents
WHERE status <> 'merged' AND first_at >= :from AND first_at < :to
GROUP BY 1, 2
ORDER BY incidents DESC, cell_lat, cell_lon
