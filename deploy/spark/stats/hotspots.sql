-- name: hotspots
-- answers: Where are people of concern seen? Alerts counted on a lat/lon grid (report time of the sighting that raised each).
-- params: from, to (first_seen_ts in [from, to)); cell (cell size in degrees, default 0.005)
-- Spark SQL translation of src/analysis/stats/hotspots.sql (same question, parameters and order; see its comments).
-- Translated: the same SQL; Spark's floor of a DOUBLE is a BIGINT (the product with the cell is a DOUBLE again), and its round(x, 9) rounds the decimal value of x half up where DuckDB rounds x * 1e9: corners agree to 1e-9.
SELECT round(floor(round(lat / :cell, 9)) * :cell, 9) AS cell_lat, round(floor(round(lon / :cell, 9)) * :cell, 9) AS cell_lon, count(*) AS alerts
FROM alerts
WHERE first_seen_ts >= :from AND first_seen_ts < :to
GROUP BY 1, 2
ORDER BY alerts DESC, cell_lat, cell_lon
