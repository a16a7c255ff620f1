#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Turns one scripts/bench run (a raw directory) into benchmarks/RESULTS.md and benchmarks/results/comparison.svg.

Inputs in RAW: meta.json, jmh.json (JMH -rf json), floor.jsonl (kevent_floor), syscalls.json (strace counts),
load.jsonl (loadtest.py). Any of them may be missing (e.g. --skip-load); the report says so.
Every ratio is computed from numbers measured in this same run. Standard library only.
"""
import argparse
import html
import json
import math
import os
import statistics
import sys

THREAD_ALLOC_ZERO = 0.1   # B/op on the benchmark thread below which nothing is allocated per operation (see notes)
BATCH_TARGET = 1.15       # Knot batch path / C floor
SELECTOR_TARGET = 1.5     # Knot selector throughput / best NIO throughput
CPU_TARGET = 0.9          # Knot server CPU per request / best of NIO and Netty

SCENARIO_TITLES = {
    "echo-c1": "echo ping-pong, 1 connection, 64 B",
    "echo-c64": "echo ping-pong, 64 connections, 64 B",
    "http": "HTTP plaintext, wrk -c64",
    "http-pipeline16": "HTTP plaintext, 16 pipelined requests per write, wrk -c64",
}
SERVER_TITLES = {"knot": "Knot", "nio": "NIO", "netty": "Netty epoll", "floor": "C epoll floor"}
# Issue 11's server targets against the C floor: kernel-bound scenarios within 1.05x, pipelined HTTP within 1.15x.
FLOOR_TARGET = {"echo-c1": 1.05, "echo-c64": 1.05, "http": 1.05, "http-pipeline16": 1.15}


def load_json(path, default=None):
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        return default


def load_jsonl(path):
    try:
        with open(path) as f:
            return [json.loads(line) for line in f if line.strip()]
    except FileNotFoundError:
        return []


def num(x):
    try:
        v = float(x)
        return None if math.isnan(v) else v
    except (TypeError, ValueError):
        return None


def fmt(v, digits=1):
    if v is None:
        return "n/a"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.{digits}f}"


def thread_alloc(t):
    if not t:
        return "n/a"
    return f"{t['bytes_per_op']:.3f} ({t['bytes']:,} B in {t['ops']:,} ops)"


def alloc_summary(tallocs, jmh_allocs):
    parts = []
    if tallocs:
        w = max(tallocs, key=lambda t: t["bytes_per_op"])
        parts.append(f"benchmark thread: max {w['bytes_per_op']:.3f} B/op ({w['bytes']:,} B in {w['ops']:,} ops)")
    if jmh_allocs:
        parts.append(f"JMH -prof gc: max {max(jmh_allocs):.3f} B/op")
    return "; ".join(parts) or "n/a"


def verdict(ok):
    return "n/a" if ok is None else ("**yes**" if ok else "**no**")


# ------------------------------------------------------------------------------------------------ inputs

def jmh_results(raw):
    """{(short benchmark, changes or None): {score, error, unit, alloc}}"""
    out = {}
    for r in load_json(os.path.join(raw, "jmh.json"), []) or []:
        name = r["benchmark"].rsplit(".", 2)
        short = name[-2] + "." + name[-1]
        changes = r.get("params", {}).get("changes")
        pm = r["primaryMetric"]
        alloc = r.get("secondaryMetrics", {}).get("gc.alloc.rate.norm", {})
        out[(short, int(changes) if changes else None)] = {
            "score": num(pm.get("score")), "error": num(pm.get("scoreError")), "unit": pm.get("scoreUnit"),
            "alloc": num(alloc.get("score")), "alloc_error": num(alloc.get("scoreError")),
            "samples": sum(len(f) for f in pm.get("rawData", [])),
        }
    return out


def alloc_results(raw):
    """{(short benchmark, changes or None): {bytes_per_op, bytes, ops}} from AllocCheck."""
    out = {}
    for r in load_jsonl(os.path.join(raw, "allocs.jsonl")):
        out[(r["benchmark"], r["changes"] or None)] = r
    return out


def floor_results(raw):
    """{(workload, changes): {median, min, max, n}} over every rep of every floor process."""
    reps = {}
    for r in load_jsonl(os.path.join(raw, "floor.jsonl")):
        reps.setdefault((r["workload"], r["changes"]), []).extend(r["ns_per_op"])
    return {k: {"median": statistics.median(v), "min": min(v), "max": max(v), "n": len(v)} for k, v in reps.items()}


def load_results(raw):
    """{scenario: {server: {metric: median, rounds, failures, unverified}}}"""
    rows = load_jsonl(os.path.join(raw, "load.jsonl"))
    by = {}
    for r in rows:
        by.setdefault(r["scenario"], {}).setdefault(r["server"], []).append(r)
    out = {}
    for sc, servers in by.items():
        for name, rs in servers.items():
            ok = [r for r in rs if "error" not in r and r.get("cpu_us_per_req") is not None and not r.get("disturbed")]
            agg = {"rounds": len(ok), "failures": [r["error"] for r in rs if "error" in r],
                   "disturbed": sum(1 for r in rs if r.get("disturbed")),
                   "steal": [r["steal_pct"] for r in sorted(ok, key=lambda r: r["round"]) if r.get("steal_pct") is not None],
                   "unverified": sum(1 for r in rs if r.get("verified") is False),
                   "commands": sorted({r.get("command", "") for r in ok}),
                   "server_command": next((r.get("server_command") for r in ok), None)}
            for m in ("rps", "p50_us", "p90_us", "p99_us", "p99_9_us", "cpu_us_per_req", "server_cpu_util", "requests"):
                vals = [r[m] for r in ok if r.get(m) is not None]
                agg[m] = statistics.median(vals) if vals else None
                if m == "cpu_us_per_req" and vals:
                    agg["cpu_min"], agg["cpu_max"] = min(vals), max(vals)
            sc_vals = [r["syscalls_per_req"] for r in ok if r.get("syscalls_per_req")]
            agg["syscalls_per_req"] = statistics.median(v["total"] for v in sc_vals) if sc_vals else None
            if sc_vals:
                mid = sorted(sc_vals, key=lambda v: v["total"])[len(sc_vals) // 2]
                agg["syscall_mix"] = ", ".join(f"{v:.2f} {k}" for k, v in mid.items() if k != "total" and v >= 0.01)
            out.setdefault(sc, {})[name] = agg
    return out


# ----------------------------------------------------------------------------------------------- report

# Everything from this line on in RESULTS.md is written by hand (one-off studies with their own commands and dates)
# and survives a regeneration.
KEEP_MARKER = "<!-- Sections below are written by hand; scripts/bench keeps them when it rewrites the sections above. -->"


def kept_sections(results_md):
    """The hand-written tail of an existing RESULTS.md, from KEEP_MARKER on, or ""."""
    try:
        with open(results_md) as f:
            text = f.read()
    except FileNotFoundError:
        return ""
    i = text.find(KEEP_MARKER)
    return text[i:] if i >= 0 else ""


def build(raw, results_md, svg_path):
    meta = load_json(os.path.join(raw, "meta.json"), {})
    jmh = jmh_results(raw)
    allocs_t = alloc_results(raw)
    floor = floor_results(raw)
    sysc = load_json(os.path.join(raw, "syscalls.json"))
    load = load_results(raw)
    quick = meta.get("mode") == "quick"

    targets = []          # (target, measured, met)
    md = []
    w = md.append
    w("# Knot benchmark results")
    w("")
    if quick:
        w("> **Quick mode: smoke numbers.** One JMH fork with short iterations, one short round per load test, on"
          " whatever else the machine was doing. They show that the pipeline works and roughly where things stand;"
          " they are not results. Run `scripts/bench` (full mode) on an idle machine for numbers to quote.")
    else:
        w("> Full mode. Compare ratios measured in the same run, not absolute numbers across machines.")
    w("")
    w("Written by `benchmarks/report/report.py` from the raw outputs of one `scripts/bench` run.")
    w("")
    w("| | |")
    w("|---|---|")
    w(f"| command | `{meta.get('command', 'n/a')}` |")
    w(f"| mode | {meta.get('mode', 'n/a')} |")
    w(f"| date (UTC) | {meta.get('date', 'n/a')} |")
    m = meta.get("machine", {})
    w(f"| machine | {m.get('nproc', '?')} CPUs, {m.get('model', '?')}, {m.get('memory', '?')} RAM, kernel {m.get('kernel', '?')}"
      f"{', load average at start ' + m['loadavg'] if m.get('loadavg') else ''} |")
    w(f"| JDK | {meta.get('jdk', 'n/a')} |")
    w(f"| Knot | {meta.get('knot', 'n/a')} |")
    w(f"| tools | {meta.get('tools', 'n/a')} |")
    w(f"| raw outputs | `{os.path.relpath(raw, os.path.dirname(os.path.dirname(os.path.abspath(results_md))))}/` (jmh.txt, jmh.json, floor.jsonl, syscalls.json, load.jsonl, wrk-*.txt, server-*.log; git-ignored) |")
    w("")

    # ---- 1. batch path
    sec1 = []
    s = sec1.append
    s("## 1. kevent batch path (JMH) against the C floor")
    s("")
    s("Workload **fd**: 256 AF_UNIX socketpairs with level-triggered EVFILT_READ knotes, 64 of them with 1 byte pending"
      " and never drained. One op = N changes `{fd_i, EVFILT_READ, EV_ENABLE}` + one `kevent(changes, N, events, 64, 0)`"
      " + decode of every event into a Blackhole (`KeventFdBatchBench`). Workload **user**: 256 EVFILT_USER knotes with"
      " EV_CLEAR; one op = N NOTE_TRIGGER changes + one kevent collecting the N events (`KeventUserBatchBench`).")
    s("")
    s("The C floor (`benchmarks/floor/kevent_floor.c`, gcc -O2, run with an extra idle pthread because every JVM is"
      " multi-threaded) makes the same system calls on the same descriptor setup:")
    if sysc:
        s("")
        s("| workload | system calls per op, counted with strace on the Java path (N = %d) | the C floor makes |" % sysc["fd"]["changes"])
        s("|---|---|---|")
        fd_calls = ", ".join(f"{v:g} × {k}" for k, v in sysc["fd"]["per_op"].items()) or "none"
        us_calls = ", ".join(f"{v:g} × {k}" for k, v in sysc["user"]["per_op"].items()) or "none"
        s(f"| fd | {fd_calls} | 1 × epoll_pwait2 (timeout 0, returns 64) + 1 × ioctl(FIONREAD) per returned event |")
        s(f"| user | {us_calls} | 1 × epoll_pwait2 (timeout 0, returns 0): user events live in user space, the emulation needs no other call |")
        s("")
        s(f"strace traced: `{sysc['trace']}`; counts are (run with {sysc['ops']} ops − run with 0 ops) / {sysc['ops']}.")
    else:
        s("")
        s("(strace counts not available in this run.)")
    s("")
    for wl in ("fd", "user"):
        bench = "KeventFdBatchBench.batch" if wl == "fd" else "KeventUserBatchBench.batch"
        s(f"**{wl}**")
        s("")
        s("| N changes | Knot ns/op (± JMH error) | C floor ns/op median [min–max] | Knot / C | B/op, JMH -prof gc | B/op, benchmark thread |")
        s("|---:|---:|---:|---:|---:|---:|")
        worst, worst_n, allocs, tallocs = None, None, [], []
        for n in (1, 16, 64, 256):
            j = jmh.get((bench, n))
            f = floor.get((wl, n))
            if not j and not f:
                continue
            ratio = j["score"] / f["median"] if j and f and j["score"] and f["median"] else None
            if ratio is not None and (worst is None or ratio > worst):
                worst, worst_n = ratio, n
            if j and j["alloc"] is not None:
                allocs.append(j["alloc"])
            t = allocs_t.get((bench, n))
            if t:
                tallocs.append(t)
            s(f"| {n} | {fmt(j['score']) if j else 'n/a'}{' ± ' + fmt(j['error']) if j and j['error'] else ''} | "
              f"{fmt(f['median']) + ' [' + fmt(f['min']) + '–' + fmt(f['max']) + ']' if f else 'n/a'} | "
              f"{fmt(ratio, 2) + 'x' if ratio else 'n/a'} | {fmt(j['alloc'], 3) if j and j['alloc'] is not None else 'n/a'} | "
              f"{thread_alloc(t)} |")
        s("")
        targets.append((f"batch path ({wl}) ≤ {BATCH_TARGET}x the C floor", f"worst {fmt(worst, 2)}x (N={worst_n})" if worst else "n/a",
                        None if worst is None else worst <= BATCH_TARGET))
        targets.append((f"batch path ({wl}) 0 B/op", alloc_summary(tallocs, allocs),
                        None if not tallocs else max(t["bytes_per_op"] for t in tallocs) < THREAD_ALLOC_ZERO))

    # ---- 1b. the fd workload on TCP, where READ data can be batched
    if any(k[0] == "KeventTcpBatchBench.batch" for k in jmh) or any(k[0] == "fd-tcp" for k in floor):
        s("**fd-tcp**: the fd workload on 256 loopback TCP connections (`KeventTcpBatchBench`), where the 64 FIONREADs"
          " of a call go to the kernel as one io_uring submission of `SOCKET_URING_OP_SIOCINQ` commands (Linux 6.7+;"
          " `Kqueue.dataQueryPath()`). Two C floors (`kevent_floor --tcp`): `fd-tcp` makes one ioctl per event, as"
          " Knot would without the batch; `fd-tcp-uring` batches the queries as Knot does.")
        if sysc and "fd-tcp" in sysc:
            tc = ", ".join(f"{v:g} × {k}" for k, v in sysc["fd-tcp"]["per_op"].items()) or "none"
            s("")
            s(f"System calls per op on the Java path (strace, N = {sysc['fd-tcp']['changes']}): {tc}.")
        s("")
        s("| N changes | Knot ns/op (± JMH error) | C fd-tcp (ioctl) ns/op | C fd-tcp-uring ns/op | Knot / C ioctl | Knot / C uring | B/op, JMH -prof gc |")
        s("|---:|---:|---:|---:|---:|---:|---:|")
        worst, worst_n = None, None
        for n in (1, 16, 64, 256):
            j = jmh.get(("KeventTcpBatchBench.batch", n))
            fi, fu = floor.get(("fd-tcp", n)), floor.get(("fd-tcp-uring", n))
            if not j and not fi:
                continue
            ri = j["score"] / fi["median"] if j and fi and j["score"] else None
            ru = j["score"] / fu["median"] if j and fu and j["score"] else None
            if ri is not None and (worst is None or ri > worst):
                worst, worst_n = ri, n
            s(f"| {n} | {fmt(j['score']) if j else 'n/a'}{' ± ' + fmt(j['error']) if j and j['error'] else ''} | "
              f"{fmt(fi['median']) if fi else 'n/a'} | {fmt(fu['median']) if fu else 'n/a'} | "
              f"{fmt(ri, 2) + 'x' if ri else 'n/a'} | {fmt(ru, 2) + 'x' if ru else 'n/a'} | "
              f"{fmt(j['alloc'], 3) if j and j['alloc'] is not None else 'n/a'} |")
        s("")
        targets.append(("batch path (fd-tcp) below the C floor that makes per-event ioctls (batched data queries)",
                        f"worst {fmt(worst, 2)}x (N={worst_n})" if worst else "n/a", None if worst is None else worst < 1.0))

    # ---- 2. selector
    sec2 = []
    s = sec2.append
    s("## 2. Selector: Knot against java.nio.channels.Selector (JMH)")
    s("")
    s("256 AF_UNIX socketpairs registered for READ; two groups of 64 have 1 byte pending (never drained). One op ="
      " one non-blocking select (returns the 64 keys of the enabled group) + handling of every ready key (ready ops and"
      " attachment into a Blackhole) + interest toggles: each handled key gets interest 0, and the 64 keys turned off"
      " in the previous round get OP_READ back, so every select carries 128 interest changes (`SelectorBench`)."
      " Knot: `key.interest(0)`/`interest(OP_READ)`, batched into the select's kevent. NIO:"
      " `interestOps(0)`/`interestOps(OP_READ)`, iterated through `selectedKeys()` or with `selectNow(Consumer)`.")
    s("")
    s("| implementation | ns/op (± JMH error) | ops/s | B/op, JMH -prof gc | B/op, benchmark thread | Knot throughput / this |")
    s("|---|---:|---:|---:|---:|---:|")
    knot = jmh.get(("SelectorBench.knot", None))
    nios = {k: jmh.get(("SelectorBench." + k, None)) for k in ("nioSelectedKeys", "nioConsumer")}
    for label, key, j in (("Knot Selector", "knot", knot), ("NIO selectedKeys()", "nioSelectedKeys", nios["nioSelectedKeys"]),
                          ("NIO selectNow(Consumer)", "nioConsumer", nios["nioConsumer"])):
        if not j:
            s(f"| {label} | n/a | n/a | n/a | n/a | n/a |")
            continue
        speed = (j["score"] / knot["score"]) if knot and knot["score"] and key != "knot" else None
        s(f"| {label} | {fmt(j['score'])}{' ± ' + fmt(j['error']) if j['error'] else ''} | {fmt(1e9 / j['score'])} | "
          f"{fmt(j['alloc'], 3) if j['alloc'] is not None else 'n/a'} | {thread_alloc(allocs_t.get(('SelectorBench.' + key, None)))} | "
          f"{fmt(speed, 2) + 'x' if speed else ('1.00x' if key == 'knot' else 'n/a')} |")
    s("")
    if sysc and "selector-knot" in sysc and "selector-nio" in sysc:
        kc = ", ".join(f"{v:g} × {k}" for k, v in sysc["selector-knot"]["per_op"].items())
        nc = ", ".join(f"{v:g} × {k}" for k, v in sysc["selector-nio"]["per_op"].items())
        s(f"System calls per op (strace, as in section 1): Knot {kc}; NIO (selectedKeys) {nc}. Both pay 128 epoll_ctl"
          " per op (Knot: MOD to re-arm an enabled key, and MOD to disarm a disabled key once epoll reports it, since"
          " EV_DISABLE is applied lazily; NIO: DEL and ADD). Knot's epoll_pwait2 also returns the 64 keys disabled"
          " in this round once more. The Selector's kqueue reports a lower bound for READ data"
          " (`Kqueue.setReadDataExact(false)`), so no ioctl(FIONREAD) is made unless a handler calls `Key.readData()`.")
        s("")
    best_nio = min((j["score"] for j in nios.values() if j and j["score"]), default=None)
    sel_ratio = best_nio / knot["score"] if knot and best_nio else None
    targets.append((f"selector ≥ {SELECTOR_TARGET}x NIO's throughput (better NIO variant)",
                    f"{fmt(sel_ratio, 2)}x" if sel_ratio else "n/a", None if sel_ratio is None else sel_ratio >= SELECTOR_TARGET))
    tk = allocs_t.get(("SelectorBench.knot", None))
    targets.append(("select-and-dispatch 0 B/op (Knot Selector)",
                    alloc_summary([tk] if tk else [], [knot["alloc"]] if knot and knot["alloc"] is not None else []),
                    None if not tk else tk["bytes_per_op"] < THREAD_ALLOC_ZERO))

    # ---- 3/4. load tests
    sec3 = []
    s = sec3.append
    s("## 3. Echo ping-pong and 4. HTTP plaintext: servers in their own JVM")
    s("")
    s("Each server runs single-threaded (one event loop) in its own JVM pinned to CPU 0; the client is pinned to CPU 1"
      " (`benchmarks/floor/echo_client.c` for echo: N connections each doing 64-byte round trips; `wrk -t1 -c64` for"
      " HTTP, with `benchmarks/load/pipeline.lua` sending 16 requests per write for the pipelined run). On 2 cores the"
      " client saturates its core, so requests/s largely measures the client; the comparison that separates servers"
      " is **server CPU per request** = (utime + stime of the server process, /proc/PID/stat, over the measured"
      " window) / requests. Values are medians over rounds; servers are interleaved (the order rotates each round);"
      " every measurement starts a fresh server JVM and warms it up first. The HTTP servers' responses were checked"
      " byte for byte (Date masked) against Knot's before each measurement, plainly and pipelined.")
    s("")
    if meta.get("load_args"):
        s(f"Load settings: {meta['load_args']}. Server JVM options (all servers): `{meta.get('server_jvm_opts', 'n/a')}`.")
        s("")
    for sc in ("echo-c1", "echo-c64", "http", "http-pipeline16"):
        servers = load.get(sc)
        if not servers:
            continue
        s(f"**{SCENARIO_TITLES.get(sc, sc)}** (`{sc}`)")
        s("")
        s("| server | req/s | p50 µs | p90 µs | p99 µs | p99.9 µs | server CPU µs/req [min–max] | server core use | Knot CPU/req ÷ this | syscalls/req | rounds | steal % per round |")
        s("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        k = servers.get("knot", {}).get("cpu_us_per_req")
        for name in ("knot", "nio", "netty", "floor"):
            a = servers.get(name)
            if not a:
                continue
            rel = (k / a["cpu_us_per_req"]) if k and a.get("cpu_us_per_req") else None
            flag = ""
            if a["failures"]:
                flag += f" ({len(a['failures'])} failed: {html.escape(a['failures'][0][:80])})"
            if a["unverified"]:
                flag += f" (**response check failed in {a['unverified']} round(s)**)"
            cpu = a.get("cpu_us_per_req")
            s(f"| {SERVER_TITLES[name]}{flag} | {fmt(a['rps'], 0)} | {fmt(a['p50_us'])} | {fmt(a['p90_us'])} | {fmt(a['p99_us'])} | {fmt(a.get('p99_9_us'))} | "
              f"{fmt(cpu, 2)}{' [' + fmt(a['cpu_min'], 2) + '–' + fmt(a['cpu_max'], 2) + ']' if cpu is not None else ''} | "
              f"{fmt(100 * a['server_cpu_util'], 0) + '%' if a.get('server_cpu_util') is not None else 'n/a'} | "
              f"{fmt(rel, 2) + 'x' if rel is not None and name != 'knot' else ('1.00x' if name == 'knot' and k else 'n/a')} | "
              f"{fmt(a.get('syscalls_per_req'), 2)} | {a['rounds']}"
              f"{' (+' + str(a['disturbed']) + ' disturbed, rerun)' if a.get('disturbed') else ''} | "
              f"{', '.join(fmt(v, 1) for v in a['steal']) or 'n/a'} |")
        s("")
        mixes = [(SERVER_TITLES[n], servers[n].get("syscall_mix")) for n in ("knot", "nio", "netty", "floor")
                 if n in servers and servers[n].get("syscall_mix")]
        if mixes:
            s("System calls per request (perf's `raw_syscalls:sys_enter` and `syscalls:sys_enter_*` counters over a "
              "3 s run of the same load right after the measured one, which the counters would slow; median round): "
              + "; ".join(f"{t}: {m}" for t, m in mixes) + ".")
            s("")
        fl = servers.get("floor", {}).get("cpu_us_per_req")
        if k and fl:
            targets.append((f"server CPU/req, {sc} ≤ {FLOOR_TARGET[sc]}x the C floor", f"{fmt(k / fl, 2)}x",
                            k / fl <= FLOOR_TARGET[sc]))
        nio = servers.get("nio", {}).get("cpu_us_per_req")
        if sc == "http-pipeline16" and k and nio:
            targets.append(("server CPU/req, http-pipeline16 ≤ 0.85x NIO", f"{fmt(k / nio, 2)}x", k / nio <= 0.85))
        base = [servers[n]["cpu_us_per_req"] for n in ("nio", "netty") if n in servers and servers[n].get("cpu_us_per_req")]
        ratio = k / min(base) if k and base else None
        targets.append((f"server CPU/req, {sc} ≤ {CPU_TARGET}x the better of NIO and Netty",
                        f"{fmt(ratio, 2)}x" if ratio else "n/a", None if ratio is None else ratio <= CPU_TARGET))
    if not load:
        s("(No load tests in this run.)")
        s("")
    s("What each server does per readiness event: Knot's examples (`dev.knot.examples.EchoServer`,"
      " `dev.knot.examples.http.HttpServer`) read once per readiness event and write; the NIO"
      " servers (`dev.knot.bench.servers.Nio*`) read once and write; Netty"
      " (`dev.knot.bench.servers.Netty*`, native epoll transport, `HttpServerCodec` for HTTP) reads as its"
      " RecvByteBufAllocator decides and flushes at read-complete. All set TCP_NODELAY on accepted HTTP connections"
      " (Knot's EchoServer does not; irrelevant for one message in flight per connection).")
    s("")

    # ---- targets table, then sections
    w("## Targets")
    w("")
    w("| target (issues 6 and 11) | measured in this run | met |")
    w("|---|---|---|")
    for t, v, ok in targets:
        w(f"| {t} | {v} | {verdict(ok)} |")
    w("")
    if quick:
        w("_Quick mode: the verdicts above come from smoke numbers and say nothing final._")
        w("")
    w("![comparison](results/comparison.svg)")
    w("")
    md.extend(sec1)
    md.extend(sec2)
    md.extend(sec3)

    w("## Exact commands")
    w("")
    for name, cmd in (meta.get("commands") or {}).items():
        w(f"- {name}: `{cmd}`")
    if sysc:
        w(f"- system-call counts, per workload (fd, user, selector-knot, selector-nio), once with the last argument 0 and"
          f" once as shown: `{sysc['fd']['command']}`")
    shown = set()
    for sc in ("echo-c1", "echo-c64", "http", "http-pipeline16"):
        kind = sc.split("-")[0]
        for name, a in (load.get(sc) or {}).items():
            if a.get("server_command") and (kind, name) not in shown:
                w(f"- server ({SERVER_TITLES.get(name, name)}, {kind}): `{a['server_command']}`")
                shown.add((kind, name))
        a = (load.get(sc) or {}).get("knot")
        if a and a.get("commands"):
            w(f"- client, {sc}: `{a['commands'][0]}`")
    w("")
    w("## Method notes")
    w("")
    w(f"- JMH {meta.get('jmh_version', '1.37')}, AverageTime, `-prof gc`; arguments: `{meta.get('jmh_args', 'n/a')}`.")
    w("- Allocation: JMH's `gc.alloc.rate.norm` divides what **every** thread of the JVM allocated (it reads"
      " `getTotalThreadAllocatedBytes`) by the operations of an iteration, so JMH's own per-iteration bookkeeping (a few"
      " KB) shows as a fraction of a byte per op on µs-scale benchmarks. The 0 B/op targets are therefore judged on"
      " `AllocCheck` (`dev.knot.bench.jmh.AllocCheck " + str(meta.get("alloc_args", "")) + "`: warm-up seconds, measured"
      " seconds), which runs the same benchmark methods in a loop and reads the benchmark thread's own allocation"
      f" counter: met when it stays below {THREAD_ALLOC_ZERO} B/op. Anything allocated per operation would be at"
      " least 16 B/op; the few bytes it may show in total are one-off JIT residue. The benchmark states release their"
      " sockets outside measurement (JMH would count a trial teardown in the last iteration).")
    w(f"- C floor: `{meta.get('floor_args', 'n/a')}`; each process calibrates its op count to the rep length,"
      " runs one untimed rep, then timed reps; the table gives the median over all reps of all processes.")
    w("- The fd workload is dominated by the kernel: epoll_wait re-polls 64 ready level-triggered sockets and each"
      " FIONREAD is a system call, so Knot/C there mostly measures the emulation's per-event work, which is small next"
      " to about 20 µs of system calls. The user workload has one cheap system call, so its ratio shows the Java-side"
      " cost of the changelist and the user-space knotes.")
    w("- Load tests: server CPU comes from /proc/PID/stat in clock ticks (1/%s s); with the quick mode's short windows"
      " this quantizes to a few percent." % (meta.get("clk_tck", 100)))
    w("- wrk's latency with pipelining is per response, timed from the write of the batch that carried its request,"
      " and wrk prints 0 for a percentile its histogram could not place; those show as n/a.")
    w("- Sharing the machine: the numbers are only as good as the machine was quiet (load average at start above)."
      " Steal time (the hypervisor running other guests on our vCPUs, /proc/stat) is recorded for every load"
      " measurement; one above `loadtest.py --max-steal` (5% by default) is marked disturbed, left out of the medians"
      " and run again, up to twice. `--max-slowdown P` (off by default) does the same, after the rounds, for one"
      " whose client rate fell more than P% below the best of the same server in the same scenario.")
    w("")
    os.makedirs(os.path.dirname(os.path.abspath(results_md)), exist_ok=True)
    kept = kept_sections(results_md)
    with open(results_md, "w") as f:
        f.write("\n".join(md))
        if kept:
            f.write("\n" + kept)
    write_svg(svg_path, meta, jmh, floor, load, targets, allocs_t)


# ------------------------------------------------------------------------------------------------- plot

COLORS = {"Knot": "#1f6fb4", "C floor": "#7f7f7f", "NIO": "#e08a1e", "NIO selectedKeys()": "#e08a1e",
          "NIO selectNow(Consumer)": "#f2c27a", "Netty epoll": "#3a9e4b"}


def write_svg(path, meta, jmh, floor, load, targets, allocs_t):
    panels = []
    for wl, bench in (("fd", "KeventFdBatchBench.batch"), ("user", "KeventUserBatchBench.batch")):
        groups = []
        for n in (1, 16, 64, 256):
            j, f = jmh.get((bench, n)), floor.get((wl, n))
            bars = []
            if j and j["score"]:
                bars.append(("Knot", j["score"]))
            if f:
                bars.append(("C floor", f["median"]))
            if bars:
                note = f"Knot/C {j['score'] / f['median']:.2f}x" if j and f and j["score"] else ""
                groups.append((f"N={n}", bars, note))
        if groups:
            panels.append((f"kevent batch path, {wl} workload: ns/op (lower is better; target Knot/C ≤ {BATCH_TARGET})", "ns", groups))
    sel = [(label, jmh.get(("SelectorBench." + key, None))) for label, key in
           (("Knot", "knot"), ("NIO selectedKeys()", "nioSelectedKeys"), ("NIO selectNow(Consumer)", "nioConsumer"))]
    sel = [(l, j["score"] / 1000) for l, j in sel if j and j["score"]]
    if sel:
        knot = dict(sel).get("Knot")
        best = min((v for l, v in sel if l != "Knot"), default=None)
        panels.append((f"select + dispatch + interest toggles: µs/op (lower is better; target NIO/Knot ≥ {SELECTOR_TARGET})", "µs",
                       [("256 registered, 64 ready", sel, f"NIO/Knot {best / knot:.2f}x" if knot and best else "")]))
    al = [(label, allocs_t.get(("SelectorBench." + key, None))) for label, key in
          (("Knot", "knot"), ("NIO selectedKeys()", "nioSelectedKeys"), ("NIO selectNow(Consumer)", "nioConsumer"))]
    al = [(l, t["bytes_per_op"]) for l, t in al if t]
    if al:
        panels.append(("allocation per select + dispatch: B/op on the benchmark thread (target Knot 0)", "B",
                       [("256 registered, 64 ready", al, "")]))
    for metric, title, unit in (("cpu_us_per_req", f"server CPU per request: µs (lower is better; target Knot ≤ {CPU_TARGET}x best baseline)", "µs"),
                                ("rps", "requests/s (higher is better; on 2 cores mostly the client's limit)", "req/s")):
        groups = []
        for sc in ("echo-c1", "echo-c64", "http", "http-pipeline16"):
            servers = load.get(sc, {})
            bars = [(SERVER_TITLES[n], servers[n][metric]) for n in ("knot", "nio", "netty", "floor") if n in servers and servers[n].get(metric)]
            if bars:
                note = ""
                if metric == "cpu_us_per_req":
                    d = dict(bars)
                    base = [d[x] for x in ("NIO", "Netty epoll") if x in d]
                    if "Knot" in d and base:
                        note = f"Knot/best {d['Knot'] / min(base):.2f}x"
                groups.append((sc, bars, note))
        if groups:
            panels.append((title, unit, groups))

    W, left, right = 960, 190, 170
    bar_h, gap, group_gap, title_h = 15, 3, 12, 30
    y = 60
    parts = []
    for title, unit, groups in panels:
        parts.append(f'<text x="20" y="{y + 16}" class="t">{html.escape(title)}</text>')
        y += title_h
        for label, bars, note in groups:
            top = max(v for _, v in bars) or 1
            parts.append(f'<text x="30" y="{y + 12}" class="g">{html.escape(label)}</text>')
            if note:
                parts.append(f'<text x="{W - 20}" y="{y + 12}" class="n" text-anchor="end">{html.escape(note)}</text>')
            y += 18
            for name, v in bars:
                wbar = (W - left - right) * v / top
                parts.append(f'<text x="{left - 8}" y="{y + bar_h - 3}" class="l" text-anchor="end">{html.escape(name)}</text>')
                parts.append(f'<rect x="{left}" y="{y}" width="{max(wbar, 1):.1f}" height="{bar_h}" fill="{COLORS.get(name, "#999")}"/>')
                parts.append(f'<text x="{left + wbar + 6:.1f}" y="{y + bar_h - 3}" class="v">{html.escape(fmt(v, 2))} {unit}</text>')
                y += bar_h + gap
            y += group_gap
        y += 8
    mode = meta.get("mode", "?")
    head = f"Knot benchmarks: {'QUICK MODE, smoke numbers only' if mode == 'quick' else 'full mode'}"
    sub = (f"{meta.get('date', '')} UTC · {meta.get('machine', {}).get('nproc', '?')} CPUs · {meta.get('jdk_short', '')} · "
           "bars are scaled within each group · ratios (right) are from this run")
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{y + 30}" viewBox="0 0 {W} {y + 30}" font-family="sans-serif">',
           "<style>.t{font-size:14px;font-weight:bold}.l{font-size:12px}.v{font-size:11px;fill:#333}"
           ".g{font-size:12px;font-weight:bold;fill:#222}.n{font-size:11px;fill:#555}.h{font-size:16px;font-weight:bold}</style>",
           f'<rect width="{W}" height="{y + 30}" fill="white"/>',
           f'<text x="20" y="28" class="h">{html.escape(head)}</text>',
           f'<text x="20" y="46" class="n">{html.escape(sub)}</text>']
    svg.extend(parts)
    svg.append("</svg>")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        f.write("\n".join(svg) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--raw", required=True)
    ap.add_argument("--results", required=True, help="RESULTS.md to write")
    ap.add_argument("--svg", required=True)
    a = ap.parse_args()
    build(a.raw, a.results, a.svg)
    return 0


if __name__ == "__main__":
    sys.exit(main())
