"""dronewatch's ready-made statistics on Spark, over the lake as it is (docs/analysis.md, "Spark").

Registers the views `reports`, `sightings`, `words`, `alert_events`, `alerts`, `incident_events` and `incidents` over the *live* files of one tenant's
tables (the rule of src/lake/live-files.ts: a file is read when each of its ranges ends at or below its partition's
checkpoint and no other committed file of the same hour contains every one of its ranges), then runs the Spark SQL translation
of each statistic (deploy/spark/stats/<name>.sql, one per src/analysis/stats/<name>.sql) and writes each answer as
CSV or Parquet under --out. Nothing is copied: Spark reads the Parquet files dronewatch wrote.

The lake location is any Hadoop file system URL: a local directory (`/data/lake` or `file:///data/lake`),
`hdfs://namenode:8020/lake` (the NameNode's RPC address: pyspark's bundled Hadoop client cannot load its
`webhdfs://` file system, see docs/analysis.md), `s3a://bucket/lake` (Ceph RGW, MinIO, AWS). For s3a:// the job adds
the jars of deploy/spark/classpath/target/dependency (hadoop-aws and the AWS SDK modules, .ci/install-spark.sh; or
DRONEWATCH_SPARK_S3A_JARS) unless spark.jars is set or spark-submit runs it (give it --jars), and takes the endpoint
from the variables dronewatch reads (S3_ENDPOINT, then AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL; path-style
addressing) unless spark.hadoop.fs.s3a.endpoint is set; S3A reads the credentials from AWS_ACCESS_KEY_ID /
AWS_SECRET_ACCESS_KEY itself.

    python deploy/spark/lake_stats.py --lake /data/lake --tenant paris --out /tmp/answers \
        --from 2025-01-13 --to 2025-01-14 reports-daily top-drones        # or `all`
    spark-submit --master yarn deploy/spark/lake_stats.py --lake hdfs://nn:8020/lake ... all

`--plan plan.json` runs several parameter sets in one Spark session (the tests use it): a JSON list of
{"stat", "name" (output name), "from", "to", "tz", "cell", "minutes", "limit"}.
"""

import argparse
import json
import math
import os
import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

HERE = os.path.dirname(os.path.abspath(__file__))
STATS_DIR = os.path.join(HERE, "stats")
# The stop-word lists top-words leaves out are the project's own (src/analysis/stopwords/*.txt), not a copy.
STOP_WORDS_DIR = os.environ.get("DRONEWATCH_STOP_WORDS_DIR", os.path.join(HERE, "..", "..", "src", "analysis", "stopwords"))

# Every pattern is ASCII and every match a fullmatch, so that names parse exactly as src/lake/layout.ts parses them:
# Python's \d would take any Unicode digit (int() reads it) and `$` would match before a trailing newline, which
# JavaScript's do not, and Spark would read files DuckDB skips (or the reverse).
TENANT = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$", re.ASCII)
DATA_FILE = re.compile(r"^p(\d+)-(\d+)-(\d+)\.parquet$", re.ASCII)
# A file merged across stream partitions (a closed hour, src/lake/layout.ts): one `<partition>.<first>.<last>` per
# partition, offsets in base 36, sorted by partition; only the canonical spelling counts.
MERGED_FILE = re.compile(r"^m-((?:\d{1,4}\.[0-9a-z]{1,11}\.[0-9a-z]{1,11}_)+\d{1,4}\.[0-9a-z]{1,11}\.[0-9a-z]{1,11})\.parquet$", re.ASCII)
MERGED_RANGE = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9a-z][0-9a-z]*)\.(0|[1-9a-z][0-9a-z]*)$", re.ASCII)
MAX_SAFE_INTEGER = 2**53 - 1


