#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# System calls per request of one Netty server, counted with strace -f -c over a load run: a figure that, unlike
# CPU time, does not depend on how busy the machine is.
#   benchmarks/load/syscalls_per_request.sh CLASSPATH TRANSPORT SCENARIO PORT [SECONDS]
# TRANSPORT: knot, epoll, io_uring, nio. SCENARIO: http (keep-alive, wrk -c64), http-pipeline16 (16-deep pipelining),
# echo-c1 or echo-c64 (benchmarks/target/bin/echo_client, 64-byte messages, 1 or 64 connections).
set -euo pipefail
CP=$1 TRANSPORT=$2 SCENARIO=$3 PORT=$4 SECS=${5:-5}
cd "$(dirname "$0")/../.."
JAVA=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}/bin/java
TMP=$(mktemp -d)
trap 'kill $SRV 2>/dev/null || true; wait $SRV 2>/dev/null || true; rm -rf "$TMP"' EXIT
case "$SCENARIO" in
  http) DEPTH=1 SERVER=NettyHttpServer ;;
  http-pipeline16) DEPTH=16 SERVER=NettyHttpServer ;;
  echo-c*) CONNS=${SCENARIO#echo-c} SERVER=NettyEchoServer ;;
  *) echo "unknown scenario $SCENARIO" >&2; exit 2 ;;
esac
taskset -c 0 "$JAVA" --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow \
  -Dio.netty.tryReflectionSetAccessible=true -Dio.netty.leakDetection.level=disabled -Xms256m -Xmx256m \
  -XX:+UseSerialGC -cp "$CP" "dev.knot.bench.servers.$SERVER" "$TRANSPORT" "$PORT" > "$TMP/server.log" 2>&1 &
SRV=$!
for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.1; done
if [ "$SERVER" = NettyHttpServer ]; then
  WRK=(taskset -c 1 wrk -t1 -c64)
  TAIL=()
  if [ "$DEPTH" -gt 1 ]; then WRK+=(-s benchmarks/load/pipeline.lua); TAIL=(-- "$DEPTH"); fi
  load() { "${WRK[@]}" -d"$1s" "http://127.0.0.1:$PORT/" "${TAIL[@]}"; }
  requests() { awk '/requests in/ {print $1}' "$1"; }
else
  load() { taskset -c 1 benchmarks/target/bin/echo_client 127.0.0.1 "$PORT" "$CONNS" 64 0 "$1"; }
  requests() { grep '^{' "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["requests"])'; }
fi
load 3 > /dev/null                                                    # warm-up (JIT)
strace -f -c -qq -o "$TMP/strace.txt" -p "$SRV" &
ST=$!
sleep 1
load "$SECS" > "$TMP/load.txt"
kill -INT $ST; wait $ST 2>/dev/null || true
REQ=$(requests "$TMP/load.txt")
python3 - "$TMP/strace.txt" "$REQ" "$TRANSPORT" "$SCENARIO" <<'PY'
import sys
path, req, transport, scenario = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
rows = {}
for line in open(path):
    f = line.split()
    if len(f) >= 5 and f[0][0].isdigit() and f[-1] != "total":
        calls = int(f[3]); rows[f[-1]] = calls
tot = sum(rows.values())
top = sorted(rows.items(), key=lambda x: -x[1])[:8]
print(f"{transport} {scenario}: {req} requests, {tot / req:.3f} syscalls/req: "
      + ", ".join(f"{k} {v / req:.3f}" for k, v in top))
PY
