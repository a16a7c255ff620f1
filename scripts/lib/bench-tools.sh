# SPDX-License-Identifier: Apache-2.0
# Sourced by scripts/bench: makes sure the benchmark tools are there, installing Debian packages if needed.
# Benchmarks are not CI: .ci/run never installs these.

knot_bench_tools() {
  local need=()
  command -v gcc >/dev/null 2>&1 || need+=(gcc)
  command -v wrk >/dev/null 2>&1 || need+=(wrk)
  command -v strace >/dev/null 2>&1 || need+=(strace)
  command -v taskset >/dev/null 2>&1 || need+=(util-linux)
  command -v python3 >/dev/null 2>&1 || need+=(python3)
  [ ${#need[@]} -eq 0 ] && return 0
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "bench: installing ${need[*]}" >&2
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
}
