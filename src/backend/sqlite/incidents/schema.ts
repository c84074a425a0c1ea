/**
 * Tables of `<dataDir>/incidents.db` (beside alerts.db):
 * - `incidents`: one row per incident; `body` is the IncidentRecord without its members (JSON), the other columns
 *   index it: `cell` is the grid cell of its centroid (src/incidents/geo.ts) for the grouping's lookup of incidents
 *   near an alert, `seq` increases with every write, so other processes' changes are found by polling `seq > last
 *   seen`. The live cells' index holds the activity columns too: the grouping's lookup (cells around a point, activity
 *   window) is answered from the index, and with (tenant, cell) alone SQLite's planner took `incidents_last` instead,
 *   reading every recent incident of the tenant per alert (274 us a lookup at 10,000 reports/s; `incidents_live` is
 *   dropped).
 * - `incident_alerts`: which incident holds each alert (not merged-away ones), so a replayed or updated alert finds it.
 * - `incident_members`: an incident's members (IncidentMember JSON), one row each, written when one changes: the body
 *   holds the incident, its timeline and version only, so an alert joining a crowd writes one member, not the crowd
 *   (a body written before this table existed still holds its members, and is read as it is until its next write).
 */
export const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS incidents (
  incident_id TEXT PRIMARY KEY,
  tenant TEXT NOT NULL,
  status TEXT NOT NULL,
  cell TEXT NOT NULL,
  lat REAL NOT NULL,
  lon REAL NOT NULL,
  first_at INTEGER NOT NULL,
  last_at INTEGER NOT NULL,
  opened_at INTEGER NOT NULL,
  version INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  last_event TEXT NOT NULL,
  body TEXT NOT NULL
);
DROP INDEX IF EXISTS incidents_live;
CREATE INDEX IF NOT EXISTS incidents_live_cells ON incidents (tenant, cell, last_at, first_at) WHERE status IN ('open', 'acknowledged');
CREATE INDEX IF NOT EXISTS incidents_last ON incidents (tenant, last_at DESC);
CREATE INDEX IF NOT EXISTS incidents_opened ON incidents (opened_at);
CREATE UNIQUE INDEX IF NOT EXISTS incidents_seq ON incidents (seq);
CREATE TABLE IF NOT EXISTS incident_alerts (
  tenant TEXT NOT NULL,
  alert_id TEXT NOT NULL,
  incident_id TEXT NOT NULL,
  PRIMARY KEY (tenant, alert_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS incident_members (
  incident_id TEXT NOT NULL,
  alert_id TEXT NOT NULL,
  member TEXT NOT NULL,
  PRIMARY KEY (incident_id, alert_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS incident_settings (
  name TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
`;
