# SPDX-License-Identifier: Apache-2.0
# Sourced by every script: finds a JDK 25 or newer (Knot's one supported range, the same as the pom's release)
# and exports JAVA_HOME and PATH.
# Order: $JAVA_HOME if it is 25+, else the newest JDK 25+ under /usr/lib/jvm (or $KNOT_JVM_DIRS).
# The default `java` on our machines is 17, which cannot run Knot, so we never trust PATH.
KNOT_MIN_JDK=25

knot_java_feature() {   # prints the feature version of the JDK at $1, or nothing
  local rel="$1/release"
  [ -x "$1/bin/java" ] && [ -x "$1/bin/javac" ] || return 0
  if [ -r "$rel" ]; then
    sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$rel" | head -n 1
  else
    "$1/bin/java" -XshowSettings:properties -version 2>&1 |
      sed -n 's/^ *java.specification.version = \([0-9]*\).*/\1/p' | head -n 1
  fi
}

knot_select_jdk() {
  local v best="" best_v=0 d
  if [ -n "${JAVA_HOME:-}" ]; then
    v=$(knot_java_feature "$JAVA_HOME")
    if [ -n "$v" ] && [ "$v" -ge "$KNOT_MIN_JDK" ]; then
      best="$JAVA_HOME"; best_v=$v
    else
      echo "knot: ignoring JAVA_HOME=$JAVA_HOME (${v:+JDK $v, }not a JDK $KNOT_MIN_JDK or newer); looking in ${KNOT_JVM_DIRS:-/usr/lib/jvm}" >&2
    fi
  fi
  if [ -z "$best" ]; then
    for d in ${KNOT_JVM_DIRS:-/usr/lib/jvm}/*; do
      [ -d "$d" ] || continue
      v=$(knot_java_feature "$d")
      if [ -n "$v" ] && [ "$v" -ge "$KNOT_MIN_JDK" ] && [ "$v" -gt "$best_v" ]; then best="$d"; best_v=$v; fi
    done
  fi
  if [ -z "$best" ]; then
    echo "knot: Knot needs a JDK $KNOT_MIN_JDK or newer; none found (JAVA_HOME=${JAVA_HOME:-unset}, searched ${KNOT_JVM_DIRS:-/usr/lib/jvm})." >&2
    echo "knot: install a JDK $KNOT_MIN_JDK+ (for instance Temurin 25) or point JAVA_HOME at one." >&2
    return 1
  fi
  export JAVA_HOME="$best"
  export PATH="$JAVA_HOME/bin:$PATH"
}

knot_select_jdk || exit 1