def data_file_ranges(name):
    """The (partition, first, last) ranges a data file name holds, or None (src/lake/layout.ts, parseDataFileRanges)."""
    m = DATA_FILE.fullmatch(name)
    if m:
        p, first, last = int(m[1]), int(m[2]), int(m[3])
        # Only dataFileName's spelling, as layout.ts: one range has one name (an unpadded copy would hide both).
        if first > last or last > MAX_SAFE_INTEGER or p > MAX_SAFE_INTEGER or name != f"p{p:04d}-{first:016d}-{last:016d}.parquet":
            return None
        return [(p, first, last)]
    m = MERGED_FILE.fullmatch(name)
    if not m:
        return None
    ranges = []
    for part in m[1].split("_"):
        r = MERGED_RANGE.fullmatch(part)
        if not r:
            return None
        p, first, last = int(r[1]), int(r[2], 36), int(r[3], 36)
        if first > last or last > MAX_SAFE_INTEGER or (ranges and ranges[-1][0] >= p):
            return None
        ranges.append((p, first, last))
    return ranges


def ranges_contain(outer, inner):
    """Every range of `inner` lies inside `outer`'s range of the same partition."""
    return all(any(o[0] == i[0] and o[1] <= i[1] and i[2] <= o[2] for o in outer) for i in inner)


def live_files(committed):
    """The files of an hour that no other file contains (every range of it inside the other's range of the same
    partition), as src/lake/live-files.ts splitLive: single-range files by a sorted sweep per partition (a range is
    contained when an earlier one, by first offset then the longer first then merged-across files first, ends at or
    after it), files merged across partitions (few) against every file. `committed`: (ranges, key) pairs."""
    by_partition = {}
    for i, (ranges, _) in enumerate(committed):
        for p, first, last in ranges:
            by_partition.setdefault(p, []).append((first, -last, 0 if len(ranges) > 1 else 1, last, i))
    contained = [False] * len(committed)
    for entries in by_partition.values():
        entries.sort()
        max_last = None
        for _, _, single, last, i in entries:
            if single and max_last is not None and max_last >= last:
                contained[i] = True
            if max_last is None or last > max_last:
                max_last = last
    live = []
    for i, f in enumerate(committed):
        if len(f[0]) == 1:
            dead = contained[i]
        else:
            dead = any(g is not f and ranges_contain(g[0], f[0]) for g in committed)
        if not dead:
            live.append(f)
    return live
CHECKPOINT = re.compile(r"^p(\d+)/(\d+)\.json$", re.ASCII)
LEGACY_CHECKPOINT = re.compile(r"^p(\d+)\.json$", re.ASCII)
DATE_DIR = re.compile(r"^date=(\d{4}-\d{2}-\d{2})$", re.ASCII)
HOUR_DIR = re.compile(r"^hour=(\d{2})$", re.ASCII)
PLACEHOLDER = re.compile(r"(?<![:\w]):(from|to|cell|minutes|limit|tz|stop_words)\b", re.ASCII)
ISO = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$", re.ASCII)
HOUR = timedelta(hours=1)
# Number options as src/analysis/stats.ts checks them: (default, min, max, integer, min exclusive).
OPTIONS = {
    "cell": (0.005, 0.000001, 10, False, False),
    "minutes": (10, 0, 525600, False, True),
    "limit": (20, 1, 100000, True, False),
}

# The stored columns of each table (docs/lake-format.md), for an empty table (no live file yet).
STORED = {
    "reports": "tenant STRING, drone_id STRING, ts TIMESTAMP_NTZ, lat_e7 INT, lon_e7 INT, lat_raw DOUBLE, lon_raw DOUBLE, "
    "citizens ARRAY<STRUCT<name: STRING, score: DOUBLE>>, words ARRAY<STRING>, received_after_ms BIGINT, "
    "report_id_raw STRING, timestamp_raw STRING, date STRING, hour STRING",
    "alerts": "event_id STRING, type STRING, at TIMESTAMP_NTZ, by STRING, alert_id STRING, tenant STRING, drone_id STRING, "
    "citizen STRING, score DOUBLE, severity STRING, rule STRING, lat DOUBLE, lon DOUBLE, words ARRAY<STRING>, "
    "first_report_id STRING, last_report_id STRING, first_seen_ts TIMESTAMP_NTZ, last_seen_ts TIMESTAMP_NTZ, "
    "raised_at TIMESTAMP_NTZ, updated_at TIMESTAMP_NTZ, occurrences INT, status STRING, assignee STRING, "
    "acknowledged_by STRING, acknowledged_at TIMESTAMP_NTZ, resolved_by STRING, resolved_at TIMESTAMP_NTZ, note STRING, "
    "rule_version INT, silenced BOOLEAN, silence_id STRING, date STRING, hour STRING",
    "incidents": "event_id STRING, type STRING, at TIMESTAMP_NTZ, by STRING, incident_id STRING, tenant STRING, status STRING, "
    "severity STRING, lat DOUBLE, lon DOUBLE, min_lat DOUBLE, min_lon DOUBLE, max_lat DOUBLE, max_lon DOUBLE, radius_m DOUBLE, "
    "first_at TIMESTAMP_NTZ, last_at TIMESTAMP_NTZ, citizen_count INT, drone_count INT, alert_count INT, lowest_score DOUBLE, "
    "growing BOOLEAN, citizens_per_minute DOUBLE, radius_growth_m DOUBLE, spreading BOOLEAN, opened_at TIMESTAMP_NTZ, "
    "updated_at TIMESTAMP_NTZ, assignee STRING, acknowledged_by STRING, acknowledged_at TIMESTAMP_NTZ, resolved_by STRING, "
    "resolved_at TIMESTAMP_NTZ, note STRING, merged_into STRING, date STRING, hour STRING",
}

