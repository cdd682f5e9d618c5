#!/usr/bin/env bash
# Builds the eva-service example (and the eva4j modules it needs) and starts it with the JVM options the ./eva4j
# launcher uses. Arguments go to the service: --port N (8080), --workers N (2), --max-models N (2),
# --jobs-dir DIR (./eva-service-jobs).
# Extra JVM options: EVA4J_JAVA_OPTS (e.g. -Xmx8g).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../../ci/find-jdk.sh
. "$root/ci/find-jdk.sh"
eva4j_find_jdk || exit 2
module="$root/examples/eva-service"
(cd "$root" && MAVEN_OPTS="${MAVEN_OPTS:---sun-misc-unsafe-memory-access=allow}" \
  mvn -q -B -DskipTests package -pl examples/eva-service -am)
# shellcheck disable=SC2086
exec "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector \
  -XX:+UseParallelGC -XX:MaxNewSize=96m -XX:-UseProfiledLoopPredicate ${EVA4J_JAVA_OPTS:-} \
  -cp "$module/target/eva4j-example-eva-service-0.1.0-SNAPSHOT.jar:$module/target/lib/*" \
  dev.eva4j.examples.service.EvaService "$@"
