#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""When an HTTP server stalls: one keep-alive connection sending one request per millisecond, wall-clock stamped.

wrk gives a latency distribution but not when its slow requests happened. Run this beside a load (on the client's
CPU) and start the server JVM with wall-clock log decorations, for instance
-Xlog:jit+compilation=debug,deoptimization=debug,safepoint:file=jvm.log:time,uptime,tid, then put the stalls this
prints beside that log: a stall that every connection sees (this probe is one connection of many) is the loop
thread not running, and its time says what the JVM was doing then.

Prints every request slower than --threshold-ms with its UTC start time, then a summary; --out writes every
sample (epoch seconds, milliseconds). Standard library only.
"""
import argparse
import datetime
import socket
import sys
import time


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("port", type=int)
    ap.add_argument("seconds", type=float)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--path", default="/plaintext")
    ap.add_argument("--body", default="Hello, World!", help="the response ends with this")
    ap.add_argument("--threshold-ms", type=float, default=10.0)
    ap.add_argument("--interval-ms", type=float, default=1.0)
    ap.add_argument("--timeout", type=float, default=5.0, help="seconds a response may take before the probe fails")
    ap.add_argument("--out")
    a = ap.parse_args()
    req = f"GET {a.path} HTTP/1.1\r\nHost: {a.host}\r\n\r\n".encode()
    body = a.body.encode()
    rows = []
    try:
        conn = socket.create_connection((a.host, a.port), timeout=a.timeout)
    except OSError as e:
        print(f"cannot connect to {a.host}:{a.port}: {e}", file=sys.stderr)
        return 2
    with conn as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        end = time.time() + a.seconds
        while time.time() < end:
            t0 = time.time()
            buf = b""
            try:
                s.sendall(req)
                while not buf.endswith(body):
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    buf += chunk
            except OSError as e:                         # socket.timeout included: a stall longer than --timeout
                print(f"probe request failed after {time.time() - t0:.1f} s: {e}", file=sys.stderr)
                return 1
            if not buf.endswith(body):
                print("the server closed the probe's connection", file=sys.stderr)
                return 1
            ms = (time.time() - t0) * 1e3
            rows.append((t0, ms))
            if ms > a.threshold_ms:
                stamp = datetime.datetime.fromtimestamp(t0, datetime.timezone.utc).strftime("%H:%M:%S.%f")[:-3]
                print(f"stall {stamp} UTC {ms:.1f} ms", flush=True)
            time.sleep(a.interval_ms / 1e3)
    if a.out:
        with open(a.out, "w") as f:
            f.writelines(f"{t:.6f} {ms:.3f}\n" for t, ms in rows)
    lat = sorted(ms for _, ms in rows)
    if lat:
        print(f"{len(lat)} requests: p50 {lat[len(lat) // 2]:.2f} ms, p99 {lat[int(len(lat) * 0.99)]:.2f} ms, "
              f"max {lat[-1]:.2f} ms, {sum(1 for x in lat if x > a.threshold_ms)} above {a.threshold_ms:g} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
