# SPDX-License-Identifier: Apache-2.0
# Sourced by scripts that start a prefork master (scripts/run, scripts/soak): the master JVM's default options.
# The master supervises (a few control lines, heartbeats and process exits every second), it serves no requests,
# so it runs C1 only and small: with the default tiered JIT its methods, each run a few times per supervision
# cycle, cross the C1-profiling and then the C2 thresholds one by one for tens of minutes, each step adding
# compiled code and profile data (metaspace), a slow RSS creep that looks like a leak (benchmarks/RESULTS.md,
# "Master RSS under soak"). C1 only compiles a method once, without profile data, and then stops; the serial
# collector and a 64 MiB heap cap fit a live set of a few MB. An upgrade re-executes the master with these options
# (it copies the JVM's input arguments). KNOT_MASTER_JVM_OPTS, when set (even empty), replaces them.
knot_master_jvm_opts() {
  if [ -n "${KNOT_MASTER_JVM_OPTS+set}" ]; then
    KNOT_MASTER_OPTS=(${KNOT_MASTER_JVM_OPTS})
  else
    KNOT_MASTER_OPTS=(-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xmx64m)
  fi
}
