#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Changelist path on Linux: io_uring batch vs one epoll_ctl per change (KeventChangelistBench).

For N changes per kevent call, runs KeventChangelistBench.main in fresh JVMs with -Dknot.uring=true and false,
interleaved, ROUNDS times each, and reports (1) system calls per kevent call from `strace -f -c` (difference of
a run with OPS operations and one with 0, divided by OPS, so start-up cancels out) and (2) the median ns/op of the
warm rounds and the io_uring/epoll_ctl ratio, with the machine's load average and steal over the timed runs.
A timed harness on a shared VM: read the ratios, not the absolute numbers. Standard library only.
"""
import argparse
import re
import statistics
import subprocess

TRACE = "io_uring_enter,epoll_ctl,epoll_wait,epoll_pwait,epoll_pwait2"


def cmd(a, mode, n, ops, rounds):
    return [a.java, "--enable-native-access=ALL-UNNAMED", "-Xms256m", "-Xmx256m", f"-Dknot.uring={mode}",
            f"-Dknot.uring.minBatch={a.min_batch}", "-cp", a.cp,
            "dev.knot.bench.jmh.KeventChangelistBench", str(n), str(ops), str(rounds)]


def syscalls(a, mode, n, ops):
    def run(k):
        p = subprocess.run(["strace", "-f", "-c", "-e", "trace=" + TRACE] + cmd(a, mode, n, k, 1), capture_output=True, text=True)
        c = {}
        for line in p.stderr.splitlines():
            m = re.match(r"\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:(\d+)\s+)?(\w+)\s*$", line)
            if m and m.group(3) != "total":
                c[m.group(3)] = int(m.group(1))
        return c
    hi, lo = run(ops), run(0)
    return {k: (hi.get(k, 0) - lo.get(k, 0)) / (ops * 1.1) for k in set(hi) | set(lo)}


def cpu():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return sum(v), v[7]


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--java", required=True)
    ap.add_argument("--cp", required=True)
    ap.add_argument("--changes", default="1,8,64")
    ap.add_argument("--reps", type=int, default=3, help="JVMs per mode and N, interleaved")
    ap.add_argument("--min-batch", type=int, default=2, help="-Dknot.uring.minBatch: 2 measures io_uring at every N >= 2")
    ap.add_argument("--budget", type=int, default=2_000_000, help="changes per timed round")
    a = ap.parse_args()
    print("| N | path | syscalls per kevent call (strace) | ns/op median [min-max] of warm rounds | io_uring / epoll_ctl |")
    print("|---:|---|---|---|---:|")
    t0, s0 = cpu()
    with open("/proc/loadavg") as f:
        load0 = f.read().split()[0]
    for n in [int(x) for x in a.changes.split(",")]:
        ops = max(2000, a.budget // n)
        res = {"true": [], "false": []}
        for _ in range(a.reps):
            for mode in ("true", "false"):
                out = subprocess.run(cmd(a, mode, n, ops, 6), capture_output=True, text=True, check=True).stdout
                r = [float(x) for x in re.findall(r"round \d+: (\d+) ns/op", out)]
                res[mode] += r[2:]                     # rounds 0-1 are warm-up
        med = {m: statistics.median(v) for m, v in res.items()}
        for mode, name in (("true", "io_uring"), ("false", "epoll_ctl")):
            sc = syscalls(a, mode, n, 2000)
            scs = ", ".join(f"{k} {v:.2f}" for k, v in sorted(sc.items()) if v >= 0.01) or "none"
            v = res[mode]
            ratio = f"{med['true'] / med['false']:.2f}" if mode == "true" else ""
            print(f"| {n} | {name} | {scs} | {med[mode]:.0f} [{min(v):.0f}-{max(v):.0f}] | {ratio} |")
    t1, s1 = cpu()
    with open("/proc/loadavg") as f:
        load1 = f.read().split()[0]
    print(f"\nload average {load0} -> {load1}; steal {100.0 * (s1 - s0) / max(1, t1 - t0):.1f}% of CPU time during the runs")


if __name__ == "__main__":
    main()