ALERT_TIMESTAMPS = ["at", "first_seen_ts", "last_seen_ts", "raised_at", "updated_at", "acknowledged_at", "resolved_at"]
ALERT_COLUMNS = ["event_id", "type", "at", "by", "alert_id", "tenant", "drone_id", "citizen", "score", "severity", "rule",
                 "lat", "lon", "words", "first_report_id", "last_report_id", "first_seen_ts", "last_seen_ts", "raised_at",
                 "updated_at", "occurrences", "status", "assignee", "acknowledged_by", "acknowledged_at", "resolved_by",
                 "resolved_at", "note", "rule_version", "silenced", "silence_id"]
# Columns added after the table's first files (src/lake/schema.ts addedColumns): older files lack them. Spark takes a
# table's schema from one file, so the table is read with its full schema given and the older files' rows get NULL.
EVOLVED = {"alerts"}
EVENT_ONLY = {"event_id", "type", "at", "by"}
INCIDENT_TIMESTAMPS = ["at", "first_at", "last_at", "opened_at", "updated_at", "acknowledged_at", "resolved_at"]
INCIDENT_COLUMNS = ["event_id", "type", "at", "by", "incident_id", "tenant", "status", "severity", "lat", "lon", "min_lat",
                    "min_lon", "max_lat", "max_lon", "radius_m", "first_at", "last_at", "citizen_count", "drone_count",
                    "alert_count", "lowest_score", "growing", "citizens_per_minute", "radius_growth_m", "spreading",
                    "opened_at", "updated_at", "assignee", "acknowledged_by", "acknowledged_at", "resolved_by",
                    "resolved_at", "note", "merged_into"]


def q(name):
    return "`" + name + "`"


# The views, as src/lake/schema.ts defines them for DuckDB (viewProjection, LATEST_ALERTS_SQL, SIGHTINGS_SQL,
# WORDS_SQL). The files hold UTC wall-clock timestamps without UTC adjustment, which Spark reads as TIMESTAMP_NTZ;
# with the session in UTC, CAST(... AS TIMESTAMP) keeps the same instant.
def reports_view(tenant):
    return f"""SELECT coalesce(report_id_raw, concat(drone_id, ':', CAST(unix_millis(CAST(ts AS TIMESTAMP)) AS STRING))) AS report_id,
       tenant, drone_id, CAST(ts AS TIMESTAMP) AS ts,
       coalesce(timestamp_raw, date_format(CAST(ts AS TIMESTAMP), "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'")) AS timestamp_text,
       coalesce(CAST(lat_e7 AS DOUBLE) / 1e7, lat_raw) AS lat, coalesce(CAST(lon_e7 AS DOUBLE) / 1e7, lon_raw) AS lon,
       citizens, words, CAST(size(citizens) AS BIGINT) AS citizen_count,
       array_min(transform(citizens, c -> c.score)) AS min_score,
       timestamp_millis(unix_millis(CAST(ts AS TIMESTAMP)) + received_after_ms) AS received_at,
       CAST(date AS DATE) AS date, CAST(hour AS INT) AS hour
FROM lake_reports_stored WHERE tenant = '{tenant}'"""


