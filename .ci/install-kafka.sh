#!/usr/bin/env bash
# The Apache Kafka 4.x broker for the Kafka tests (src/testkit/kafka.ts starts it as `java -cp 'jars/*' kafka.Kafka`),
# resolved from deploy/kafka/classpath/pom.xml by .ci/maven-classpath.sh. Kafka 4 needs Java 17 or later.
set -euo pipefail
cd "$(dirname "$0")/.."
java_major=$(.ci/maven-classpath.sh kafka 'Kafka 4' | tail -n1)
java_bin=java
[ -n "${JAVA_HOME:-}" ] && java_bin="$JAVA_HOME/bin/java"
echo "== Kafka $("$java_bin" -cp 'deploy/kafka/classpath/target/dependency/*' kafka.Kafka --version 2>/dev/null | tail -n1) in deploy/kafka/classpath/target/dependency (Java $java_major)"
