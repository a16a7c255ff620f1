#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Where an HTTP server's latency tail comes from (issue 11, item 5): GC and safepoints, the JIT, or the scheduler.

Runs the HTTP servers of loadtest.py one at a time, pinned to CPU 0 with wrk -t1 -c64 on CPU 1 as loadtest.py does,
but after the warm-up measures several consecutive windows on the same server process. For each window it records
wrk's p50/p99/p99.9/max next to what happened on the server's CPU during that window, read from /proc:

- per thread, CPU time and time spent runnable but waiting for the CPU (/proc/PID/task/TID/schedstat) and
  involuntary context switches (status): the event-loop thread (the thread with the most CPU) waiting for the CPU
  while another thread of its own JVM runs is a stall every connection in flight sees;
- CPU of the JIT compiler threads, of the GC and VM threads, and of everything else in the JVM;
- safepoint pauses in the window (-Xlog:safepoint), which stop the loop thread as well.

If the tail follows the loop thread's wait for the CPU and the compiler threads' CPU, and falls as compilation
settles from window to window, it is the JIT sharing the one CPU; if it follows the safepoints, it is GC or the VM.

Writes OUT/tail.jsonl (one object per window) and prints a Markdown table. Standard library only.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import loadtest  # noqa: E402

HZ = os.sysconf("SC_CLK_TCK")


def threads(pid):
    """{tid: (name, cpu_ns, wait_ns, involuntary switches)} of every live thread of pid."""
    out = {}
    base = f"/proc/{pid}/task"
    for tid in os.listdir(base):
        try:
            with open(f"{base}/{tid}/comm") as f:
                name = f.read().strip()
            with open(f"{base}/{tid}/schedstat") as f:
                cpu, wait, _ = (int(x) for x in f.read().split())
            with open(f"{base}/{tid}/status") as f:
                nvcsw = int(re.search(r"nonvoluntary_ctxt_switches:\s+(\d+)", f.read()).group(1))
        except (FileNotFoundError, ProcessLookupError):
            continue                      # a thread that ended between listdir and the read
        out[int(tid)] = (name, cpu, wait, nvcsw)
    return out


def group(name):
    if "Compiler" in name:
        return "jit"
    if name.startswith(("GC", "VM ", "G1", "Serial")) or name in ("VM Thread", "VM Periodic Tas"):
        return "gc_vm"
    return "other"


def delta(before, after):
    """Per-thread differences over a window; threads born in it count from zero."""
    d = {}
    for tid, (name, cpu, wait, nv) in after.items():
        _, cpu0, wait0, nv0 = before.get(tid, (name, 0, 0, 0))
        d[tid] = (name, cpu - cpu0, wait - wait0, nv - nv0)
    return d


def jvm_uptime(pid):
    """Seconds since the process started, on the clock -Xlog's uptime decoration uses (close enough: ~10 ms)."""
    with open(f"/proc/{pid}/stat") as f:
        start_ticks = int(f.read().rsplit(")", 1)[1].split()[19])
    with open("/proc/uptime") as f:
        boot = float(f.read().split()[0])
    return boot - start_ticks / HZ


SAFEPOINT_RE = re.compile(r"^\[([\d.]+)s\].*Safepoint \"([^\"]+)\".*Total: (\d+) ns")


def safepoints(logpath, t0, t1):
    """(count, total ms, max ms, kinds) of the safepoints that ended within [t0, t1] seconds of JVM uptime."""
    n, total, worst, kinds = 0, 0.0, 0.0, {}
    try:
        with open(logpath, errors="replace") as f:
            for line in f:
                m = SAFEPOINT_RE.match(line)
                if m and t0 <= float(m.group(1)) <= t1:
                    ms = int(m.group(3)) / 1e6
                    n, total, worst = n + 1, total + ms, max(worst, ms)
                    kinds[m.group(2)] = kinds.get(m.group(2), 0) + 1
    except FileNotFoundError:
        pass
    return n, total, worst, kinds


