#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Load tests of Knot's echo and HTTP examples against NIO and Netty-epoll servers (run by scripts/bench).

Each server runs alone in its own JVM, pinned to CPU 0 (taskset -c 0); the load client (benchmarks/floor/echo_client
for echo, wrk for HTTP) is pinned to CPU 1. On a 2-core machine the client saturates its core, so requests/s mostly
measures the client; what separates the servers is their CPU per request: (utime + stime of the server process from
/proc/PID/stat over the measured window) / requests. Every measurement starts a fresh server JVM, warms it up (for
HTTP in two wrk runs, so that connections have closed once before the measured run: see warm_wrk), then
measures; the order of the servers rotates from round to round (interleaving), and the report takes medians.

Writes one JSON object per measurement to OUT/load.jsonl and a log to stdout. Standard library only.
"""
import argparse
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")

SERVERS = {
    "echo": {
        "knot": "dev.knot.examples.EchoServer",
        # The example with its connections' batched socket I/O turned off: a read and a write per message.
        "knot-direct": "-Dknot.net.batch=false dev.knot.examples.EchoServer",
        "nio": "dev.knot.bench.servers.NioEchoServer",
        "netty": "dev.knot.bench.servers.NettyEchoServer",
        # The same Netty server on each Netty transport (scripts/bench --netty): Knot's, native epoll, io_uring, NIO.
        "netty-knot": "dev.knot.bench.servers.NettyEchoServer knot",
        # Knot's transport with its batched socket I/O (-Dknot.netty.batch=true: reads and writes in one io_uring_enter).
        "netty-knot-batch": "-Dknot.netty.batch=true dev.knot.bench.servers.NettyEchoServer knot",
        "netty-epoll": "dev.knot.bench.servers.NettyEchoServer epoll",
        "netty-io_uring": "dev.knot.bench.servers.NettyEchoServer io_uring",
        "netty-nio": "dev.knot.bench.servers.NettyEchoServer nio",
        # The C floor (benchmarks/floor/echo_server.c): one read and one write per message.
        "floor": "bin:echo_server",
    },
    "http": {
        "knot": "dev.knot.examples.http.HttpServer",
        # The example with its batched socket I/O turned off: one read and one write system call per connection.
        "knot-direct": "-Dknot.http.batch=false dev.knot.examples.http.HttpServer",
        "nio": "dev.knot.bench.servers.NioHttpServer",
        "netty": "dev.knot.bench.servers.NettyHttpServer",
        "netty-knot": "dev.knot.bench.servers.NettyHttpServer knot",
        "netty-knot-batch": "-Dknot.netty.batch=true dev.knot.bench.servers.NettyHttpServer knot",
        "netty-epoll": "dev.knot.bench.servers.NettyHttpServer epoll",
        "netty-io_uring": "dev.knot.bench.servers.NettyHttpServer io_uring",
        "netty-nio": "dev.knot.bench.servers.NettyHttpServer nio",
        # The C floor (benchmarks/floor/http_server.c): one read and one write per batch of pipelined requests.
        "floor": "bin:http_server",
    },
}

# name -> (server kind, client kind, parameter)
SCENARIOS = {
    "echo-c1": ("echo", "echo", 1),
    "echo-c64": ("echo", "echo", 64),
    "http": ("http", "wrk", 1),
    "http-pipeline16": ("http", "wrk", 16),
}

# The same JVM options for every server. Netty's leak detector is turned off as in production-tuned Netty setups.
JVM_OPTS = [
    "--enable-native-access=ALL-UNNAMED",
    "--sun-misc-unsafe-memory-access=allow",
    "-Dio.netty.tryReflectionSetAccessible=true",
    "-Dio.netty.leakDetection.level=disabled",
    "-Xms256m", "-Xmx256m", "-XX:+UseSerialGC",
]

EXPECTED = (b"HTTP/1.1 200 OK\r\nServer: knot\r\nContent-Type: text/plain\r\nDate: @DATE@\r\n"
            b"Content-Length: 13\r\n\r\nHello, World!")
DATE_RE = re.compile(rb"Date: ([A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT)\r\n")


def log(msg):
    print(msg, flush=True)


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    return int(fields[11]) + int(fields[12])


def cpu_stat():
    """The machine's (steal, total) jiffies from /proc/stat: steal is time the hypervisor gave our vCPUs to others."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return v[7] if len(v) > 7 else 0, sum(v[:8])


