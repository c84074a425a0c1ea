#!/usr/bin/env bash
# The Apache Hadoop 3.5 HDFS daemons for the HDFS tests (src/testkit/hdfs.ts starts a NameNode and three DataNodes as
# `java -cp '<conf>:jars/*' org.apache.hadoop.hdfs.server.{namenode.NameNode,datanode.DataNode}`), resolved from
# deploy/hdfs/classpath/pom.xml by .ci/maven-classpath.sh. Hadoop 3.5's classes are Java 17 class files.
set -euo pipefail
cd "$(dirname "$0")/.."
java_major=$(.ci/maven-classpath.sh hdfs 'Hadoop 3.5' | tail -n1)
java_bin=java
[ -n "${JAVA_HOME:-}" ] && java_bin="$JAVA_HOME/bin/java"
echo "== Hadoop $("$java_bin" -cp 'deploy/hdfs/classpath/target/dependency/*' org.apache.hadoop.util.VersionInfo 2>/dev/null | sed -n 's/^Hadoop //p' | head -n1) HDFS in deploy/hdfs/classpath/target/dependency (Java $java_major)"