def alert_events_view(tenant):
    cols = [f"CAST({q(c)} AS TIMESTAMP) AS {q(c)}" if c in ALERT_TIMESTAMPS else q(c) for c in ALERT_COLUMNS]
    return f"SELECT {', '.join(cols)}, CAST(date AS DATE) AS date, CAST(hour AS INT) AS hour FROM lake_alert_events_stored WHERE tenant = '{tenant}'"


def incident_events_view(tenant):
    cols = [f"CAST({q(c)} AS TIMESTAMP) AS {q(c)}" if c in INCIDENT_TIMESTAMPS else q(c) for c in INCIDENT_COLUMNS]
    return f"SELECT {', '.join(cols)}, CAST(date AS DATE) AS date, CAST(hour AS INT) AS hour FROM lake_incident_events_stored WHERE tenant = '{tenant}'"


# LATEST_INCIDENTS_SQL (src/lake/schema.ts): the latest change, then the later status, then the most alerts.
INCIDENTS_VIEW = f"""SELECT {', '.join(q(c) for c in INCIDENT_COLUMNS if c not in EVENT_ONLY)} FROM (
  SELECT *, row_number() OVER (PARTITION BY incident_id ORDER BY updated_at DESC,
    CASE status WHEN 'merged' THEN 3 WHEN 'resolved' THEN 2 WHEN 'acknowledged' THEN 1 ELSE 0 END DESC,
    alert_count DESC, `at` DESC, event_id DESC) AS dw_rank
  FROM incident_events) WHERE dw_rank = 1"""
ALERTS_VIEW = f"""SELECT {', '.join(q(c) for c in ALERT_COLUMNS if c not in EVENT_ONLY)} FROM (
  SELECT *, row_number() OVER (PARTITION BY alert_id ORDER BY updated_at DESC, `at` DESC, occurrences DESC, event_id DESC) AS dw_rank
  FROM alert_events) WHERE dw_rank = 1"""
SIGHTINGS_VIEW = "SELECT r.*, c.name AS citizen, c.score AS score FROM reports r LATERAL VIEW explode(r.citizens) x AS c"
WORDS_VIEW = "SELECT r.*, w AS word FROM reports r LATERAL VIEW explode(r.words) x AS w"


