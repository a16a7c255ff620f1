#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Counts the system calls one batch-path operation makes (KeventFdBatchBench, KeventTcpBatchBench, KeventUserBatchBench).

Runs dev.knot.bench.jmh.BatchProbe under `strace -f -c` twice, with the same warm-up and 0 or OPS measured
operations, and divides the difference of each syscall count by OPS: what the JVM does at start-up and exit cancels
out. Writes JSON to OUT. Standard library only.
"""
import argparse
import json
import re
import subprocess
import sys

TRACE = "epoll_wait,epoll_pwait,epoll_pwait2,epoll_ctl,io_uring_enter,ioctl,getsockopt,poll,ppoll,fcntl,read,write,recvfrom,sendto,eventfd2"


def counts(java, jar, workload, changes, warmup, ops, jvm_args=()):
    cmd = ["strace", "-f", "-c", "--seccomp-bpf", "-e", "trace=" + TRACE, java, *jvm_args, "--enable-native-access=ALL-UNNAMED", "-cp", jar, "dev.knot.bench.jmh.BatchProbe", workload, str(changes), str(warmup), str(ops)]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"strace run failed ({p.returncode}): {p.stderr[-2000:]}")
    c = {}
    for line in p.stderr.splitlines():
        m = re.match(r"\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:(\d+)\s+)?(\w+)\s*$", line)
        if m and m.group(3) != "total":
            c[m.group(3)] = int(m.group(1))
    return c, " ".join(cmd)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--java", required=True)
    ap.add_argument("--jar", required=True)
    ap.add_argument("--ops", type=int, default=1000)
    ap.add_argument("--warmup", type=int, default=20, help="ops before the measured ones (syscall counts need no JIT warm-up)")
    ap.add_argument("--changes", type=int, default=16)
    ap.add_argument("--workloads", default="fd,fd-tcp,user,selector-knot,selector-nio",
                    help="BatchProbe workloads; fd-wait and fd-timed: N changes then a blocking or timed wait")
    ap.add_argument("--jvm-arg", action="append", default=[], help="a JVM option for BatchProbe (repeatable)")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    result = {"trace": TRACE, "ops": a.ops, "warmup": a.warmup, "jvm_args": a.jvm_arg}
    for workload in a.workloads.split(","):
        # A select op makes a few hundred system calls: a tenth of the ops gives the same precision.
        ops = a.ops if not workload.startswith("selector") else max(50, a.ops // 10)
        warm = a.warmup
        base, _ = counts(a.java, a.jar, workload, a.changes, warm, 0, a.jvm_arg)
        full, cmd = counts(a.java, a.jar, workload, a.changes, warm, ops, a.jvm_arg)
        per_op = {}
        for name in sorted(set(base) | set(full)):
            d = (full.get(name, 0) - base.get(name, 0)) / ops
            if abs(d) >= 0.005:
                per_op[name] = round(d, 3)
        result[workload] = {"changes": a.changes, "ops": ops, "command": cmd, "per_op": per_op}
        print(f"{workload} (N={a.changes}): syscalls per op: {per_op}", flush=True)
    with open(a.out, "w") as f:
        json.dump(result, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
