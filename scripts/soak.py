# SPDX-License-Identifier: Apache-2.0
"""The soak run behind scripts/soak: a prefork master under continuous loopback load while workers are killed,
reloaded and rescaled, and (in runs of three minutes or more) upgraded once after the first minute. Bounded (a fixed number of client threads, loopback only, a deadline) and self-cleaning.

Failures are split by cause: a request that fails on a connection whose worker was SIGKILLed while it was open is
the kill's doing ("on a killed worker's connection"); any other failed request is a real failure. A kept-alive
connection that the server closes (or resets) before any byte of the answer (a draining worker closes idle
connections) is retried on a new connection, as HTTP clients do for idempotent requests, and counted as a retry, not a
failure.
"""
import errno
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time

REQUEST = b"GET /plaintext HTTP/1.1\r\nHost: soak\r\n\r\n"


def ctl(path, command, timeout=10.0):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(path)
        s.sendall((command + "\n").encode())
        out = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            out += b
        return out.decode(errors="replace")
    finally:
        s.close()


def worker_pids(path):
    pids = []
    for line in ctl(path, "workers").splitlines():
        f = line.split()
        if len(f) >= 4 and f[0].isdigit() and f[1].isdigit():
            pids.append((int(f[1]), f[3]))
    return pids


def fd_kinds(pid):
    """The master's open descriptors counted by kind (socket, pidfd, eventpoll, a file's path, ...)."""
    kinds = {}
    try:
        for n in os.listdir("/proc/%d/fd" % pid):
            try:
                t = os.readlink("/proc/%d/fd/%s" % (pid, n))
            except OSError:
                continue
            k = t.split(":")[0] if t.startswith(("socket:", "pipe:")) else t.replace("anon_inode:", "")
            kinds[k] = kinds.get(k, 0) + 1
    except OSError:
        pass
    return kinds


def kinds_diff(a, b):
    keys = sorted(set(a) | set(b))
    d = ["%s %+d" % (k, b.get(k, 0) - a.get(k, 0)) for k in keys if a.get(k, 0) != b.get(k, 0)]
    return ", ".join(d) if d else "none"


def jcmd(pid, *args):
    try:
        r = subprocess.run(["jcmd", str(pid)] + list(args), capture_output=True, text=True, timeout=30)
        return r.stdout
    except (OSError, subprocess.TimeoutExpired) as e:
        return "jcmd failed: %s" % e


def nmt_committed(text):
    """{category: committed KiB change} from a VM.native_memory summary.diff."""
    import re
    out = {}
    for m in re.finditer(r"^-\s+(.+?) \(reserved=\d+KB(?: [+-]\d+KB)?, committed=(\d+)KB(?: ([+-]\d+)KB)?", text, re.M):
        out[m.group(1).strip()] = int(m.group(3) or 0)
    return out


def heap_range(pid):
    """The Java heap's reserved address range [low, high) from jcmd GC.heap_info, or None."""
    import re
    addrs = [int(x, 16) for x in re.findall(r"0x[0-9a-f]+", jcmd(pid, "GC.heap_info"))]
    return (min(addrs), max(addrs)) if addrs else None


def heap_rss(pid, rng):
    """KiB of the master's RSS inside the Java heap's range (smaps), or -1."""
    if not rng:
        return -1
    total, inside = 0, False
    try:
        with open("/proc/%d/smaps" % pid) as f:
            for line in f:
                if "-" in line.split(" ", 1)[0] and not line.startswith(("Rss", "Size")) and line[0] in "0123456789abcdef":
                    a, b = (int(x, 16) for x in line.split(" ", 1)[0].split("-"))
                    inside = a >= rng[0] and b <= rng[1]
                elif inside and line.startswith("Rss:"):
                    total += int(line.split()[1])
    except (OSError, ValueError):
        return -1
    return total


