#!/usr/bin/env bash
# PySpark (which bundles Spark's jars) for the Spark tests (test/analysis/spark*.test.ts, src/testkit/spark.ts) and the
# `dronewatch spark` command: a Python virtual environment in deploy/spark/.venv with the pinned pyspark of
# deploy/spark/requirements.txt, pip's downloads cached in ~/.cache/pip (a warm machine downloads nothing).
# Needs python3 with venv and Java >= 17 (Spark 4); as root on a Debian machine without them, installs them.
# Then the jars of Hadoop's s3a:// file system (hadoop-aws and the AWS SDK v2 modules it calls, ~13 MB, not the SDK's
# bundle jar) for a lake on S3/Ceph, from deploy/spark/classpath/pom.xml with Maven (.ci/maven-classpath.sh, ~/.m2 as
# cache), into deploy/spark/classpath/target/dependency; hadoop-aws must be the Hadoop version pyspark bundles.
set -euo pipefail
cd "$(dirname "$0")/.."

java_bin=java
[ -n "${JAVA_HOME:-}" ] && java_bin="$JAVA_HOME/bin/java"
if ! command -v python3 >/dev/null || ! python3 -c 'import venv, ensurepip' 2>/dev/null || ! command -v "$java_bin" >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3 python3-venv openjdk-17-jre-headless >/dev/null
  else
    echo "install-spark: python3 (with venv) and Java >= 17 are needed (Debian: apt-get install python3-venv openjdk-17-jre-headless)" >&2
    exit 1
  fi
fi
java_major=$("$java_bin" -version 2>&1 | sed -nE 's/.*version "(1\.)?([0-9]+).*/\2/p' | head -n1)
if [ -z "$java_major" ] || [ "$java_major" -lt 17 ]; then
  echo "install-spark: $java_bin is Java ${java_major:-?}; Spark 4 needs 17 or later (set JAVA_HOME)" >&2
  exit 1
fi

venv=deploy/spark/.venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check --cache-dir "$HOME/.cache/pip" -r deploy/spark/requirements.txt
echo "== $("$venv/bin/python" -c 'import pyspark; print("pyspark", pyspark.__version__)') in $venv (Java $java_major)"

# hadoop-aws calls Hadoop's internals: a pyspark bundling another Hadoop than the pom names would fail at run time.
bundled=$(ls "$venv"/lib/python3*/site-packages/pyspark/jars/ | sed -nE 's/^hadoop-client-api-([0-9.]+)\.jar$/\1/p' | head -n1)
wanted=$(sed -nE 's/.*<hadoop.version>([^<]+)<.*/\1/p' deploy/spark/classpath/pom.xml)
if [ "$bundled" != "$wanted" ]; then
  echo "install-spark: pyspark bundles Hadoop ${bundled:-?} but deploy/spark/classpath/pom.xml names hadoop-aws $wanted: make them equal" >&2
  exit 1
fi
.ci/maven-classpath.sh spark "Spark's s3a jars" >/dev/null
echo "== s3a: hadoop-aws $wanted and $(ls deploy/spark/classpath/target/dependency | wc -l) jars ($(du -sh deploy/spark/classpath/target/dependency | cut -f1)) in deploy/spark/classpath/target/dependency"
