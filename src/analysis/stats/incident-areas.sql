-- name: incident-areas
-- answers: Where do incidents happen? Incidents counted on a lat/lon grid by the cell of their centre, with the critical ones, gatherings and citizens.
-- params: from, to (first_at in [from, to); default the whole lake); cell (cell size in degrees, default 0.005)
-- Cells as in hotspots: named by the south-west corner, floor(lat / cell) * cell, both rounded to 9 decimals. An
-- incident's place is its centroid in its latest state (the `incidents` view): a crowd that moved is counted where it
-- was last seen. Merged incidents are left out (counted in the one that absorbed them). Ordered by incidents
-- (descending), then lat, lon.
SELECT round(floor(round(lat / :cell, 9)) * :cell, 9) AS cell_lat, round(floor(round(lon / :cell, 9)) * :cell, 9) AS cell_lon,
       count(*) AS incidents, count(*) FILTER (WHERE severity = 'critical') AS critical,
       count(*) FILTER (WHERE citizen_count >= 2) AS gatherings,
       CAST(sum(citizen_count) AS BIGINT) AS citizens, max(citizen_count) AS max_citizens
FROM incidents
WHERE status <> 'merged' AND first_at >= :from AND first_at < :to
GROUP BY cell_lat, cell_lon
ORDER BY incidents DESC, cell_lat, cell_lon