def fds_and_rss(pid):
    try:
        fds = len(os.listdir("/proc/%d/fd" % pid))
        with open("/proc/%d/status" % pid) as f:
            rss = next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
        return fds, rss
    except (OSError, StopIteration):
        return -1, -1


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.ok = 0
        self.retried = []            # (time, reason, connection opened at): closed idle, retried
        self.failed = []             # (time, reason, connection opened at)
        self.kills = []              # (time, pid)
        self.no_port = 0             # connects refused by our own kernel: EADDRNOTAVAIL (no ephemeral port)

    def classify(self):
        """Failures on a connection open when a worker was killed are the kill's; so are retries there."""
        def killed(opened, t):
            return any(opened - 0.05 <= k <= t + 0.05 for k, _ in self.kills)
        on_killed, other, retries = [], [], 0
        for t, why, opened in self.failed:
            (on_killed if killed(opened, t) else other).append(why)
        for t, why, opened in self.retried:
            if killed(opened, t):
                on_killed.append(why)
            else:
                retries += 1
        return on_killed, other, retries


def read_response(s, buf):
    """One response off s (Content-Length framing); returns (ok, rest of buf); raises on EOF/reset."""
    while b"\r\n\r\n" not in buf:
        b = s.recv(65536)
        if not b:
            raise EOFError("closed before the answer" if not buf else "closed mid-answer")
        buf += b
    head, _, rest = buf.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v.strip())
    while len(rest) < length:
        b = s.recv(65536)
        if not b:
            raise EOFError("closed mid-body")
        rest += b
    return head.startswith(b"HTTP/1.1 200 "), rest[length:], b"connection: close" in head.lower()


def client(port, stats, stop, n):
    rnd = random.Random()
    # Each client connects from source addresses of its own (127.0.0.2-255 are all loopback), so that connections
    # in TIME_WAIT spread over many (source, port) pairs instead of running one address out of ephemeral ports.
    sources = ["127.0.0.%d" % (2 + (n * 16 + i) % 250) for i in range(16)]
    k = 0
    while not stop.is_set():
        opened = time.time()
        k += 1
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(sources[k % len(sources)], 0))
        except OSError as e:
            with stats.lock:
                if e.errno == errno.EADDRNOTAVAIL:
                    stats.no_port += 1           # the client's side: no ephemeral port left; not the server's doing
                else:
                    stats.failed.append((time.time(), "connect: %s" % e, opened))
            time.sleep(0.05)
            continue
        buf = b""
        served = 0
        try:
            for _ in range(rnd.randint(1, 200)):
                if stop.is_set():
                    break
                try:
                    s.sendall(REQUEST)
                    ok, buf, close = read_response(s, buf)
                except (EOFError, ConnectionError) as e:
                    # A kept-alive connection the server closed while it was idle (a draining worker does), met by
                    # our next request: EOF or a reset before any byte of the answer. Idempotent: retry anew (RFC
                    # 9112 9.3.1), as HTTP clients do.
                    if served > 0 and not buf and (isinstance(e, ConnectionError) or str(e) == "closed before the answer"):
                        with stats.lock:
                            stats.retried.append((time.time(), "%s: %s" % (type(e).__name__, e), opened))
                        break
                    raise
                served += 1
                with stats.lock:
                    if ok:
                        stats.ok += 1
                    else:
                        stats.failed.append((time.time(), "not 200", opened))
                if close:
                    break
        except (OSError, EOFError) as e:
            with stats.lock:
                stats.failed.append((time.time(), "%s: %s" % (type(e).__name__, e), opened))
        finally:
            s.close()


def master_pid(path):
    """The pid of the master that answers on the control socket now (it changes with an upgrade)."""
    for line in ctl(path, "status").splitlines():
        f = line.split()
        if len(f) == 2 and f[0] == "master" and f[1].isdigit():
            return int(f[1])
    return -1