class Lake:
    """The live files of one tenant's tables, listed through Hadoop's FileSystem (any scheme Spark's Hadoop knows)."""

    def __init__(self, spark, location, tenant):
        self.spark = spark
        self.location = location.rstrip("/")
        self.tenant = tenant
        jvm = spark._jvm
        self.Path = jvm.org.apache.hadoop.fs.Path
        root = self.Path(self.location)
        self.fs = root.getFileSystem(spark._jsc.hadoopConfiguration())
        self.root = self.fs.makeQualified(root).toString().rstrip("/")
        self.hours = {t: self._hours(t) for t in ("reports", "alerts", "incidents")}

    def _list(self, path):
        p = self.Path(path)
        if not self.fs.exists(p):
            return []
        return [(s.getPath().getName(), s.isDirectory()) for s in self.fs.listStatus(p)]

    def _checkpoints(self, table):
        """Highest checkpoint offset per stream partition (src/lake/checkpoints.ts readCheckpoints)."""
        out = {}
        base = f"{self.root}/_checkpoints/{table}"
        for name, is_dir in self._list(base):
            if is_dir and re.fullmatch(r"p\d+", name, re.ASCII):
                for f, _ in self._list(f"{base}/{name}"):
                    m = CHECKPOINT.fullmatch(f"{name}/{f}")
                    if m:
                        out[int(m[1])] = max(out.get(int(m[1]), -1), int(m[2]))
            m = LEGACY_CHECKPOINT.fullmatch(name)
            if m and not is_dir:
                try:
                    stream = self.fs.open(self.Path(f"{base}/{name}"))
                    text = self.spark._jvm.org.apache.commons.io.IOUtils.toString(stream, "UTF-8")
                    stream.close()
                    offset = json.loads(text).get("offset")
                    if isinstance(offset, int):
                        out[int(m[1])] = max(out.get(int(m[1]), -1), offset)
                except Exception:  # written atomically by the old protocol: foreign or damaged, not a checkpoint
                    pass
        return out

    def _hours(self, table):
        """[(hour start, [live file paths])] of the tenant's table, in time order."""
        checkpoints = self._checkpoints(table)
        if not checkpoints:
            return []
        base = f"{self.root}/{table}/tenant={self.tenant}"
        out = []
        for d, d_is_dir in sorted(self._list(base)):
            md = DATE_DIR.fullmatch(d)
            if not (d_is_dir and md):
                continue
            for h, h_is_dir in sorted(self._list(f"{base}/{d}")):
                mh = HOUR_DIR.fullmatch(h)
                if not (h_is_dir and mh):
                    continue
                try:
                    start = datetime.strptime(f"{md[1]} {mh[1]}", "%Y-%m-%d %H").replace(tzinfo=timezone.utc)
                except ValueError:
                    continue
                committed = []
                for name, is_dir in self._list(f"{base}/{d}/{h}"):
                    ranges = None if is_dir else data_file_ranges(name)
                    if ranges and all(last <= checkpoints.get(part, -1) for part, _, last in ranges):
                        committed.append((ranges, f"{base}/{d}/{h}/{name}"))
                live = live_files(committed)
                if live:
                    out.append((start, sorted(f[1] for f in live)))
        return out

    def files(self, table, lo=None, hi=None):
        """Live files of the hours that may hold rows in [lo, hi] (instants, inclusive; None = unbounded)."""
        return [f for start, fs in self.hours[table]
                if (lo is None or start + HOUR > lo) and (hi is None or start <= hi) for f in fs]

    def register(self, frm=None, to=None):
        """The seven views over the files a statistic of [frm, to) needs: reports pruned to its hours, alert and
        incident events from the hour of `frm` on (the latest state may come after `to`: docs/analysis.md, "Time range")."""
        last = to - timedelta(milliseconds=1) if to is not None else None
        for table, stored, files in (("reports", "lake_reports_stored", self.files("reports", frm, last)),
                                     ("alerts", "lake_alert_events_stored", self.files("alerts", frm, None)),
                                     ("incidents", "lake_incident_events_stored", self.files("incidents", frm, None))):
            if files:
                reader = self.spark.read.option("basePath", f"{self.root}/{table}")
                df = (reader.schema(STORED[table]) if table in EVOLVED else reader).parquet(*files)
            else:
                df = self.spark.createDataFrame([], STORED[table])
            df.createOrReplaceTempView(stored)
        self.spark.sql(f"CREATE OR REPLACE TEMP VIEW reports AS {reports_view(self.tenant)}")
        self.spark.sql(f"CREATE OR REPLACE TEMP VIEW alert_events AS {alert_events_view(self.tenant)}")
        self.spark.sql(f"CREATE OR REPLACE TEMP VIEW alerts AS {ALERTS_VIEW}")
        self.spark.sql(f"CREATE OR REPLACE TEMP VIEW sightings AS {SIGHTINGS_VIEW}")
        self.spark.sql(f"CREATE OR REPLACE TEMP VIEW words AS {WORDS_VIEW}")
        self.spark.sql(f"CREATE OR REPLACE TEMP VIEW incident_events AS {incident_events_view(self.tenant)}")
        self.spark.sql(f"CREATE OR REPLACE TEMP VIEW incidents AS {INCIDENTS_VIEW}")


class ParamError(ValueError):
    pass


def list_stats():
    return sorted(f[:-4] for f in os.listdir(STATS_DIR) if f.endswith(".sql"))


def instant(name, v):
    if v is None:
        return None
    if not ISO.fullmatch(v):
        raise ParamError(f"--{name}: must be an ISO 8601 date or timestamp, got {v!r}")
    text = v.replace(" ", "T").replace("Z", "+00:00")
    frac = re.search(r"\.(\d+)", text, re.ASCII)
    if frac and len(frac[1]) > 6:  # Python keeps microseconds; dronewatch's instants are milliseconds
        text = text.replace(frac[0], "." + frac[1][:6])
    d = datetime.fromisoformat(text)
    return (d if d.tzinfo else d.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)