def port_free(port):
    s = socket.socket()
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


class Syscalls:
    """Counts the system calls a process makes in a window with perf's syscall tracepoints (in-kernel counters, so
    the server is not slowed as under strace): raw_syscalls:sys_enter for the total and one sys_enter_* per call in
    MIX for the breakdown. perf attaches when this is made, counting nothing, and is ready before the caller's
    warm-up: attaching thousands of tracepoint counters (every sys_enter_* on every JVM thread) takes perf longer
    than a measured window, so a perf started at the window counted nothing. start() and stop() switch the counters
    on and off through perf's control FIFO. No perf, or one without --control, means no counts."""

    MIX = ["read", "write", "readv", "writev", "recvfrom", "sendto", "recvmsg", "sendmsg", "epoll_wait",
           "epoll_pwait", "epoll_pwait2", "epoll_ctl", "io_uring_enter", "ioctl", "getsockopt", "accept4", "futex",
           "sched_yield", "clock_nanosleep", "nanosleep"]

    def __init__(self, pid, path, ready_timeout=60):
        self.path = path
        self.proc = None
        self.ctl = self.ack = None
        if shutil.which("perf") is None:
            return
        self.dir = tempfile.mkdtemp(prefix="knot-perfctl-")
        ctl, ack = os.path.join(self.dir, "ctl"), os.path.join(self.dir, "ack")
        os.mkfifo(ctl)
        os.mkfifo(ack)
        events = ",".join(["raw_syscalls:sys_enter"] + [f"syscalls:sys_enter_{n}" for n in self.MIX])
        self.proc = subprocess.Popen(["perf", "stat", "-x,", "-D", "-1", "--control", f"fifo:{ctl},{ack}",
                                      "-e", events, "-p", str(pid), "-o", path],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + ready_timeout
        try:
            self.ack = os.open(ack, os.O_RDONLY | os.O_NONBLOCK)
            while self.ctl is None:
                try:
                    self.ctl = os.open(ctl, os.O_WRONLY | os.O_NONBLOCK)
                except OSError:               # ENXIO until perf opens its end
                    if self.proc.poll() is not None or time.time() > deadline:
                        raise RuntimeError("perf did not open its control FIFO")
                    time.sleep(0.05)
            # perf answers a command only once its counters are attached: that is the readiness to wait for.
            self._command(b"disable", deadline - time.time())
        except (OSError, RuntimeError):
            self._close()
            self.proc = None

    def _command(self, cmd, timeout):
        os.write(self.ctl, cmd + b"\n")
        got = b""
        deadline = time.time() + max(0.1, timeout)
        while b"ack" not in got:
            left = deadline - time.time()
            if left <= 0 or self.proc.poll() is not None:
                raise RuntimeError(f"perf did not acknowledge {cmd!r}")
            if select.select([self.ack], [], [], left)[0]:
                got += os.read(self.ack, 64)

    def _close(self):
        for fd in (self.ctl, self.ack):
            if fd is not None:
                os.close(fd)
        self.ctl = self.ack = None
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)

    def start(self):
        """Starts counting; a counter that could not attach stays off."""
        if self.proc is None:
            return
        try:
            self._command(b"enable", 10)
        except (OSError, RuntimeError):
            self._close()
            self.proc = None

    def stop(self):
        """Stops counting and returns {"total": n, syscall: count, ...} for the window, or None."""
        if self.proc is None:
            return None
        try:
            self._command(b"disable", 10)
            self.proc.send_signal(signal.SIGINT)
            self.proc.wait(30)
        except (OSError, RuntimeError, subprocess.TimeoutExpired):
            self._close()
            return None
        self._close()
        counts = {}
        try:
            with open(self.path) as f:
                for line in f:
                    parts = line.strip().split(",")
                    if len(parts) < 3 or not parts[0].isdigit():
                        continue
                    if parts[2] == "raw_syscalls:sys_enter":
                        counts["total"] = int(parts[0])
                    elif parts[2].startswith("syscalls:sys_enter_") and int(parts[0]):
                        counts[parts[2][len("syscalls:sys_enter_"):]] = int(parts[0])
        except OSError:
            return None
        return counts if counts.get("total") else None