def await_ready(sock, n, master, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            if sum(1 for _, st in worker_pids(sock) if st == "ready") >= n:
                return True
        except OSError:
            pass
        if master is not None and master.poll() is not None:
            raise SystemExit("soak: the master exited at start (see its log)")
        time.sleep(0.2)
    return False


def flat(samples):
    """(first, last, max RSS, max fds) of one master's samples after its first minute, or None when it lived less."""
    t0 = samples[0][0]
    settled = [x for x in samples if x[0] - t0 >= 60] or None
    return settled and (settled[0], settled[-1], max(x[2] for x in settled), max(x[1] for x in settled))


def trend(samples):
    """RSS growth in KiB/min over the middle and the last third of a master's settled samples (after its first
    minute), from medians of the first and last quarter of each third: single samples jump with GC and transient
    workers. None when the master lived less than three minutes."""
    t0 = samples[0][0]
    settled = [x for x in samples if x[0] - t0 >= 60]
    if len(settled) < 12 or settled[-1][0] - settled[0][0] < 120:
        return None
    n = len(settled) // 3
    def rate(part):
        q = max(1, len(part) // 4)
        med = lambda xs: sorted(xs)[len(xs) // 2]
        a, b = med([x[2] for x in part[:q]]), med([x[2] for x in part[-q:]])
        ta, tb = med([x[0] for x in part[:q]]), med([x[0] for x in part[-q:]])
        return (b - a) * 60.0 / max(1.0, tb - ta)
    return rate(settled[n:2 * n]), rate(settled[2 * n:])


def main():
    minutes, port, jar, clients = float(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    control = sys.argv[5]
    sock = os.path.join(control, "control.sock")
    log = open(os.path.join(control, "master.log"), "w")
    # A master needs little heap (it holds workers' records, not requests: about 3 MB live after a full GC); bounding
    # it, as a deployment would, makes its RSS a measure of what it holds rather than of how far an unbounded young
    # generation has been touched. -Xms equal to -Xmx with AlwaysPreTouch, as latency-minded deployments run, touches
    # the whole heap at start: without it the serial old generation's pages are touched one by one as promoted
    # garbage walks towards the first full GC, a creep of RSS (about 1 MB per few minutes) that is no leak (the live
    # set stays flat) and ends only once the old generation has been filled.
    extra = os.environ.get("SOAK_MASTER_JVM_ARGS", "").split()   # e.g. -XX:NativeMemoryTracking=summary
    # The master's defaults (scripts/lib/master-jvm.sh, as scripts/run gives them) first, so that the options above
    # and SOAK_MASTER_JVM_ARGS win where they overlap.
    defaults = os.environ.get("SOAK_MASTER_DEFAULTS", "").split()
    print("soak: master JVM options: %s" % " ".join(defaults + ["-XX:+UseSerialGC", "-Xms64m", "-Xmx64m", "-XX:+AlwaysPreTouch"] + extra))
    master = subprocess.Popen(["java", "--enable-native-access=ALL-UNNAMED"] + defaults + ["-XX:+UseSerialGC", "-Xms64m", "-Xmx64m",
                               "-XX:+AlwaysPreTouch"] + extra + ["-jar", jar,
                               "--port", str(port), "--workers", "2", "--control-dir", control,
                               "--worker-jvm-arg", "-XX:+UseSerialGC", "--worker-jvm-arg", "-Xmx128m"],
                              stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    stats, stop = Stats(), threading.Event()
    threads = []
    samples = {}                                 # master pid -> [(seconds into the run, fds, RSS KiB)]
    current = master.pid
    nmt = any(a.startswith("-XX:NativeMemoryTracking=") and not a.endswith("=off") for a in extra)
    nmt_out = os.environ.get("SOAK_NMT_OUT")     # a file for the full baseline and summary.diff texts
    nmt_base_at = None                           # when the last master's NMT baseline was taken
    first_kinds = {}                             # master pid -> (seconds, its fds by kind at its first settled sample)
    heaps = {}                                   # master pid -> its Java heap's address range
    try:
        if not await_ready(sock, 2, master, 60):
            raise SystemExit("soak: no 2 ready workers within 60 s")
        time.sleep(2)                            # let the JIT and the first connections settle
        start_fds, start_rss = fds_and_rss(master.pid)
        threads = [threading.Thread(target=client, args=(port, stats, stop, n), daemon=True) for n in range(clients)]
        for t in threads:
            t.start()
        t0 = time.time()
        end = t0 + minutes * 60
        # One master upgrade after the first minute: the new master then serves the rest of the run, long enough to
        # see whether its descriptors and RSS stay flat once warm.
        upgrade_at = t0 + 60 if minutes >= 3 else None
        actions = ["kill", "reload", "scale 3", "kill", "scale 2", "kill"]
        events = {}
        i = 0
        while time.time() < end:
            time.sleep(min(5.0, max(0.0, end - time.time())))
            if time.time() >= end:
                break
            fds, rss = fds_and_rss(current)
            if fds >= 0:
                if current not in heaps:
                    heaps[current] = heap_range(current)
                samples.setdefault(current, []).append((time.time() - t0, fds, rss, heap_rss(current, heaps[current])))
                # The fds by kind once this master is a minute old (warm, its first workers long replaced), to diff
                # against its end; and an NMT baseline then, when the master tracks native memory.
                if current not in first_kinds and samples[current][-1][0] - samples[current][0][0] >= 60:
                    first_kinds[current] = (time.time() - t0, fd_kinds(current))
                    if nmt:
                        jcmd(current, "VM.native_memory", "baseline")
                        nmt_base_at = (current, time.time() - t0, rss)
            a = actions[i % len(actions)]
            if upgrade_at is not None and time.time() >= upgrade_at:
                a, upgrade_at = "upgrade", None
            else:
                i += 1
            try:
                if a == "kill":
                    ready = [p for p, st in worker_pids(sock) if st == "ready"]
                    if ready:
                        victim = random.choice(ready)
                        with stats.lock:
                            stats.kills.append((time.time(), victim))
                        os.kill(victim, signal.SIGKILL)
                elif a == "upgrade":
                    out = ctl(sock, "upgrade")
                    if not out.startswith("upgrading"):
                        raise OSError("upgrade refused: " + out.strip())
                    deadline = time.time() + 60
                    while time.time() < deadline and master_pid(sock) in (current, -1):
                        time.sleep(0.2)
                    new = master_pid(sock)
                    if new in (current, -1):
                        raise OSError("no new master answers 60 s after the upgrade")
                    print("soak: upgraded: master %d -> %d at %.0f s" % (current, new, time.time() - t0))
                    current = new
                else:
                    ctl(sock, a)
                events[a] = events.get(a, 0) + 1
            except OSError as e:
                events["ctl error"] = events.get("ctl error", 0) + 1
                print("soak: %s failed: %s" % (a, e), file=sys.stderr)
            if current == master.pid and master.poll() is not None:
                raise SystemExit("soak: the master exited during the run (status %s)" % master.returncode)
        stop.set()
        for t in threads:
            t.join(15)
        # The master's figures after the load, once workers are back at 2 and settled.
        # Only once the worker list is exactly the two ready workers: a worker still draining from the last scale or
        # reload holds a channel and a pidfd in the master, which are not leaks.
        ctl(sock, "scale 2")
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                w = worker_pids(sock)
                if len(w) == 2 and all(st == "ready" for _, st in w):
                    break
            except OSError:
                pass
            time.sleep(0.2)
        time.sleep(3)
        end_fds, end_rss = fds_and_rss(current)
        end_kinds = fd_kinds(current)
        nmt_text = jcmd(current, "VM.native_memory", "summary.diff") if nmt_base_at and nmt_base_at[0] == current else None
        on_killed, other, retries = stats.classify()
        elapsed = time.time() - t0
        print("soak: %.1f min, %d client threads, loopback port %d" % (elapsed / 60, clients, port))
        print("requests ok: %d (%.0f/s); kept-alive closes retried: %d" % (stats.ok, stats.ok / elapsed, retries))
        print("events: %s" % ", ".join("%s x%d" % kv for kv in sorted(events.items())))
        print("failed requests on a killed worker's connection (retried or not): %d" % len(on_killed))
        print("failed requests otherwise: %d%s" % (len(other), (" e.g. " + "; ".join(sorted(set(other))[:5])) if other else ""))
        print("connects our own kernel refused for want of an ephemeral port (EADDRNOTAVAIL, not the server's): %d" % stats.no_port)
        print("first master pid %d at start: fds %d, RSS %d KiB; last master pid %d at end: fds %d, RSS %d KiB"
              % (master.pid, start_fds, start_rss, current, end_fds, end_rss))
        for pid, ss in samples.items():
            f = flat(ss)
            if f:
                (ta, fa, ra, *_), (tb, fb, rb, *_), rmax, fmax = f
                print("master pid %d after its first minute (%.0f-%.0f s, %d samples): fds %d -> %d (max %d), RSS %d -> %d KiB"
                      " (max %d, %+.1f%%)" % (pid, ta, tb, len(ss), fa, fb, fmax, ra, rb, rmax, 100.0 * (rb - ra) / ra))
            else:
                print("master pid %d lived less than a minute of the run (%d samples)" % (pid, len(ss)))
            print("  RSS KiB each minute: " + " ".join("%d" % x[2] for x in ss[::12]))
            if all(x[3] >= 0 for x in ss):
                print("  of which Java heap (smaps of its range): " + " ".join("%d" % x[3] for x in ss[::12]))
                print("  the rest (code cache, metaspace, threads, malloc, files): " + " ".join("%d" % (x[2] - x[3]) for x in ss[::12]))
            print("  fds each minute: " + " ".join("%d" % x[1] for x in ss[::12]))
            for name, col in (("RSS", lambda x: x[2]), ("heap", lambda x: x[3]), ("rest", lambda x: x[2] - x[3])):
                if name != "RSS" and not all(x[3] >= 0 for x in ss):
                    continue
                tr = trend([(x[0], x[1], col(x)) for x in ss])
                if tr:
                    mid, last = tr
                    verdict = "flat" if abs(last) <= 100 else ("growing" if last > 0 else "shrinking")
                    print("  %s trend (medians, after its first minute): middle third %+.0f KiB/min, last third %+.0f KiB/min: %s"
                          " (flat = within 100 KiB/min)" % (name, mid, last, verdict))
        if current in first_kinds:
            ta, ka = first_kinds[current]
            print("last master's fds by kind at %.0f s: %s" % (ta, ", ".join("%s %d" % kv for kv in sorted(ka.items()))))
            print("  new or gone at the end (2 workers, settled): %s" % kinds_diff(ka, end_kinds))
        if nmt_text is not None:
            pid, tb, rb = nmt_base_at
            d = nmt_committed(nmt_text)
            grew = sorted(((v, k) for k, v in d.items() if v), reverse=True)
            print("NMT committed change of master %d from %.0f s (RSS %d KiB) to the end (RSS %d KiB): %s"
                  % (pid, tb, rb, end_rss, ", ".join("%s %+d KiB" % (k, v) for v, k in grew) or "none"))
            if nmt_out:
                with open(nmt_out, "w") as f:
                    f.write(nmt_text)
        print("master status: " + ctl(sock, "status").strip().replace("\n", " | "))
        return 0 if not other else 1
    finally:
        stop.set()
        try:
            ctl(sock, "stop --fast", timeout=5)
        except OSError:
            pass
        try:
            master.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(master.pid, signal.SIGKILL)
            master.wait(5)
        # After an upgrade the master serving is the old one's child, not ours: wait for it as well.
        if current != master.pid:
            deadline = time.time() + 20
            while os.path.exists("/proc/%d" % current) and time.time() < deadline:
                time.sleep(0.1)
            if os.path.exists("/proc/%d" % current):
                os.kill(current, signal.SIGKILL)
        log.close()


if __name__ == "__main__":
    sys.exit(main())
