#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Idle keep-alive connections at scale (issue 14; run by scripts/bench --scale, never by CI).

For each server and each N: start the server (CPU 0), run benchmarks/scale/idle_client (CPU 1), which first makes
REQS requests on one connection alone (the baseline latency, and the server's warm-up); with --warm, a warm-up
round opens N connections and closes them (the accept path compiled, the young generation resident, as in a server
that has run a while); measure the server's RSS and PSS (/proc/PID/smaps_rollup); open N keep-alive connections from several 127.0.0.x source addresses, each answered
once and then idle (the time to open them all is "accept"); after a settle pause measure RSS and PSS again (bytes
per connection = delta / N), the server's CPU over IDLE seconds (utime+stime from /proc/PID/stat), then the same
REQS requests on an active connection among the idle ones. Optionally a heap histogram (jcmd GC.class_histogram,
which runs a full GC: taken last) of the Java servers.

Descriptor limits: the driver raises its own RLIMIT_NOFILE (soft and hard, it runs as root for 100k) to what N
needs, and the server and client inherit it.
"""
import argparse
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import time

JVM_OPTS = [
    "--enable-native-access=ALL-UNNAMED",
    "--sun-misc-unsafe-memory-access=allow",
    "-Dio.netty.tryReflectionSetAccessible=true",
    "-Dio.netty.leakDetection.level=disabled",
    # The load tests' options, with room for 100k connections: -Xmx is a cap, not resident memory.
    "-Xms256m", "-Xmx2g", "-XX:MaxDirectMemorySize=8g", "-XX:+UseSerialGC",
]

SERVERS = {
    # The benchmark's connections idle longer than the example's default 30 s idle timeout allows.
    "knot": "dev.knot.examples.http.HttpServer @PORT --idle-timeout-ms 3600000",
    "nio": "dev.knot.bench.servers.NioHttpServer",
    "netty-epoll": "dev.knot.bench.servers.NettyHttpServer epoll",
    "floor": None,
}


ADDR_BASE = 0


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def smaps(pid):
    out = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 3 and parts[2] == "kB":
                out[parts[0].rstrip(":")] = int(parts[1]) * 1024
    return {"rss": out.get("Rss", 0), "pss": out.get("Pss", 0)}


def open_sockets(pid):
    try:
        return sum(1 for f in os.listdir(f"/proc/{pid}/fd") if os.readlink(f"/proc/{pid}/fd/{f}").startswith("socket:"))
    except OSError:
        return 0


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def raise_nofile(need):
    """Soft limit to the hard one, and the hard one up to `need` where allowed (root with CAP_SYS_RESOURCE)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < need:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (need, need))
            return need
        except (ValueError, OSError) as e:
            raise SystemExit(f"scale: {need} descriptors needed, RLIMIT_NOFILE is {soft}/{hard} and the hard limit cannot"
                             f" be raised here ({e}); run as root with CAP_SYS_RESOURCE, or ask for fewer connections")
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def wait_listening(proc, port, logpath):
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}: see {logpath}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server did not listen on {port}: see {logpath}")


def read_json(client, phase):
    line = client.stdout.readline()
    if not line:
        raise RuntimeError(f"client ended before phase {phase}: " + client.stderr.read())
    r = json.loads(line)
    if r.get("phase") != phase:
        raise RuntimeError(f"client said {line!r}, expected phase {phase}")
    return r


def jcmd(pid, *args):
    tool = os.path.join(os.path.dirname(os.path.realpath(JAVA)), "jcmd")
    return subprocess.run([tool, str(pid)] + list(args), capture_output=True, text=True, timeout=120).stdout


