#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# System calls per request of one Netty server (HTTP, optionally pipelined), counted with strace -f -c over a wrk run:
# a figure that, unlike CPU time, does not depend on how busy the machine is.
#   benchmarks/load/syscalls_per_request.sh CLASSPATH TRANSPORT DEPTH PORT [SECONDS]
# TRANSPORT: knot, epoll, io_uring, nio; DEPTH 1 = plain keep-alive HTTP, 16 = 16-deep pipelining.
set -euo pipefail
CP=$1 TRANSPORT=$2 DEPTH=$3 PORT=$4 SECS=${5:-5}
cd "$(dirname "$0")/../.."
JAVA=${JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}/bin/java
TMP=$(mktemp -d)
trap 'kill $SRV 2>/dev/null || true; wait $SRV 2>/dev/null || true; rm -rf "$TMP"' EXIT
taskset -c 0 "$JAVA" --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow \
  -Dio.netty.tryReflectionSetAccessible=true -Dio.netty.leakDetection.level=disabled -Xms256m -Xmx256m \
  -XX:+UseSerialGC -cp "$CP" dev.knot.bench.servers.NettyHttpServer "$TRANSPORT" "$PORT" > "$TMP/server.log" 2>&1 &
SRV=$!
for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.1; done
WRK=(taskset -c 1 wrk -t1 -c64)
[ "$DEPTH" -gt 1 ] && WRK+=(-s benchmarks/load/pipeline.lua)
TAIL=(); [ "$DEPTH" -gt 1 ] && TAIL=(-- "$DEPTH")
"${WRK[@]}" -d3s "http://127.0.0.1:$PORT/" "${TAIL[@]}" > /dev/null          # warm-up (JIT)
strace -f -c -qq -o "$TMP/strace.txt" -p "$SRV" &
ST=$!
sleep 1
"${WRK[@]}" -d"${SECS}s" "http://127.0.0.1:$PORT/" "${TAIL[@]}" > "$TMP/wrk.txt"
kill -INT $ST; wait $ST 2>/dev/null || true
REQ=$(awk '/requests in/ {print $1}' "$TMP/wrk.txt")
python3 - "$TMP/strace.txt" "$REQ" "$TRANSPORT" "$DEPTH" <<'PY'
import sys
path, req, transport, depth = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
rows = {}
for line in open(path):
    f = line.split()
    if len(f) >= 5 and f[0][0].isdigit() and f[-1] != "total":
        calls = int(f[3]); rows[f[-1]] = calls
tot = sum(rows.values())
top = sorted(rows.items(), key=lambda x: -x[1])[:8]
print(f"{transport} depth {depth}: {req} requests, {tot / req:.3f} syscalls/req: "
      + ", ".join(f"{k} {v / req:.3f}" for k, v in top))
PY
