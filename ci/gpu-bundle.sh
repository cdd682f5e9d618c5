#!/usr/bin/env bash
# Packs what ci/gpu-check.sh needs on a GPU machine that has no JDK, no Maven and no network into .gpu/ (ignored by
# git; carry it with the run):
#   .gpu/jre.tar.xz   a JDK 25 runtime made with jlink (unpacks to jre/)
#   .gpu/lib/*.jar    the CLI and its runtime jars, the CUDA module's test classes (eva4j-native-cuda-tests.jar) and
#                     JUnit's launcher (GpuTestMain runs the tests without Maven)
# Left out to stay under the 64 MiB a run may carry: the jar bundling the all-MiniLM-L6-v2 model (83 MB) and the
# OpenBLAS natives (20 MB; the GPU run compares with the pure-Java CPU backend). Add EVA4J_GPU_BUNDLE_ALL=1 to keep
# them when the limit allows.
# Usage, from anywhere inside the project:  bash ci/gpu-bundle.sh     (then: bash ci/gpu-check.sh on the GPU machine)
# EVA4J_GPU_SKIP_BUILD=1 packs the jars of the last build without building again.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$root/ci/find-jdk.sh"
eva4j_find_jdk || exit 2
[ -x "$JAVA_HOME/bin/jlink" ] || { echo "gpu-bundle: no jlink under $JAVA_HOME" >&2; exit 2; }
cd "$root"
if [ -z "${EVA4J_GPU_SKIP_BUILD:-}" ]; then # set it to reuse the last build's jars
  mvn -q -B -ntp ${EVA4J_MVN_OPTS:--o} package -DskipTests
  mvn -q -B -ntp ${EVA4J_MVN_OPTS:--o} -pl native/cuda test-compile dependency:copy-dependencies \
    -DincludeScope=test -DoutputDirectory=target/gpu-test-lib
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
out="$work/gpu"
mkdir -p "$out/lib"
cp cli/target/eva4j-cli.jar "$out/lib/"
for j in cli/target/lib/*.jar native/cuda/target/gpu-test-lib/*.jar; do
  name=$(basename "$j")
  if [ -z "${EVA4J_GPU_BUNDLE_ALL:-}" ]; then
    case "$name" in langchain4j-embeddings-all-minilm*|openblas-*linux*) continue ;; esac
  fi
  [ -e "$out/lib/$name" ] || cp "$j" "$out/lib/"
done
"$JAVA_HOME/bin/jar" cf "$out/lib/eva4j-native-cuda-tests.jar" -C native/cuda/target/test-classes .
# a fixed module set (jdeps cannot resolve the jars' optional module dependencies): what the jars use
mods=java.base,java.desktop,java.logging,java.management,java.naming,java.net.http,java.scripting,java.sql,java.xml
mods=$mods,jdk.unsupported,jdk.incubator.vector,jdk.zipfs,jdk.management
tmp=$(mktemp -d)
"$JAVA_HOME/bin/jlink" --add-modules "$mods" --strip-debug --no-header-files --no-man-pages \
  --output "$tmp/jre" 2>&1 | { grep -v incubator || true; }
[ -x "$tmp/jre/bin/java" ] || { echo "gpu-bundle: jlink failed" >&2; exit 1; }
tar cJf "$out/jre.tar.xz" -C "$tmp" jre
rm -rf "$tmp"
total=$(du -sm "$out" | cut -f1)
if [ "$total" -gt 62 ]; then
  echo "gpu-bundle: $total MiB is more than a run may carry (64 MiB with the sources); nothing replaced" >&2
  exit 1
fi
rm -rf "$root/.gpu" && mv "$out" "$root/.gpu"
echo "gpu-bundle: .gpu holds $total MiB ($(ls .gpu/lib | wc -l) jars, modules: $mods)"