def histogram(pid, path):
    """jcmd's class histogram (a full GC first); returns total live bytes and the top classes."""
    jcmd = os.path.join(os.path.dirname(os.path.realpath(JAVA)), "jcmd")
    p = subprocess.run([jcmd, str(pid), "GC.class_histogram"], capture_output=True, text=True, timeout=120)
    with open(path, "w") as f:
        f.write(p.stdout)
    rows, total = [], 0
    for line in p.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 4 and parts[0].endswith(":") and parts[0][:-1].isdigit():
            rows.append((int(parts[1]), int(parts[2]), parts[3]))
        elif parts and parts[0] == "Total":
            total = int(parts[2])
    return total, rows


def run_one(a, name, n, port):
    cls = SERVERS[name]
    logpath = os.path.join(a.out, f"server-{name}-{n}.log")
    logf = open(logpath, "wb")
    if cls is None:
        cmd = ["taskset", "-c", "0", a.floor, str(port)]
    else:
        extra = ["-XX:NativeMemoryTracking=summary"] if a.nmt else []
        cmd = ["taskset", "-c", "0", JAVA] + JVM_OPTS + extra + a.jvm_opt + ["-cp", a.jar] + [w.replace("@PORT", str(port)) for w in cls.split()] + ([] if "@PORT" in cls else [str(port)])
    server = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    rec = {"server": name, "n": n, "server_command": " ".join(cmd), "loadavg_before": open("/proc/loadavg").read().split()[:3]}
    client = None
    try:
        wait_listening(server, port, logpath)
        global ADDR_BASE
        naddrs = max(1, -(-n // 10000))               # 10,000 of the 28,000 ephemeral ports per address: a fast search
        ccmd = ["taskset", "-c", "1", a.client, "127.0.0.1", str(port), str(n), str(naddrs), str(a.reqs), str(ADDR_BASE)]
        # Fresh source addresses for every run: the previous run's ports are in TIME_WAIT, and a port search among
        # them is slow and then fails, which would slow down whichever server runs later.
        ADDR_BASE = (ADDR_BASE + 2 * naddrs) % 200
        rec["client_command"] = " ".join(ccmd)
        client = subprocess.Popen(ccmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        rec["baseline"] = read_json(client, "baseline")
        if a.warm:
            # A warm-up round: N connections opened and closed, so that the accept path is compiled and the young
            # generation's pages are resident, as in a server that has been running; then the measured round.
            client.stdin.write("open\n")
            client.stdin.flush()
            rec["warm_open"] = read_json(client, "open")
            client.stdin.write("close\n")
            client.stdin.flush()
            read_json(client, "closed")
            deadline = time.time() + 60
            while open_sockets(server.pid) > 64 and time.time() < deadline:
                time.sleep(0.2)
        if a.histogram and cls is not None:
            rec["heap_live_before"] = histogram(server.pid, os.path.join(a.out, f"histogram-{name}-{n}-before.txt"))[0]
        time.sleep(a.settle)
        before = smaps(server.pid)
        if a.nmt and cls is not None:
            jcmd(server.pid, "VM.native_memory", "baseline")
        client.stdin.write("open\n")
        client.stdin.flush()
        rec["open"] = read_json(client, "open")
        time.sleep(a.settle)
        after = smaps(server.pid)
        if a.nmt and cls is not None:
            with open(os.path.join(a.out, f"nmt-{name}-{n}.txt"), "w") as f:
                f.write(jcmd(server.pid, "VM.native_memory", "summary.diff"))
        t0, c0 = time.time(), cpu_ticks(server.pid)
        time.sleep(a.idle)
        t1, c1 = time.time(), cpu_ticks(server.pid)
        rec["idle_cpu_pct"] = 100.0 * (c1 - c0) / os.sysconf("SC_CLK_TCK") / (t1 - t0)
        client.stdin.write("active\n")
        client.stdin.flush()
        rec["active"] = read_json(client, "active")
        rec["done"] = read_json(client, "done")
        conns = rec["open"]["conns"]
        rec["before"], rec["after"] = before, after
        if conns:
            rec["rss_per_conn"] = (after["rss"] - before["rss"]) / conns
            rec["pss_per_conn"] = (after["pss"] - before["pss"]) / conns
        if a.histogram and cls is not None:
            total, rows = histogram(server.pid, os.path.join(a.out, f"histogram-{name}-{n}.txt"))
            rec["heap_live_bytes"] = total
            if conns:
                rec["heap_live_per_conn"] = (total - rec["heap_live_before"]) / conns
            rec["heap_top"] = rows[:12]
        client.stdin.write("quit\n")
        client.stdin.flush()
        client.wait(60)
    finally:
        if client and client.poll() is None:
            client.kill()
            client.wait()
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        logf.close()
    return rec


def kib(b):
    return f"{b / 1024:,.0f} KiB"


def table(recs):
    lines = ["| server | N | open | failed | accept all (s) | RSS / conn | PSS / conn | live heap / conn | idle CPU (% core) |"
             " p50 / p99 alone (µs) | p50 / p99 among N (µs) | still open |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in recs:
        if "error" in r:
            lines.append(f"| {r['server']} | {r['n']:,} | error: {r['error']} ||||||||||")
            continue
        b, c = r["baseline"], r["active"]
        lines.append(f"| {r['server']} | {r['n']:,} | {r['open']['conns']:,} | {r['open']['failed']} | {r['open']['seconds']:.2f} | "
                     f"{r.get('rss_per_conn', 0):,.0f} B | {r.get('pss_per_conn', 0):,.0f} B | "
                     + (f"{r['heap_live_per_conn']:,.0f} B" if "heap_live_per_conn" in r else "n/a") + f" | {r['idle_cpu_pct']:.2f} | "
                     f"{b['p50_us']:.0f} / {b['p99_us']:.0f} | {c['p50_us']:.0f} / {c['p99_us']:.0f} | {r['done']['still_open']:,} |")
    return "\n".join(lines)


def main():
    global JAVA
    ap = argparse.ArgumentParser()
    ap.add_argument("--java", required=True)
    ap.add_argument("--jar", required=True, help="class path with the Knot, examples and benchmark servers")
    ap.add_argument("--client", required=True)
    ap.add_argument("--floor", required=True)
    ap.add_argument("--servers", default="knot,nio,netty-epoll,floor")
    ap.add_argument("--conns", default="1000,10000")
    ap.add_argument("--reqs", type=int, default=2000)
    ap.add_argument("--idle", type=float, default=5.0, help="seconds of idle CPU measurement")
    ap.add_argument("--settle", type=float, default=2.0)
    ap.add_argument("--histogram", action="store_true")
    ap.add_argument("--warm", action="store_true",
                    help="measure after a warm-up round of N connections opened and closed (default: the first N the"
                         " server ever sees, as issue 14 measured)")
    ap.add_argument("--nmt", action="store_true", help="Java servers: NMT summary diff across the opening of N")
    ap.add_argument("--jvm-opt", action="append", default=[], help="an extra JVM option for the Java servers")
    ap.add_argument("--port", type=int, default=18300)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    JAVA = a.java
    os.makedirs(a.out, exist_ok=True)
    ns = [int(x) for x in a.conns.split(",")]
    raise_nofile(max(ns) + 200)
    recs = []
    port = a.port
    with open(os.path.join(a.out, "scale.jsonl"), "a") as jl:
        for n in ns:
            for name in a.servers.split(","):
                log(f"scale: {name} with {n:,} idle connections")
                try:
                    rec = run_one(a, name, n, port)
                except Exception as e:  # one server failing must not lose the others' results
                    rec = {"server": name, "n": n, "error": str(e)}
                port += 1                                        # no TIME_WAIT leftovers from the previous run
                recs.append(rec)
                jl.write(json.dumps(rec) + "\n")
                jl.flush()
                log(table([rec]).splitlines()[-1])
    print(table(recs))


if __name__ == "__main__":
    main()