def ts_literal(d, fallback):
    if d is None:
        return f"TIMESTAMP'{fallback}'"
    return "TIMESTAMP'" + d.strftime("%Y-%m-%d %H:%M:%S.") + f"{d.microsecond // 1000:03d}'"


def number(name, v):
    default, lo, hi, integer, lo_exclusive = OPTIONS[name]
    if v is None:
        return default
    try:
        n = float(v)
    except (TypeError, ValueError):
        n = math.nan
    ok = math.isfinite(n) and (n > lo if lo_exclusive else n >= lo) and n <= hi and (not integer or n.is_integer())
    if not ok:
        raise ParamError(f"--{name}: must be {'an integer' if integer else 'a number'} {'>' if lo_exclusive else '>='} {lo} and <= {hi}, got {v!r}")
    return int(n) if integer else n


def stop_words():
    words = set()
    for f in sorted(os.listdir(STOP_WORDS_DIR)):
        if f.endswith(".txt"):
            with open(os.path.join(STOP_WORDS_DIR, f), encoding="utf-8") as fh:
                words.update(l.strip().lower() for l in fh if l.strip() and not l.strip().startswith("#"))
    return "array(" + ", ".join("'" + w.replace("\\", "\\\\").replace("'", "\\'") + "'" for w in sorted(words)) + ")"


def stat_sql(name, run):
    """The statistic's Spark SQL with every placeholder replaced by a literal built here from a checked value."""
    if name not in list_stats():
        raise ParamError(f"unknown statistic {name!r}; known: {', '.join(list_stats())}")
    with open(os.path.join(STATS_DIR, name + ".sql"), encoding="utf-8") as fh:
        sql = fh.read()
    frm, to = instant("from", run.get("from")), instant("to", run.get("to"))
    if frm and to and frm > to:
        raise ParamError(f"--from ({run['from']}) is after --to ({run['to']})")
    lit = {"from": ts_literal(frm, "0001-01-01 00:00:00"), "to": ts_literal(to, "9999-12-31 23:59:59.999999")}
    used = {m[1] for m in PLACEHOLDER.finditer(sql)}
    for o in ("cell", "minutes", "limit"):
        if o in used:
            n = number(o, run.get(o))
            lit[o] = str(n) if o == "limit" else f"CAST({repr(float(n))} AS DOUBLE)"
    if "tz" in used:
        tz = run.get("tz") or "UTC"
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_+\-/]{0,63}", tz, re.ASCII):
            raise ParamError(f"--tz: must be an IANA time zone such as Europe/Paris or UTC, got {tz!r}")
        lit["tz"] = f"'{tz}'"
    if "stop_words" in used:
        lit["stop_words"] = stop_words()
    # Strip comments first: a placeholder named in a comment must not be replaced (nor break the statement).
    body = "\n".join(l for l in sql.splitlines() if not l.lstrip().startswith("--"))
    return PLACEHOLDER.sub(lambda m: lit[m[1]], body), frm, to


def write(df, out, name, fmt):
    path = os.path.join(out, name) if "://" not in out else f"{out.rstrip('/')}/{name}"
    w = df.coalesce(1).write.mode("overwrite")
    if fmt == "csv":
        # Nulls as empty fields; timestamps as ISO instants in UTC with milliseconds (as `dronewatch stats --format csv`).
        w.option("header", True).option("emptyValue", '""').option("timestampFormat", "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").csv(path)
    else:
        w.parquet(path)


def s3a_defaults(conf):
    """Settings an s3a:// lake needs that `conf` (the --conf settings) does not give: the jars of hadoop-aws and the
    AWS SDK modules (when the job is not run by spark-submit), and a non-AWS endpoint
    from the variables dronewatch's own S3 store reads, with path-style addressing as that store uses for one."""
    out = {}
    # Run by spark-submit (it starts the JVM first and tells pyspark its port), the jars are spark-submit's business
    # (--jars, --packages): setting spark.jars here would replace what it was given.
    submitted = "PYSPARK_GATEWAY_PORT" in os.environ
    if not submitted and "spark.jars" not in conf and "spark.jars.packages" not in conf:
        jar_dir = os.environ.get("DRONEWATCH_SPARK_S3A_JARS", os.path.join(HERE, "classpath", "target", "dependency"))
        if os.path.isdir(jar_dir):
            jars = sorted(os.path.join(jar_dir, f) for f in os.listdir(jar_dir) if f.endswith(".jar"))
            if jars:
                out["spark.jars"] = ",".join(jars)
    endpoint = os.environ.get("S3_ENDPOINT") or os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    if endpoint and "spark.hadoop.fs.s3a.endpoint" not in conf:
        out["spark.hadoop.fs.s3a.endpoint"] = endpoint
        out["spark.hadoop.fs.s3a.path.style.access"] = "true"
        out["spark.hadoop.fs.s3a.connection.ssl.enabled"] = "true" if endpoint.startswith("https://") else "false"
        out["spark.hadoop.fs.s3a.endpoint.region"] = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    return out


