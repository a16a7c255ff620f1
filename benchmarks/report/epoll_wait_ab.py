#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Interleaved A/B rounds of KeventWaitBatchBench: changes + wait in one io_uring_enter (IORING_OP_EPOLL_WAIT) vs
the earlier path (changes in one io_uring_enter, then epoll_pwait2) vs one epoll_ctl per change.

Each round runs one JMH fork per mode, in turn, so that the machine's load drifts over all modes alike; the
report gives each mode's median ns/op over the rounds and the ratio to the "off" mode per round (median, min,
max), with the load average and the steal share (/proc/stat) measured around every run. Standard library only.

Usage: epoll_wait_ab.py --java JAVA --jar benchmarks/target/benchmarks.jar --rounds 5 --out OUT.json
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

MODES = {
    "combined": ["-Dknot.uring.epollWait=true", "-Dknot.uring.epollWait.maxBatch=256"],
    "off": ["-Dknot.uring.epollWait=false"],
    "epoll_ctl": ["-Dknot.uring=false"],
}


def cpu_times():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return sum(v), v[7] if len(v) > 7 else 0


def run(java, jar, mode, params, wait, warm, meas):
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as t:
        out = t.name
    try:
        cmd = [java, "-jar", jar, "KeventWaitBatchBench", "-f", "1", "-wi", str(warm), "-i", str(meas), "-w", "1", "-r", "1",
               "-p", "changes=" + params, "-p", "waitNanos=" + wait, "-jvmArgsAppend", " ".join(MODES[mode]),
               "-rf", "json", "-rff", out]
        t0, s0 = cpu_times()
        load0 = os.getloadavg()[0]
        p = subprocess.run(cmd, capture_output=True, text=True)
        t1, s1 = cpu_times()
        if p.returncode != 0:
            raise RuntimeError(f"jmh failed: {p.stdout[-2000:]} {p.stderr[-2000:]}")
        with open(out) as f:
            res = json.load(f)
        scores = {r["params"]["changes"]: r["primaryMetric"]["score"] for r in res}
        return scores, {"load1": round((load0 + os.getloadavg()[0]) / 2, 2),
                        "steal_pct": round(100.0 * (s1 - s0) / max(1, t1 - t0), 2), "command": " ".join(cmd)}
    finally:
        os.unlink(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--java", required=True)
    ap.add_argument("--jar", required=True)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--changes", default="1,64,256")
    ap.add_argument("--wait", default="-1", help="waitNanos: -1 blocks, 1000000000 is a timed wait")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--iterations", type=int, default=3)
    ap.add_argument("--modes", default="combined,off,epoll_ctl")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    modes = a.modes.split(",")
    rounds = []
    for r in range(a.rounds):
        order = modes if r % 2 == 0 else list(reversed(modes))
        entry = {}
        for m in order:
            scores, env = run(a.java, a.jar, m, a.changes, a.wait, a.warmup, a.iterations)
            entry[m] = {"ns_per_op": scores, **env}
            print(f"round {r + 1} {m}: {scores} load {env['load1']} steal {env['steal_pct']}%", flush=True)
        rounds.append(entry)
    summary = {}
    for n in a.changes.split(","):
        s = {}
        for m in modes:
            s[m + "_median_ns"] = round(statistics.median(e[m]["ns_per_op"][n] for e in rounds), 1)
        for m in modes:
            if m == "off":
                continue
            ratios = [e[m]["ns_per_op"][n] / e["off"]["ns_per_op"][n] for e in rounds]
            s[m + "_over_off"] = {"median": round(statistics.median(ratios), 3), "min": round(min(ratios), 3),
                                  "max": round(max(ratios), 3)}
        summary[n] = s
        print(f"N={n}: {s}", flush=True)
    with open(a.out, "w") as f:
        json.dump({"wait": a.wait, "rounds": rounds, "summary": summary,
                   "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
