-- name: hotspots
-- answers: Where are people of concern seen? Alerts counted on a lat/lon grid (report time of the sighting that raised each).
-- params: from, to (first_seen_ts in [from, to)); cell (cell size in degrees, default 0.005)
-- A cell is named by its south-west corner: floor(lat / cell) * cell, floor(lon / cell) * cell, both rounded to 9
-- decimals (about a millimetre) so that a corner reads 48.87, not 48.870000000000005, and a point on a cell line
-- falls in the cell it starts (2.385 / 0.005 is 476.99999999999994 in binary floating point). The position of an
-- alert is the one of its latest sighting (the `alerts` view). Ordered by alerts (descending), then lat, lon.
SELECT round(floor(round(lat / :cell, 9)) * :cell, 9) AS cell_lat, round(floor(round(lon / :cell, 9)) * :cell, 9) AS cell_lon, count(*) AS alerts
FROM alerts
WHERE first_seen_ts >= :from AND first_seen_ts < :to
GROUP BY cell_lat, cell_lon
ORDER BY alerts DESC, cell_lat, cell_lon