def main(argv):
    p = argparse.ArgumentParser(description="dronewatch statistics on Spark over the live files of the lake")
    p.add_argument("stats", nargs="*", help="statistic names, or `all`")
    p.add_argument("--lake", required=True, help="lake location: a directory, hdfs://, webhdfs://, s3a:// URL")
    p.add_argument("--tenant", default="default")
    p.add_argument("--out", required=True, help="directory of the answers: <out>/<stat>/part-*.csv|parquet")
    p.add_argument("--format", choices=["csv", "parquet"], default="csv")
    p.add_argument("--from", dest="frm")
    p.add_argument("--to")
    p.add_argument("--tz")
    p.add_argument("--cell")
    p.add_argument("--minutes")
    p.add_argument("--limit")
    p.add_argument("--plan", help="JSON file: a list of runs {stat, name, from, to, tz, cell, minutes, limit}")
    p.add_argument("--counts", action="store_true", help="also write <out>/table-counts: rows per view of the whole tenant")
    p.add_argument("--master", default=os.environ.get("DRONEWATCH_SPARK_MASTER"), help="Spark master (default: spark-submit's, else local[2])")
    p.add_argument("--parallel", type=int, default=2, help="statistics run at once (concurrent Spark jobs), default 2")
    p.add_argument("--conf", action="append", default=[], metavar="KEY=VALUE", help="a Spark setting (repeatable), as spark-submit's --conf")
    p.add_argument("--shuffle-partitions", type=int, help="spark.sql.shuffle.partitions (default: 4 on a local master, else Spark's)")
    p.add_argument("--timings", action="store_true",
                   help='also print one JSON line per step: {"timing": "session|listing|register|counts|stat", "name": ..., "seconds": ...}')
    a = p.parse_args(argv)

    def timing(step, seconds, name=None):
        """A machine-readable line for bench/spark.ts (the JVM start and registration apart from each statistic)."""
        if a.timings:
            print(json.dumps({"timing": step, "name": name, "seconds": round(seconds, 3)}), flush=True)

    if not TENANT.fullmatch(a.tenant):
        raise ParamError(f"--tenant: not a valid tenant id: {a.tenant!r}")
    if a.plan:
        with open(a.plan, encoding="utf-8") as fh:
            runs = json.load(fh)
    else:
        names = list_stats() if a.stats == ["all"] else a.stats
        if not names and not a.counts:
            raise ParamError("name a statistic (or `all`): " + ", ".join(list_stats()))
        opts = {"from": a.frm, "to": a.to, "tz": a.tz, "cell": a.cell, "minutes": a.minutes, "limit": a.limit}
        runs = []
        for n in names:
            used = {m[1] for m in PLACEHOLDER.finditer(open(os.path.join(STATS_DIR, n + ".sql"), encoding="utf-8").read())} if n in list_stats() else set()
            extra = [o for o in ("tz", "cell", "minutes", "limit") if opts[o] is not None and o not in used]
            if extra and len(names) == 1:
                raise ParamError(f"--{extra[0]}: not a parameter of {n!r}")
            runs.append({"stat": n, "name": n, **{k: v for k, v in opts.items() if v is not None and (k in ("from", "to") or k in used)}})
    prepared = [(r, *stat_sql(r["stat"], r)) for r in runs]  # every parameter checked before Spark starts

    from pyspark.sql import SparkSession

    b = SparkSession.builder.appName("dronewatch-lake-stats")
    if a.master:
        b = b.master(a.master)
    # UTC: the lake's timestamps are UTC wall-clock values. ANSI off: a division by zero is NULL, as in DuckDB (the
    # statistics were written for DuckDB's semantics). No inference of partition types: `tenant=0123` stays a string.
    spark = (b.config("spark.sql.session.timeZone", "UTC")
             .config("spark.sql.ansi.enabled", "false")
             .config("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
             .config("spark.ui.enabled", "false")
             .config("spark.ui.showConsoleProgress", "false"))
    # The answers are small (hundreds of rows): Spark's default of 200 shuffle partitions is 200 tasks per stage for
    # nothing on one machine. A cluster keeps its own setting unless told.
    local = (a.master or "local").startswith("local")
    if a.shuffle_partitions or local:
        spark = spark.config("spark.sql.shuffle.partitions", str(a.shuffle_partitions or 4))
    if local:
        # One JVM: the driver's RPC and block manager stay on the loopback interface instead of the address Spark
        # picks from the host's interfaces (and announces to nobody).
        spark = spark.config("spark.driver.bindAddress", "127.0.0.1").config("spark.driver.host", "127.0.0.1")
    conf = {}
    for kv in a.conf:
        key, sep, value = kv.partition("=")
        if not sep:
            raise ParamError(f"--conf: expected KEY=VALUE, got {kv!r}")
        conf[key] = value
    if any(loc.startswith("s3a://") for loc in (a.lake, a.out)):
        conf = {**s3a_defaults(conf), **conf}
    for key, value in conf.items():
        spark = spark.config(key, value)
    began = time.monotonic()
    spark = spark.getOrCreate()
    print(f"spark session ({spark.sparkContext.master}, Spark {spark.version}): started in {time.monotonic() - began:.1f} s", flush=True)
    timing("session", time.monotonic() - began)
    spark.sparkContext.setLogLevel("ERROR")
    try:
        try:
            began = time.monotonic()
            lake = Lake(spark, a.lake, a.tenant)
            timing("listing", time.monotonic() - began)
        except Exception as e:  # py4j's Py4JJavaError: the JVM's exception, as text
            if a.lake.startswith("webhdfs://") and "RuntimeDelegateImpl" in str(e):
                raise ParamError("--lake: this Spark's Hadoop client cannot read webhdfs:// (pyspark's shaded Hadoop jars lack "
                                 "Jersey's runtime); name the NameNode's RPC address instead: --lake hdfs://<namenode>:8020"
                                 + urlsplit(a.lake).path) from None
            raise
        registered = None
        if a.counts:
            began = time.monotonic()
            lake.register()
            timing("register", time.monotonic() - began)
            registered = (None, None)
            began = time.monotonic()
            counts = spark.sql(" UNION ALL ".join(f"SELECT '{v}' AS view, count(*) AS rows FROM {v}"
                                                for v in ("reports", "sightings", "words", "alert_events", "alerts",
                                                          "incident_events", "incidents")))
            write(counts, a.out, "table-counts", a.format)
            timing("counts", time.monotonic() - began)
        def answer(item):
            run, sql, _, _ = item
            started = time.monotonic()
            write(spark.sql(sql), a.out, run.get("name") or run["stat"], a.format)
            print(f"{run.get('name') or run['stat']}: written in {time.monotonic() - started:.1f} s", flush=True)
            timing("stat", time.monotonic() - started, run.get("name") or run["stat"])

        # The views of a period serve every statistic of that period; the statistics of one period run as concurrent
        # Spark jobs (--parallel): on small answers most of a job's time is planning in the driver, one thread each.
        periods = []
        for item in prepared:
            if not periods or periods[-1][0] != (item[2], item[3]):
                periods.append(((item[2], item[3]), []))
            periods[-1][1].append(item)
        with ThreadPoolExecutor(max_workers=max(1, a.parallel)) as pool:
            for (frm, to), items in periods:
                if registered != (frm, to):
                    began = time.monotonic()
                    lake.register(frm, to)
                    timing("register", time.monotonic() - began)
                    registered = (frm, to)
                for f in [pool.submit(answer, item) for item in items]:
                    f.result()
    finally:
        spark.stop()


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except ParamError as e:
        print(f"lake_stats: {e}", file=sys.stderr)
        sys.exit(2)
