#!/usr/bin/env bash
# The test command of the README: every module's unit and property tests (JUnit 5, jqwik), on JDK >= 22.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$root/ci/find-jdk.sh"
eva4j_find_jdk || exit 2
command -v mvn >/dev/null 2>&1 || { echo "eva4j: Maven is needed (Debian: apt-get install maven)" >&2; exit 2; }
echo "testing with $JAVA_HOME ($("$JAVA_HOME/bin/java" -version 2>&1 | head -n 1))"
cd "$root"
MAVEN_OPTS="${MAVEN_OPTS:---sun-misc-unsafe-memory-access=allow}" exec mvn -B -ntp verify "$@"
