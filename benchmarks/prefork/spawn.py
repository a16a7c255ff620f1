#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Prefork worker start-up with and without the AOT cache: spawn-to-ready time and PSS per worker.

Starts a prefork master (the library jar, default app unless --app) with N workers, again and again, alternating
between no cache and --aot-cache (trained once up front, not timed), and reads from the master's log the time from
"spawned worker" to "worker ... ready" for each worker, its CPU time (user + system, all threads) when it is
ready, then each worker's PSS and RSS from
/proc/PID/smaps_rollup once it is ready (after --settle-ms). Prints one JSON line per sample and the medians.

    python3 benchmarks/prefork/spawn.py --jar target/knot-0.1.0.jar --runs 7 --port 18100
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

SPAWNED = re.compile(r"T(\d+):(\d+):([\d.]+)Z knot-master\[\d+\]: spawned worker (\d+) \(generation \d+, pid (\d+)")
MAIN = re.compile(r"knot-worker-\d+\[(\d+)\]: ready: .* main at \d+-\d+-\d+T(\d+):(\d+):([\d.]+)Z")
READY = re.compile(r"T(\d+):(\d+):([\d.]+)Z knot-master\[\d+\]: worker (\d+) \(pid (\d+)\) ready")


def seconds(h, m, s):
    return int(h) * 3600 + int(m) * 60 + float(s)


def smaps(pid):
    out = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("Pss", "Rss"):
                out[k.lower() + "_kib"] = int(v.split()[0])
    return out


def cpu_ms(pid):
    """User + system CPU of a process so far (all its threads), in ms: less sensitive to a loaded machine than wall time."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 // os.sysconf("SC_CLK_TCK")


def run_once(a, aot_dir, port):
    ctl = tempfile.mkdtemp(prefix="knot-spawn-ctl")
    log_path = os.path.join(ctl, "master.log")
    cmd = [a.java, "--enable-native-access=ALL-UNNAMED", "-jar", a.jar, "--listen", f"127.0.0.1:{port}",
           "--workers", str(a.workers), "--control-dir", ctl] + a.master_args
    if aot_dir:
        cmd += ["--aot-cache", aot_dir]
    with open(log_path, "wb") as log:
        p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    samples = []
    cpu = {}
    try:
        deadline = time.time() + a.timeout
        while time.time() < deadline:
            text = open(log_path, errors="replace").read()
            ready = {int(m.group(5)): seconds(*m.group(1, 2, 3)) for m in READY.finditer(text)}
            for pid in ready:
                if pid not in cpu:
                    cpu[pid] = cpu_ms(pid)   # read within one poll (50 ms) of the ready line
            if len(ready) >= a.workers:
                break
            if p.poll() is not None:
                raise RuntimeError("master exited:\n" + text)
            time.sleep(0.05)
        else:
            raise RuntimeError("workers not ready in time:\n" + open(log_path).read())
        time.sleep(a.settle_ms / 1000)
        text = open(log_path, errors="replace").read()
        spawned = {int(m.group(5)): seconds(*m.group(1, 2, 3)) for m in SPAWNED.finditer(text)}
        main_at = {int(m.group(1)): seconds(*m.group(2, 3, 4)) for m in MAIN.finditer(text)}
        for pid, t_ready in ready.items():
            s = {"aot": bool(aot_dir), "pid": pid, "spawn_to_ready_ms": round((t_ready - spawned[pid]) * 1000, 1),
                 "cpu_at_ready_ms": cpu.get(pid)}
            if pid in main_at:
                s["spawn_to_main_ms"] = round((main_at[pid] - spawned[pid]) * 1000, 1)
                s["main_to_ready_ms"] = round((t_ready - main_at[pid]) * 1000, 1)
            s.update(smaps(pid))
            samples.append(s)
    finally:
        p.terminate()   # TERM: graceful stop
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        shutil.rmtree(ctl, ignore_errors=True)
    return samples


def main():
    ap = argparse.ArgumentParser()
    jdk25 = "/usr/lib/jvm/temurin-25-jdk-amd64/bin/java"
    ap.add_argument("--java", default=os.environ.get("KNOT_JAVA") or (jdk25 if os.path.exists(jdk25) else shutil.which("java")))
    ap.add_argument("--jar", required=True)
    ap.add_argument("--runs", type=int, default=7, help="runs per mode, interleaved")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--port", type=int, default=18100)
    ap.add_argument("--settle-ms", type=int, default=1000, help="wait after ready before reading PSS")
    ap.add_argument("--timeout", type=float, default=120)
    ap.add_argument("master_args", nargs="*", help="more master options (after --)")
    a = ap.parse_args()
    aot_dir = tempfile.mkdtemp(prefix="knot-spawn-aot")
    try:
        print("training the cache (not timed)...", file=sys.stderr)
        run_once(a, aot_dir, a.port)
        results = {False: [], True: []}
        for i in range(a.runs):
            for aot in (False, True) if i % 2 == 0 else (True, False):
                for s in run_once(a, aot_dir if aot else None, a.port):
                    print(json.dumps(s), flush=True)
                    results[aot].append(s)
        summary = {}
        for aot, l in results.items():
            name = "aot" if aot else "no_aot"
            summary[name] = {k: statistics.median(x[k] for x in l if k in x)
                             for k in ("spawn_to_ready_ms", "cpu_at_ready_ms", "spawn_to_main_ms", "main_to_ready_ms", "pss_kib", "rss_kib")}
            summary[name]["samples"] = len(l)
        summary["ratio_spawn_to_ready"] = round(summary["aot"]["spawn_to_ready_ms"] / summary["no_aot"]["spawn_to_ready_ms"], 3)
        summary["ratio_cpu_at_ready"] = round(summary["aot"]["cpu_at_ready_ms"] / summary["no_aot"]["cpu_at_ready_ms"], 3)
        summary["ratio_pss"] = round(summary["aot"]["pss_kib"] / summary["no_aot"]["pss_kib"], 3)
        print(json.dumps({"median": summary, "workers": a.workers, "runs": a.runs, "master_args": a.master_args}))
    finally:
        shutil.rmtree(aot_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
