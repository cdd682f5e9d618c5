#!/usr/bin/env bash
# The test command of the README: every module's unit and property tests (JUnit 5, jqwik), on JDK >= 25.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$root/ci/find-jdk.sh"
eva4j_find_jdk || exit 2
command -v mvn >/dev/null 2>&1 || { echo "eva4j: Maven is needed (Debian: apt-get install maven)" >&2; exit 2; }
# the loss plots (train, plot) draw text: Java2D needs fontconfig and one font
if [ -z "$(fc-list 2>/dev/null | head -n 1)" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq fontconfig fonts-dejavu-core
  else
    echo "eva4j: the tests draw PNG plots and need a font (Debian: apt-get install fontconfig fonts-dejavu-core)" >&2
    exit 2
  fi
fi
echo "testing with $JAVA_HOME ($("$JAVA_HOME/bin/java" -version 2>&1 | head -n 1))"
cd "$root"
MAVEN_OPTS="${MAVEN_OPTS:---sun-misc-unsafe-memory-access=allow}" exec mvn -B -ntp verify "$@"
