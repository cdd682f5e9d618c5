# Sourced by ./eva4j, ci/test.sh and .ci/run: finds a JDK >= 25, the release eva4j is compiled for (the classes
# need it, and the launcher and the build pass options older JVMs reject).
# Looks at EVA4J_JAVA_HOME, JAVA_HOME, then the usual folders; exports JAVA_HOME and returns 0, or prints one
# line saying what is missing and returns 2.

eva4j_java_major() { # $1: a JDK folder -> its major version, or nothing
  if [ -f "$1/release" ]; then
    sed -n 's/^JAVA_VERSION="\([0-9][0-9]*\).*/\1/p' "$1/release"
  elif [ -x "$1/bin/java" ]; then
    "$1/bin/java" -version 2>&1 | sed -n '1s/.*version "\([0-9][0-9]*\).*/\1/p'
  fi
}

eva4j_find_jdk() {
  local need=25 best="" best_major=0 c major javac_dir
  local candidates=()
  [ -n "${EVA4J_JAVA_HOME:-}" ] && candidates+=("$EVA4J_JAVA_HOME")
  [ -n "${JAVA_HOME:-}" ] && candidates+=("$JAVA_HOME")
  # the JAVA_HOME (if it qualifies) wins over the folders below
  for c in "${candidates[@]}"; do
    major=$(eva4j_java_major "$c")
    if [ -n "$major" ] && [ "$major" -ge "$need" ] && [ -x "$c/bin/javac" ]; then
      export JAVA_HOME="$c"; return 0
    fi
  done
  candidates=(/usr/lib/jvm/* /opt/java/* /opt/*jdk* /usr/local/*jdk* /usr/java/* "$HOME"/.sdkman/candidates/java/* "$HOME"/.jdks/*)
  if command -v javac >/dev/null 2>&1; then
    javac_dir=$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")
    candidates+=("$javac_dir")
  fi
  for c in "${candidates[@]}"; do
    [ -x "$c/bin/java" ] && [ -x "$c/bin/javac" ] || continue
    major=$(eva4j_java_major "$c")
    [ -n "$major" ] || continue
    if [ "$major" -ge "$need" ] && [ "$major" -gt "$best_major" ]; then best="$c"; best_major=$major; fi
  done
  if [ -z "$best" ]; then
    echo "eva4j: no JDK >= $need found (looked at JAVA_HOME and /usr/lib/jvm, /opt/java, ~/.sdkman); install JDK 25 and set JAVA_HOME" >&2
    return 2
  fi
  export JAVA_HOME="$best"
  return 0
}