def per_request(counts, requests):
    if not counts or not requests:
        return None
    per = {k: v / requests for k, v in sorted(counts.items(), key=lambda kv: -kv[1]) if k != "total"}
    return {"total": counts["total"] / requests, **{k: round(v, 4) for k, v in per.items() if v >= 0.001}}


class Server:
    def __init__(self, java, jar, cls, port, logpath, bindir=None):
        self.port = port
        self.log = open(logpath, "wb")
        if cls.startswith("bin:"):
            cmd = ["taskset", "-c", "0", os.path.join(bindir, cls[4:]), str(port)]
        else:
            # Leading -D words of a server's entry are its own JVM options (a variant of the same server).
            words = cls.split()
            props = [w for w in words if w.startswith("-D")]
            cmd = ["taskset", "-c", "0", java] + JVM_OPTS + props + ["-cp", jar] + words[len(props):] + [str(port)]
        self.cmd = cmd
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}: see {logpath}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server did not listen on {port} within 30 s: see {logpath}")

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def recv_response(sock, buf):
    """Reads one HTTP response with Content-Length from sock (buf holds leftovers); returns (response, rest)."""
    while True:
        end = buf.find(b"\r\n\r\n")
        if end >= 0:
            m = re.search(rb"\r\nContent-Length: (\d+)\r\n", buf[:end + 4], re.I)
            total = end + 4 + (int(m.group(1)) if m else 0)
            if len(buf) >= total:
                return buf[:total], buf[total:]
        chunk = sock.recv(65536)
        if not chunk:
            raise RuntimeError("connection closed before a full response")
        buf += chunk


def verify_http(port):
    """Checks that the server answers byte-for-byte like Knot's example, plainly and with 3 pipelined requests."""
    req = b"GET /plaintext HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(req)
        resp, rest = recv_response(s, b"")
        s.sendall(req * 3)
        pipelined = []
        for _ in range(3):
            r, rest = recv_response(s, rest)
            pipelined.append(r)
    problems = []
    for r in [resp] + pipelined:
        m = DATE_RE.search(r)
        if not m:
            problems.append("no IMF-fixdate Date header")
            continue
        masked = r.replace(m.group(1), b"@DATE@")
        if masked != EXPECTED:
            problems.append("response differs: " + repr(masked[:200]))
    return problems


def verify_echo(port):
    msg = bytes(range(64))
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(msg)
        got = b""
        while len(got) < len(msg):
            chunk = s.recv(4096)
            if not chunk:
                break
            got += chunk
    return [] if got == msg else ["echo returned different bytes"]


def echo_client_run(client, server, conns, warmup, duration, on_start=None, on_end=None):
    """One echo_client run against server; on_start/on_end are called at its MEASURE_START and MEASURE_END lines.
    Returns its JSON result."""
    cmd = ["taskset", "-c", "1", client, "127.0.0.1", str(server.port), str(conns), "64", str(warmup), str(duration)]
    result = None
    started = ended = False
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in p.stdout:
        line = line.strip()
        if line == "MEASURE_START":
            started = True
            if on_start:
                on_start()
        elif line == "MEASURE_END":
            ended = True
            if on_end:
                on_end()
        elif line.startswith("{"):
            result = json.loads(line)
    err = p.stderr.read()
    p.wait()
    if p.returncode != 0 or result is None or not started or not ended:
        raise RuntimeError(f"echo_client failed ({p.returncode}): {err.strip()}")
    result["command"] = " ".join(cmd)
    return result


def run_echo(client, server, conns, warmup, duration, sc_path, count_s):
    window = {}

    def start():
        window["c0"], window["t0"] = cpu_ticks(server.pid), time.time()

    def end():
        window["c1"], window["t1"] = cpu_ticks(server.pid), time.time()

    result = echo_client_run(client, server, conns, warmup, duration, start, end)
    if count_s > 0:
        counter = Syscalls(server.pid, sc_path)
        counted = echo_client_run(client, server, conns, 1, count_s, counter.start,
                                  lambda: setattr(server, "syscalls", counter.stop()))
        server.syscall_requests = counted["requests"]
    return result, window["c1"] - window["c0"], window["t1"] - window["t0"]


UNITS = {"us": 1.0, "ms": 1000.0, "s": 1e6, "m": 60e6}


