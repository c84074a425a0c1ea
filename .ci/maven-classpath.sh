#!/usr/bin/env bash
# Resolves a JVM server's classpath (deploy/<name>/classpath/pom.xml) into deploy/<name>/classpath/target/dependency
# with Maven, from the machine's configured Maven repository, with ~/.m2/repository as cache (a warm machine downloads
# nothing). Shared by install-kafka.sh and install-hdfs.sh. Needs Java >= 17 and Maven; as root on a Debian machine
# without them, installs both. Usage: maven-classpath.sh <name> <what, for messages>
# Prints the Java major version on the last line of stdout for the caller's summary.
set -euo pipefail
cd "$(dirname "$0")/.."
name=$1
what=$2

java_bin=java
[ -n "${JAVA_HOME:-}" ] && java_bin="$JAVA_HOME/bin/java"
if ! command -v mvn >/dev/null || ! command -v "$java_bin" >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends maven openjdk-17-jre-headless >/dev/null
  else
    echo "install-$name: Maven and Java >= 17 are needed (Debian: apt-get install maven openjdk-17-jre-headless)" >&2
    exit 1
  fi
fi
java_major=$("$java_bin" -version 2>&1 | sed -nE 's/.*version "(1\.)?([0-9]+).*/\2/p' | head -n1)
if [ -z "$java_major" ] || [ "$java_major" -lt 17 ]; then
  echo "install-$name: $java_bin is Java ${java_major:-?}; $what needs 17 or later (set JAVA_HOME)" >&2
  exit 1
fi

cd "deploy/$name/classpath"
# Emptied first: after a version change in pom.xml the old jars would stay beside the new ones on the classpath.
rm -rf target/dependency
# Maven 3.8 prints bare ANSI resets even in batch mode; the sed strips them (pipefail keeps a Maven failure fatal).
mvn -B -q -Dstyle.color=never -Dmaven.repo.local="$HOME/.m2/repository" dependency:copy-dependencies 2>&1 | sed 's/\x1b\[[0-9;]*m//g' >&2
echo "$java_major"
