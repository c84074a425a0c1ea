-- name: hotspots
-- answers: Where are alerts raised? Alerts counted on a lat/lon grid.
-- params: from, to (raised_at in [from, to)); cell (cell size in degrees, default 0.005)
-- A cell is named by its south-west corner: floor(lat / cell) * cell, floor(lon / cell) * cell. The position of an
-- alert is the one of its latest sighting (the `alerts` view). Ordered by alerts (descending), then lat, lon.
SELECT floor(lat / :cell) * :cell AS cell_lat, floor(lon / :cell) * :cell AS cell_lon, count(*) AS alerts
FROM alerts
WHERE raised_at >= :from AND raised_at < :to
GROUP BY cell_lat, cell_lon
ORDER BY alerts DESC, cell_lat, cell_lon