def parse_wrk(out):
    r = {}
    m = re.search(r"(\d+) requests in ([\d.]+)(\w+)", out)
    if not m:
        raise RuntimeError("cannot parse wrk output:\n" + out)
    r["requests"] = int(m.group(1))
    r["seconds"] = float(m.group(2)) * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[m.group(3)]
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    r["rps"] = float(m.group(1)) if m else r["requests"] / r["seconds"]
    for pct in ("50", "75", "90", "99"):
        m = re.search(r"^\s+" + pct + r"%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.M)
        if m and float(m.group(1)) > 0:     # wrk prints 0.00us when a percentile overflows its histogram
            r[f"p{pct}_us"] = float(m.group(1)) * UNITS[m.group(2)]
    for m in re.finditer(r"^PCT (\S+) (\d+)$", out, re.M):
        # The script's percentiles: exact where wrk's table prints 0 for an overflowed histogram bucket.
        # wrk's histogram returns 0 for a percentile it cannot place (as its table does); those stay unknown.
        key = "max_us" if m.group(1) == "max" else "p" + m.group(1).replace(".", "_") + "_us"
        if float(m.group(2)) > 0:
            r.setdefault(key, float(m.group(2)))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    r["socket_errors"] = sum(int(x) for x in m.groups()) if m else 0
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    r["non_2xx"] = int(m.group(1)) if m else 0
    return r


def warm_wrk(prefix, suffix, warmup, runs=2):
    """Warms a server with wrk (prefix + [-dNs] + suffix) for about warmup seconds, ending with a 1 s second run
    (runs=1: one run of the whole warm-up, as before; tailprobe.py --single-warmup compares the two).

    Why the second run: wrk keeps its connections open for the whole run, so a single warm-up closes none until it
    ends, and the JIT compiles the servers' loops without ever seeing a connection end. Those branches are then
    compiled out; the warm-up's 64 closes, just before the measured run, deoptimise the hot path at once, and its
    recompilation on the server's one CPU lands in the first second of the measured run (tens of ms of p99.9 for
    Knot and NIO alike; benchmarks/RESULTS.md, "Tail latency"). A short second run makes the first closes, and the
    recompilation, part of the warm-up; the measured run then starts as a server in service would, with the whole
    connection life compiled. Every server gets the same warm-up.
    """
    if warmup <= 0:
        return
    first = max(1, round(warmup) - (1 if runs > 1 else 0))
    for seconds in ((first, 1) if warmup >= 2 and runs > 1 else (first,)):
        subprocess.run(prefix + [f"-d{seconds}s"] + suffix, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       check=True)


def run_wrk(wrk, script, server, depth, warmup, duration, raw, tag, count_s):
    url = f"http://127.0.0.1:{server.port}/plaintext"
    base = ["taskset", "-c", "1", wrk, "-t1", "-c64"]
    extra = ["-s", script if depth > 1 else os.path.join(os.path.dirname(os.path.abspath(script)), "latency.lua")]
    tail = ["--", str(depth)] if depth > 1 else []
    warm_wrk(base, extra + [url] + tail, warmup)
    cmd = base + [f"-d{max(1, round(duration))}s", "--latency"] + extra + [url] + tail
    c0, t0 = cpu_ticks(server.pid), time.time()
    p = subprocess.run(cmd, capture_output=True, text=True)
    c1, t1 = cpu_ticks(server.pid), time.time()
    with open(os.path.join(raw, f"wrk-{tag}.txt"), "w") as f:
        f.write(p.stdout + p.stderr)
    if p.returncode != 0:
        raise RuntimeError(f"wrk failed ({p.returncode}): {p.stderr.strip()}")
    r = parse_wrk(p.stdout)
    r["command"] = " ".join(cmd)
    if count_s > 0:
        counter = Syscalls(server.pid, os.path.join(raw, f"syscalls-{tag}.csv"))
        counter.start()
        q = subprocess.run(base + [f"-d{max(1, round(count_s))}s"] + extra + [url] + tail, capture_output=True, text=True)
        server.syscalls = counter.stop()
        if q.returncode == 0:
            server.syscall_requests = parse_wrk(q.stdout)["requests"]
    return r, c1 - c0, t1 - t0


def measure(a, rnd, sc, name, attempt, port):
    """One measurement of server `name` in scenario `sc` on `port`: a fresh server JVM (or C server), its responses
    checked, warmed up and measured. Returns the record; a failure is recorded under "error", never raised."""
    kind, client, param = SCENARIOS[sc]
    tag = f"r{rnd + 1}-{sc}-{name}" + (f"-retry{attempt}" if attempt else "")
    rec = {"round": rnd + 1, "scenario": sc, "server": name, "class": SERVERS[kind][name], "attempt": attempt,
           "port": port, "warmup_s": a.warmup, "duration_s": a.duration}
    srv = None
    try:
        srv = Server(a.java, a.jar, SERVERS[kind][name], port, os.path.join(a.out, f"server-{tag}.log"),
                     os.path.dirname(os.path.abspath(a.echo_client)))
        rec["server_command"] = " ".join(srv.cmd)
        problems = verify_http(port) if kind == "http" else verify_echo(port)
        rec["verified"] = not problems
        if problems:
            rec["verify_problems"] = problems
        steal0 = cpu_stat()
        if client == "echo":
            r, ticks, wall = run_echo(a.echo_client, srv, param, a.warmup, a.duration,
                                      os.path.join(a.out, f"syscalls-{tag}.csv"), a.count_syscalls)
        else:
            r, ticks, wall = run_wrk(a.wrk, a.pipeline_script, srv, param, a.warmup, a.duration, a.out, tag,
                                     a.count_syscalls)
        steal1 = cpu_stat()
        dt = steal1[1] - steal0[1]
        rec["steal_pct"] = 100.0 * (steal1[0] - steal0[0]) / dt if dt > 0 else None
        rec.update(r)
        rec["server_cpu_s"] = ticks / CLK_TCK
        rec["server_cpu_util"] = ticks / CLK_TCK / wall if wall > 0 else None
        rec["cpu_us_per_req"] = ticks / CLK_TCK * 1e6 / r["requests"] if r["requests"] else None
        rec["server_alive"] = srv.alive()
        rec["syscalls_per_req"] = per_request(getattr(srv, "syscalls", None), getattr(srv, "syscall_requests", None))
        spr = rec["syscalls_per_req"]
        log(f"[{tag}] {r['rps']:.0f} req/s, p50 {r.get('p50_us', 0):.0f} us, p99 {r.get('p99_us', 0):.0f} us, "
            f"p99.9 {r.get('p99_9_us', 0):.0f} us, "
            f"server CPU {rec['cpu_us_per_req']:.2f} us/req ({100 * rec['server_cpu_util']:.0f}% of a core)"
            + (f", {spr['total']:.2f} syscalls/req" if spr else "")
            + (f", steal {rec['steal_pct']:.0f}%" if rec["steal_pct"] is not None else "")
            + ("" if rec["verified"] else f"  RESPONSE CHECK FAILED: {problems}"))
    except Exception as e:  # keep going: one broken server must not hide the others
        rec["error"] = str(e)
        log(f"[{tag}] FAILED: {e}")
    finally:
        if srv is not None:
            srv.stop()
    return rec


def slow_rounds(records, max_slowdown, retries):
    """The measurements to run again because the machine, not the server, was slow: those whose client rate is more
    than `max_slowdown` percent below the best rate of the same server in the same scenario in this run.

    On this VM some rounds lose 20-45% of the client's rate with no steal time at all, and the server's CPU per request
    rises by as much, for whichever server runs then (benchmarks/RESULTS.md, "Reading this run's load tables"). The
    client saturates its own core, so its rate is the machine's speed during the round. Each (round, scenario,
    server) keeps at most `retries` reruns; its last measurement is never marked, so the report always has one.

    Why it is off by default: in the full run of 2026-12-04 22:31 (benchmarks/RESULTS.md, "Reading this run's load
    tables") the machine's speed moved in phases, and the reruns, made after the rounds and no longer interleaved,
    caught some servers in a fast phase (the C floor's `http` best went from 68,000 to 101,600 req/s) while a server
    whose three rounds were all in slow phases was never flagged. The reference is each server's own best, so this
    becomes a best-of-several for some servers only. A sound check needs a reference that does not depend on which
    server ran."""
    kept = [r for r in records if "error" not in r and not r.get("disturbed") and r.get("rps")]
    best = {}
    for r in kept:
        key = (r["scenario"], r["server"])
        best[key] = max(best.get(key, 0), r["rps"])
    return [r for r in kept
            if r["attempt"] < retries and r["rps"] < (1 - max_slowdown / 100.0) * best[(r["scenario"], r["server"])]]


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--java", required=True)
    ap.add_argument("--jar", required=True)
    ap.add_argument("--echo-client", required=True)
    ap.add_argument("--wrk", default="wrk")
    ap.add_argument("--pipeline-script", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--warmup", type=float, default=5)
    ap.add_argument("--duration", type=float, default=10)
    ap.add_argument("--count-syscalls", type=float, default=3,
                    help="seconds of a second run after each measured one in which perf counts the server's system "
                         "calls (0: none). Not the measured run itself: a syscall tracepoint adds about 200 ns to "
                         "every system call the server makes (140 to 350 ns for getppid here), which would weigh in "
                         "its CPU per request")
    ap.add_argument("--scenarios", default=",".join(SCENARIOS))
    ap.add_argument("--servers", default="knot,nio,netty,floor",
                    help="servers to run (comma-separated: knot, nio, netty, floor (the C servers in the --echo-client's "
                         "directory); netty-knot, netty-epoll, netty-io_uring, netty-nio)")
    ap.add_argument("--port", type=int, default=18080)
    ap.add_argument("--max-steal", type=float, default=5.0,
                    help="a measurement whose steal time exceeds this percentage is marked disturbed and run again")
    ap.add_argument("--max-slowdown", type=float, default=0.0,
                    help="a measurement whose client rate is more than this percentage below the best of the same "
                         "server and scenario is marked disturbed and run again once the rounds are done; 0 (the "
                         "default): never. Off by default because it biases the comparison: see slow_rounds")
    ap.add_argument("--retries", type=int, default=2, help="how many times a disturbed measurement is run again")
    a = ap.parse_args()

    os.makedirs(a.out, exist_ok=True)
    wanted = a.servers.split(",")
    scenarios = a.scenarios.split(",")
    path = os.path.join(a.out, "load.jsonl")
    # Records from earlier runs into the same directory (scripts/bench runs this twice) stay as they are; this run's
    # are appended as they come, and rewritten at the end with the marks added after they were written.
    start = os.path.getsize(path) if os.path.exists(path) else 0
    records = []
    port = a.port

    def run(rnd, sc, name, attempt):
        nonlocal port
        while not port_free(port):
            port += 1
        rec = measure(a, rnd, sc, name, attempt, port)
        port += 1
        records.append(rec)
        with open(path, "a") as f:
            f.write(json.dumps(rec) + "\n")
        return rec

    for rnd in range(a.rounds):
        for sc in scenarios:
            servers = [x for x in wanted if x in SERVERS[SCENARIOS[sc][0]]]
            k = rnd % len(servers)
            for name in servers[k:] + servers[:k]:
                for attempt in range(a.retries + 1):
                    rec = run(rnd, sc, name, attempt)
                    # A round the hypervisor disturbed measures the neighbours, not the server: keep it in the raw
                    # file, marked, and measure again (the report leaves marked rounds out).
                    steal = rec.get("steal_pct")
                    if steal is None or steal <= a.max_steal or attempt == a.retries:
                        break
                    rec["disturbed"] = "steal"
                    log(f"[r{rnd + 1}-{sc}-{name}] steal {steal:.0f}% > {a.max_steal:g}%: measuring again")
    while a.max_slowdown > 0:
        slow = slow_rounds(records, a.max_slowdown, a.retries)
        if not slow:
            break
        for rec in slow:
            rec["disturbed"] = "rate"
            log(f"[r{rec['round']}-{rec['scenario']}-{rec['server']}] client rate {rec['rps']:.0f} req/s is more than "
                f"{a.max_slowdown:g}% below this server's best: measuring again")
            run(rec["round"] - 1, rec["scenario"], rec["server"], rec["attempt"] + 1)
    with open(path, "r+") as f:
        f.truncate(start)
        f.seek(start)
        f.writelines(json.dumps(rec) + "\n" for rec in records)
    return 1 if any("error" in rec for rec in records) else 0


if __name__ == "__main__":
    sys.exit(main())
