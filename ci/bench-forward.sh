#!/usr/bin/env bash
# MiniLM (all-MiniLM-L6-v2) forward throughput at batch 32 x 128: eva4j's BertModel on OpenBLAS vs ONNX Runtime on the
# same ONNX file, interleaved in one JVM (models/src/test/java/dev/eva4j/models/MiniLmBench.java). ONNX Runtime is a
# test-scope dependency (139 MB), so this runs from the models module's test class path, not from the CLI.
# Usage: bash ci/bench-forward.sh [ortThreads=2] [blasThreads=ortThreads] [warmup=3] [runs=7]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$root/ci/find-jdk.sh"
eva4j_find_jdk || exit 2
cd "$root"
MAVEN_OPTS="${MAVEN_OPTS:---sun-misc-unsafe-memory-access=allow}" mvn -q -B install -DskipTests -pl models -am >/dev/null
MAVEN_OPTS="${MAVEN_OPTS:---sun-misc-unsafe-memory-access=allow}" mvn -q -B -pl models test-compile \
  dependency:build-classpath -Dmdep.outputFile=target/cp.txt -Dmdep.includeScope=test >/dev/null
cd models
exec "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector \
  -cp "target/test-classes:target/classes:$(cat target/cp.txt)" dev.eva4j.models.MiniLmBench "$@"
