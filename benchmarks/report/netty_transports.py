#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The Netty transports side by side (scripts/bench --netty): the same Netty echo and HTTP servers on Knot's
transport, Netty's native epoll and io_uring, and NIO, from loadtest.py's load.jsonl. Medians over rounds of
requests/s, p50 and p99 latency, and server CPU per request (utime + stime of the server process over the measured
window / requests), with each transport's CPU per request as a ratio to native epoll's."""
import argparse
import json
import statistics

ORDER = ["netty-knot", "netty-epoll", "netty-io_uring", "netty-nio"]
TITLES = {"netty-knot": "Netty on Knot", "netty-epoll": "Netty epoll (JNI)", "netty-io_uring": "Netty io_uring (JNI)",
          "netty-nio": "Netty NIO"}


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--load", required=True, help="load.jsonl written by loadtest.py")
    ap.add_argument("--out", required=True, help="the Markdown file to write")
    ap.add_argument("--note", default="", help="a line put above the tables (machine state, mode)")
    a = ap.parse_args()
    by = {}
    with open(a.load) as f:
        for line in f:
            r = json.loads(line)
            if r.get("server") in ORDER and "error" not in r:
                by.setdefault(r["scenario"], {}).setdefault(r["server"], []).append(r)
    out = ["# Netty transports side by side", "", a.note, ""] if a.note else ["# Netty transports side by side", ""]
    for sc, servers in by.items():
        out += [f"## {sc}", "", "| transport | rounds | req/s | p50 us | p99 us | server CPU us/req | CPU/req vs epoll | responses checked |",
                "|---|---|---|---|---|---|---|---|"]
        base = med([r.get("cpu_us_per_req") for r in servers.get("netty-epoll", [])])
        for name in ORDER:
            rs = servers.get(name)
            if not rs:
                continue
            cpu = med([r.get("cpu_us_per_req") for r in rs])
            ratio = f"{cpu / base:.2f}" if cpu and base else "n/a"
            out.append(f"| {TITLES[name]} | {len(rs)} | {med([r.get('rps') for r in rs]):.0f} | {med([r.get('p50_us') for r in rs]) or 0:.0f} | "
                       f"{med([r.get('p99_us') for r in rs]) or 0:.0f} | {cpu or 0:.2f} | {ratio} | {all(r.get('verified') for r in rs)} |")
        out.append("")
    text = "\n".join(out) + "\n"
    with open(a.out, "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main()