def measure(a, name, rnd, port):
    tag = f"tail-r{rnd}-{name}"
    sp_log = os.path.join(a.out, f"{tag}-safepoint.log")
    cls = loadtest.SERVERS["http"][name]
    saved = list(loadtest.JVM_OPTS)
    if not cls.startswith("bin:"):
        loadtest.JVM_OPTS.append(f"-Xlog:safepoint:file={sp_log}:uptime")
    try:
        srv = loadtest.Server(a.java, a.jar, cls, port, os.path.join(a.out, f"{tag}.log"), a.bindir)
    finally:
        loadtest.JVM_OPTS[:] = saved
    rows = []
    try:
        problems = loadtest.verify_http(port)
        if problems:
            raise RuntimeError(f"{name}: response check failed: {problems}")
        url = f"http://127.0.0.1:{port}/plaintext"
        lua = os.path.join(os.path.dirname(os.path.abspath(__file__)), "latency.lua")
        base = ["taskset", "-c", "1", a.wrk, "-t1", "-c64", "-s", lua]
        loadtest.warm_wrk(base, [url], a.warmup, runs=1 if a.single_warmup else 2)
        for w in range(1, a.windows + 1):
            th0, c0, st0, up0 = threads(srv.pid), loadtest.cpu_ticks(srv.pid), loadtest.cpu_stat(), jvm_uptime(srv.pid)
            p = subprocess.run(base + [f"-d{a.duration}s", "--latency", url], capture_output=True, text=True)
            th1, c1, st1, up1 = threads(srv.pid), loadtest.cpu_ticks(srv.pid), loadtest.cpu_stat(), jvm_uptime(srv.pid)
            if p.returncode != 0:
                raise RuntimeError(f"wrk failed: {p.stderr.strip()}")
            r = loadtest.parse_wrk(p.stdout)
            d = delta(th0, th1)
            loop_tid = max(d, key=lambda t: d[t][1])
            lname, lcpu, lwait, lnv = d[loop_tid]
            groups = {"jit": 0, "gc_vm": 0, "other": 0}
            for tid, (tname, cpu, _, _) in d.items():
                if tid != loop_tid:
                    groups[group(tname)] += cpu
            n_sp, sp_total, sp_max, sp_kinds = safepoints(sp_log, up0, up1)
            dt = st1[1] - st0[1]
            row = {"round": rnd, "server": name, "window": w, "requests": r["requests"], "rps": r["rps"],
                   "p50_us": r.get("p50_us"), "p99_us": r.get("p99_us"), "p99_9_us": r.get("p99_9_us"),
                   "max_us": r.get("max_us"),
                   "cpu_us_per_req": (c1 - c0) / HZ * 1e6 / r["requests"] if r["requests"] else None,
                   "loop_thread": lname, "loop_cpu_ms": lcpu / 1e6, "loop_wait_ms": lwait / 1e6,
                   "loop_involuntary": lnv, "jit_cpu_ms": groups["jit"] / 1e6, "gc_vm_cpu_ms": groups["gc_vm"] / 1e6,
                   "other_cpu_ms": groups["other"] / 1e6, "safepoints": n_sp, "safepoint_ms": sp_total,
                   "safepoint_max_ms": sp_max, "safepoint_kinds": sp_kinds,
                   "steal_pct": 100.0 * (st1[0] - st0[0]) / dt if dt > 0 else None}
            rows.append(row)
            print(f"[{tag} w{w}] p99 {fmt(row['p99_us'])} us, p99.9 {fmt(row['p99_9_us'])} us, loop waited "
                  f"{row['loop_wait_ms']:.1f} ms ({lnv} preemptions), jit {row['jit_cpu_ms']:.1f} ms, gc/vm "
                  f"{row['gc_vm_cpu_ms']:.1f} ms, other {row['other_cpu_ms']:.1f} ms, safepoints {n_sp} "
                  f"({sp_total:.1f} ms, max {sp_max:.2f}), steal {fmt(row['steal_pct'], 1)}%", flush=True)
    finally:
        srv.stop()
        if os.path.exists(sp_log) and not a.keep_logs:
            os.remove(sp_log)
    return rows


def fmt(v, nd=0):
    return "n/a" if v is None else f"{v:,.{nd}f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--java", required=True)
    ap.add_argument("--jar", required=True, help="class path holding Knot's examples and the benchmark servers")
    ap.add_argument("--bindir", required=True, help="directory of the compiled C servers (http_server)")
    ap.add_argument("--wrk", default="wrk")
    ap.add_argument("--out", required=True)
    ap.add_argument("--servers", default="knot,nio,floor")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--windows", type=int, default=4, help="consecutive measured windows per server process")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--port", type=int, default=18300)
    ap.add_argument("--keep-logs", action="store_true")
    ap.add_argument("--single-warmup", action="store_true",
                    help="one wrk run as the warm-up, as loadtest.py did before: no connection closes before the "
                         "first window (see loadtest.warm_wrk)")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    names = a.servers.split(",")
    port = a.port
    rows = []
    with open(os.path.join(a.out, "tail.jsonl"), "a") as out:
        for rnd in range(1, a.rounds + 1):
            k = (rnd - 1) % len(names)
            for name in names[k:] + names[:k]:
                while not loadtest.port_free(port):
                    port += 1
                for row in measure(a, name, rnd, port):
                    out.write(json.dumps(row) + "\n")
                    rows.append(row)
                port += 1
    print()
    print("| server | window | p50 µs | p99 µs | p99.9 µs | max µs | loop thread waited for the CPU, ms "
          "(preemptions) | JIT threads' CPU, ms | GC+VM threads' CPU, ms | safepoints (ms) | rounds |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name in names:
        for w in range(1, a.windows + 1):
            rs = [r for r in rows if r["server"] == name and r["window"] == w]
            if not rs:
                continue

            def med(key):
                vals = [r[key] for r in rs if r.get(key) is not None]
                return statistics.median(vals) if vals else None
            print(f"| {name} | {w} | {fmt(med('p50_us'))} | {fmt(med('p99_us'))} | {fmt(med('p99_9_us'))} | "
                  f"{fmt(med('max_us'))} | {fmt(med('loop_wait_ms'), 1)} ({fmt(med('loop_involuntary'))}) | "
                  f"{fmt(med('jit_cpu_ms'), 1)} | {fmt(med('gc_vm_cpu_ms'), 1)} | {fmt(med('safepoints'))} "
                  f"({fmt(med('safepoint_ms'), 1)}) | {len(rs)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
