# SPDX-License-Identifier: Apache-2.0
# Sourced by scripts that build: runs Maven quietly with the JDK chosen by jdk.sh.
# Maven's own libraries touch sun.misc.Unsafe, which JDK 24+ warns about; that warning is not Knot's.
export MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow"

knot_mvn() {
  if ! command -v mvn >/dev/null 2>&1; then
    echo "knot: Maven (mvn) is not installed; install it (Debian: apt-get install maven)." >&2
    return 1
  fi
  mvn -B -q -Dstyle.color=never "$@"
}

# Builds target/knot-<version>.jar (and target/examples/knot-examples-<version>.jar) unless it is newer than every source file.
knot_build_jar() {
  local jar
  jar=$(ls target/knot-*.jar 2>/dev/null | head -n 1 || true)
  if [ -z "$jar" ] || ! ls target/examples/knot-examples-*.jar >/dev/null 2>&1 || [ -n "$(find src bindings/java pom.xml -newer "$jar" -type f 2>/dev/null | head -n 1)" ]; then
    echo "knot: building the jar..." >&2
    knot_mvn package -DskipTests >&2
    jar=$(ls target/knot-*.jar | head -n 1)
  fi
  KNOT_JAR="$jar"
}
